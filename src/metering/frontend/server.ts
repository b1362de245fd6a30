import net from 'node:net';
import { findConcentrator } from '../../assets/index.ts';
import { addDays, businessDate, type AppContext } from '../../platform/index.ts';
import { ingestReadings } from '../ingest/ingest.ts';
import { upsertReadings } from '../store/readings.repository.ts';
import type { RawReading } from '../domain/raw-reading.ts';
import { encodeTransparentForwardRequest, forwardEnergyReadings, transparentForwardOf, type Gdw1376Frame } from '../protocols/index.ts';
import { collectConcentratorDay, readingsFromReply, type CollectOptions } from './collector.ts';
import { LinkTracker } from './link-tracker.ts';
import { ReadingSink, type ReadingSinkOptions } from './reading-sink.ts';
import { ConcentratorSession, type FrontendCounters } from './session.ts';
import { collectionWork, markAllOffline, saveCollections, type CollectionRecord, type ConcentratorWork } from './store.ts';

export interface FrontendOptions {
  port?: number;
  host?: string;
  /** Master station address (A3 MSA) on requests. */
  msa?: number;
  /**
   * A link with no whole frame for this long is dropped. Default 45 min: three heartbeat periods of a
   * terminal set to the common 15 minutes (AFN 04 F1), so a terminal heartbeating every 5 or 15 minutes is
   * never dropped between two heartbeats.
   */
  idleTimeoutMs?: number;
  linkFlushMs?: number;
  collect?: Partial<CollectOptions>;
  sink?: Partial<ReadingSinkOptions>;
  /**
   * Automatic collection: every `scheduleEveryMs` (real time), and soon after a login, the front-end
   * looks at business time and, once the business clock is `collectAfterMinutes` past midnight, asks
   * every online concentrator for what it still owes of the days it keeps (yesterday and the two days
   * before: the concentrator retries those itself, so a gap there may have been filled since), each
   * concentrator-day once per business day. 0 turns the schedule off.
   */
  scheduleEveryMs?: number;
  collectAfterMinutes?: number;
  /**
   * How batches reach the readings store. 'upsert' (default) writes them straight with
   * upsertReadings: the front-end already knows each meter from master data, values are decoded
   * BCD and the date is the one it asked for, so nothing the ingest checks can fail. 'ingest'
   * routes them through ingestReadings (validation + quarantine), today several times slower.
   */
  store?: 'upsert' | 'ingest';
}

export interface CollectDaySummary {
  day: string;
  concentrators: number;
  meters: number;
  read: number;
  missing: number;
  ms: number;
  records: CollectionRecord[];
}

export interface FrontendStatus extends FrontendCounters {
  port: number;
  connections: number;
  online: number;
  readingsStored: number;
  readingsQuarantined: number;
  readingsPending: number;
  readingsFailed: number;
  storeBatches: number;
  collectionsRun: number;
}

export interface Frontend {
  port: number;
  stop(): Promise<void>;
  status(): FrontendStatus;
  /** Collect the day's daily frozen readings from every online concentrator (or only the given ones). */
  collectDay(day: string, concentratorIds?: number[]): Promise<CollectDaySummary>;
  /** Concentrator ids currently logged in. */
  onlineConcentrators(): number[];
  /**
   * Hand a DL/T 645 frame to a meter behind a concentrator (AFN 10 F1 transparent forwarding) and
   * return what the meter answered: empty when it kept silent, 'offline' when the concentrator is not
   * logged in, 'no_answer' when the concentrator did not answer in time.
   */
  forwardToMeter(concentratorId: number, frame: Uint8Array, timeoutMs?: number): Promise<Uint8Array | 'offline' | 'no_answer'>;
}

/** Days of daily frozen data a concentrator keeps and retries itself (DOMAIN.md, Collection): older days are not asked for. */
const KEPT_DAYS = 3;

const DEFAULT_COLLECT: CollectOptions = { pnsPerRequest: 64, window: 4, requestTimeoutMs: 10_000, retries: 2 };
const DEFAULT_SINK: ReadingSinkOptions = { batchRows: 5000, flushMs: 200, concurrency: 4, highWater: 50_000 };

/** The Q/GDW 1376.1 front-end (前置机): the TCP server concentrators log in to. */
export async function startFrontend(ctx: AppContext, opts: FrontendOptions = {}): Promise<Frontend> {
  const collect: CollectOptions = { ...DEFAULT_COLLECT, ...opts.collect };
  const counters: FrontendCounters = {
    framesIn: 0, framesOut: 0, frameErrors: {}, deniedLogins: 0, logins: 0, heartbeats: 0, logouts: 0, unmatchedReplies: 0, requestTimeouts: 0, reports: 0,
  };
  const links = new LinkTracker(ctx.db, ctx.clock, ctx.log, opts.linkFlushMs ?? 2000);
  const sink = new ReadingSink(opts.store === 'ingest' ? (rows) => ingestReadings(ctx, 'frontend', rows, { origin: 'frontend' }) : (rows) => storeDirect(ctx, rows), { ...DEFAULT_SINK, ...opts.sink }, ctx.log);
  const sessions = new Set<ConcentratorSession>();
  const byConcentrator = new Map<number, ConcentratorSession>();
  let collectionsRun = 0;
  /** `concentratorId:day` → the business date it was last collected on: the schedule asks for a day once per business day. */
  const collectedOn = new Map<string, string>();
  const everyMs = opts.scheduleEveryMs ?? 60_000;
  let kick: NodeJS.Timeout | null = null;

  // readings terminals report on their own, being stored: awaited by stop() like the schedule's collections
  const reporting = new Set<Promise<void>>();
  /**
   * Daily frozen readings a terminal sent on its own (AFN 0D F161, PRM=1): stored for the meters behind
   * it that still lack a reading of that day, as if asked for; a day not yet frozen is not a reading.
   */
  const storeReport = async (concentratorId: number, frame: Gdw1376Frame): Promise<void> => {
    const today = businessDate(ctx.clock.now());
    const days = [...new Set(forwardEnergyReadings(frame).map((r) => r.date))].filter((d): d is string => d !== null && d < today);
    for (const day of days) {
      const points = (await collectionWork(ctx.db, day, [concentratorId])).get(concentratorId)?.points ?? [];
      const { readings } = readingsFromReply([frame], day, new Map(points.map((p) => [p.pn, p])), new Set(points.map((p) => p.pn)));
      await sink.whenWritable();
      sink.push(readings.map((r) => r.row));
    }
  };
  await markAllOffline(ctx.db);
  const server = net.createServer({ noDelay: true }, (socket) => {
    const s = new ConcentratorSession(socket, {
      log: ctx.log,
      links,
      counters,
      msa: opts.msa ?? 1,
      idleTimeoutMs: opts.idleTimeoutMs ?? 45 * 60_000,
      lookup: (areaCode, terminal) => findConcentrator(ctx.db, areaCode, terminal),
      onOnline: (session) => {
        const id = session.concentrator!.id;
        const previous = byConcentrator.get(id);
        // the same terminal on a new socket: its old link is dead (e.g. a 4G reconnect)
        if (previous && previous !== session) previous.close();
        byConcentrator.set(id, session);
        kickSchedule();
      },
      onReport: (session, frame) => {
        const run: Promise<void> = storeReport(session.concentrator!.id, frame)
          .catch((e: unknown) => ctx.log.error({ err: e, concentrator: session.concentrator?.id }, 'front-end: reported readings not stored'))
          .finally(() => reporting.delete(run));
        reporting.add(run);
      },
      onClosed: (session) => {
        const id = session.concentrator!.id;
        if (byConcentrator.get(id) !== session) return;
        byConcentrator.delete(id);
        links.offline(id);
      },
    });
    sessions.add(s);
    socket.on('close', () => sessions.delete(s));
  });
  server.maxConnections = 200_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 9001, opts.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  links.start();

  const collectSession = async (s: ConcentratorSession, day: string, work: ConcentratorWork): Promise<CollectionRecord | null> => {
    if (s.collecting || !s.online) return null;
    s.collecting = true;
    try {
      const record = await collectConcentratorDay(s, day, work.points, sink, collect, () => ctx.clock.now());
      // meters stored on an earlier run count as read for the day
      record.meters += work.alreadyRead;
      record.read += work.alreadyRead;
      if (record.outcome !== 'disconnected') collectedOn.set(`${record.concentratorId}:${day}`, businessDate(ctx.clock.now()));
      return record;
    } catch (e) {
      ctx.log.error({ err: e, concentrator: s.concentrator?.id, day }, 'front-end: collection failed');
      return null;
    } finally {
      s.collecting = false;
    }
  };

  const collectSessions = async (targets: ConcentratorSession[], day: string): Promise<CollectDaySummary> => {
    const started = performance.now();
    // what each concentrator still owes for the day, read for all of them in one statement (master data, not the field)
    const ids = targets.filter((s) => s.online && !s.collecting).map((s) => s.concentrator!.id);
    const work = await collectionWork(ctx.db, day, ids);
    const none: ConcentratorWork = { points: [], alreadyRead: 0 };
    // each concentrator runs on its own; the only shared wait is for the last one to finish
    const records = (await Promise.all(targets.map((s) => collectSession(s, day, work.get(s.concentrator!.id) ?? none)))).filter(
      (r): r is CollectionRecord => r !== null,
    );
    await sink.flush();
    await saveCollections(ctx.db, records);
    collectionsRun++;
    const summary = {
      day,
      concentrators: records.length,
      meters: records.reduce((a, r) => a + r.meters, 0),
      read: records.reduce((a, r) => a + r.read, 0),
      missing: records.reduce((a, r) => a + r.missingMeterIds.length, 0),
      ms: Math.round(performance.now() - started),
      records,
    };
    ctx.log.info({ ...summary, records: undefined }, 'front-end: daily frozen collection done');
    return summary;
  };

  // the schedule's collections in flight, awaited by stop() so nothing writes after the front-end is gone
  const scheduled = new Set<Promise<void>>();
  // concentrators a scheduled collection holds (between its days too): the next tick leaves them alone
  const held = new Set<number>();
  const runSchedule = async (due: { s: ConcentratorSession; days: string[] }[]): Promise<void> => {
    const days = [...new Set(due.flatMap((d) => d.days))].sort();
    const work = new Map<string, Map<number, ConcentratorWork>>();
    for (const day of days) work.set(day, await collectionWork(ctx.db, day, due.filter((d) => d.days.includes(day)).map((d) => d.s.concentrator!.id)));
    const none: ConcentratorWork = { points: [], alreadyRead: 0 };
    // each concentrator goes through its days on its own: a silent one holds up only itself
    const records = (
      await Promise.all(
        due.map(async ({ s, days: own }) => {
          const out: CollectionRecord[] = [];
          for (const day of own) {
            const r = await collectSession(s, day, work.get(day)!.get(s.concentrator!.id) ?? none);
            if (r) out.push(r);
          }
          return out;
        }),
      )
    ).flat();
    await sink.flush();
    await saveCollections(ctx.db, records);
    collectionsRun++;
    ctx.log.info({ days, concentrators: due.length, read: records.reduce((a, r) => a + r.read, 0) }, 'front-end: scheduled daily frozen collection done');
  };

  const tick = () => {
    const now = ctx.clock.now();
    const minutesPastMidnight = Math.floor((now.getTime() + 8 * 3600_000) / 60_000) % 1440;
    if (minutesPastMidnight < (opts.collectAfterMinutes ?? 30)) return;
    const today = businessDate(now);
    const kept = Array.from({ length: KEPT_DAYS }, (_, i) => addDays(today, i - KEPT_DAYS));
    for (const key of collectedOn.keys()) if (key.slice(key.indexOf(':') + 1) < kept[0]!) collectedOn.delete(key);
    const due = [...byConcentrator.values()]
      .filter((s) => s.online && !s.collecting && !held.has(s.concentrator!.id))
      .map((s) => ({ s, days: kept.filter((day) => collectedOn.get(`${s.concentrator!.id}:${day}`) !== today) }))
      .filter((d) => d.days.length > 0);
    if (!due.length) return;
    const ids = due.map((d) => d.s.concentrator!.id);
    for (const id of ids) held.add(id);
    const run: Promise<void> = runSchedule(due)
      .catch((e: unknown) => ctx.log.error({ err: e }, 'front-end: scheduled collection failed'))
      .finally(() => {
        for (const id of ids) held.delete(id);
        scheduled.delete(run);
      });
    scheduled.add(run);
  };
  const scheduleTimer = everyMs > 0 ? setInterval(tick, everyMs) : null;
  scheduleTimer?.unref();
  // a concentrator that logs in after the collection time is asked at once, not at the next tick (logins in a burst share one)
  function kickSchedule(): void {
    if (everyMs <= 0 || kick) return;
    kick = setTimeout(() => {
      kick = null;
      tick();
    }, Math.min(everyMs, 200));
    kick.unref();
  }

  return {
    port,
    collectDay: (day, ids) => {
      const targets = [...byConcentrator.values()].filter((s) => !ids || ids.includes(s.concentrator!.id));
      return collectSessions(targets, day);
    },
    onlineConcentrators: () => [...byConcentrator.keys()].sort((a, b) => a - b),
    async forwardToMeter(concentratorId, frame, timeoutMs = collect.requestTimeoutMs) {
      const s = byConcentrator.get(concentratorId);
      if (!s?.online) return 'offline';
      // the concentrator waits up to half our timeout for the meter, so its (empty) answer still reaches us
      const frames = await s.request((seq) => encodeTransparentForwardRequest({ address: s.address, seq, content: frame, frameTimeoutMs: timeoutMs / 2 }), timeoutMs);
      if (!frames) return 'no_answer';
      for (const f of frames) {
        const forwarded = transparentForwardOf(f);
        if (forwarded) return forwarded.content;
      }
      return 'no_answer';
    },
    status: () => ({
      ...counters,
      frameErrors: { ...counters.frameErrors },
      port,
      connections: sessions.size,
      online: byConcentrator.size,
      readingsStored: sink.stored,
      readingsQuarantined: sink.quarantined,
      readingsPending: sink.pending,
      readingsFailed: sink.failed,
      storeBatches: sink.batches,
      collectionsRun,
    }),
    async stop() {
      if (scheduleTimer) clearInterval(scheduleTimer);
      if (kick) clearTimeout(kick);
      const closed = new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.socket.destroy();
      });
      await Promise.all(scheduled);
      await Promise.all(reporting);
      await closed;
      await sink.flush();
      await links.stop();
      await markAllOffline(ctx.db);
    },
  };
}

/** Front-end rows carry their meter id (resolved from master data at collection time). */
async function storeDirect(ctx: AppContext, rows: (RawReading & { meterId?: number })[]): Promise<{ stored: number; quarantined: number }> {
  const n = await upsertReadings(
    ctx.db,
    ctx.clock.now(),
    rows.map((r) => ({
      meterId: r.meterId!, readingDate: r.date!, totalKwh: str(r.total), sharpKwh: str(r.sharp), peakKwh: str(r.peak), flatKwh: str(r.flat),
      valleyKwh: str(r.valley), quality: 'actual', source: 'frontend', clockDriftSeconds: r.clockDriftSeconds === null || r.clockDriftSeconds === undefined ? null : Number(r.clockDriftSeconds),
    })),
  );
  return { stored: n, quarantined: 0 };
}

const str = (v: string | number | null | undefined): string | null => (v === null || v === undefined ? null : String(v));
