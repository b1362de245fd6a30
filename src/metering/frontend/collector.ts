import { addDays } from '../../platform/index.ts';
import { encodeDailyFrozenEnergyRequest, forwardEnergyReadings, Gdw1376Afn, type Gdw1376Address, type Gdw1376Frame } from '../protocols/index.ts';
import type { RawReading } from '../domain/raw-reading.ts';
import type { ReadingSink } from './reading-sink.ts';
import type { ConcentratorSession } from './session.ts';
import type { CollectionRecord } from './store.ts';

export interface CollectOptions {
  /** Measuring points per request frame (packed 8 per data unit). */
  pnsPerRequest: number;
  /** Requests in flight per concentrator, matched by SEQ. */
  window: number;
  requestTimeoutMs: number;
  /**
   * Extra rounds for points the concentrator did not answer (a request timed out, a reply left them out)
   * before giving up for this run. A point it answered with no data (EE) or refused (AFN 00 deny) is a
   * gap for this run: asking again at once only gets the same answer.
   */
  retries: number;
}

/** A reading as the ingest takes it, plus the meter id the front-end already resolved. */
export type FrontendReading = RawReading & { meterId: number };

export interface MeterPoint {
  pn: number;
  meterId: number;
  /** DL/T 645 address: how the ingest names the meter. */
  commAddress: string;
}

/** When the day's registers froze (00:00 after it, Beijing time), kept per day: every reading of a day asks. */
const freezes = new Map<string, number>();
function frozenAtOf(day: string): number {
  let at = freezes.get(day);
  if (at === undefined) {
    at = Date.parse(`${addDays(day, 1)}T00:00:00+08:00`);
    if (freezes.size > 1000) freezes.clear();
    freezes.set(day, at);
  }
  return at;
}

/** Meter clock minus master clock, read off F161's reading time: a healthy meter freezes at 00:00 after the day. */
export function clockDriftSeconds(day: string, readAt: string | null): number | null {
  if (!readAt) return null;
  const reported = Date.parse(`${readAt.replace(' ', 'T')}:00+08:00`);
  return Number.isNaN(reported) ? null : Math.round((reported - frozenAtOf(day)) / 1000);
}

/**
 * The stored form of a daily frozen reply (tariff registers 1-4 are 尖 峰 平 谷: sharp, peak, flat,
 * valley), and the asked points the reply reported at all, with data or EE.
 */
export function readingsFromReply(
  frames: Gdw1376Frame[], day: string, byPn: Map<number, MeterPoint>, asked: Set<number>,
): { readings: { pn: number; row: FrontendReading }[]; reported: Set<number> } {
  const out: { pn: number; row: FrontendReading }[] = [];
  const reported = new Set<number>();
  // most meters of a concentrator report the same read time: work its drift out once
  let lastReadAt: string | null = null;
  let lastDrift: number | null = null;
  for (const f of frames) {
    for (const r of forwardEnergyReadings(f)) {
      if (asked.has(r.pn)) reported.add(r.pn);
      const point = byPn.get(r.pn);
      // EE (no data), another day, or a point we did not ask for in this request: not a reading of the day
      if (point === undefined || !asked.has(r.pn) || r.date !== day || r.registers.total === null) continue;
      const t = r.registers.tariffs;
      const four = t.length === 4;
      out.push({
        pn: r.pn,
        row: {
          meterId: point.meterId,
          commAddress: point.commAddress,
          date: day,
          total: r.registers.total,
          sharp: four ? t[0] : null,
          peak: four ? t[1] : null,
          flat: four ? t[2] : null,
          valley: four ? t[3] : null,
          clockDriftSeconds: r.readAt !== null && r.readAt === lastReadAt ? lastDrift : (lastDrift = clockDriftSeconds(day, (lastReadAt = r.readAt))),
        },
      });
    }
  }
  return { readings: out, reported };
}

/** Frames of the terminal we asked: a reply carrying another terminal's address says nothing about ours. */
export function framesOfTerminal(frames: Gdw1376Frame[], address: Gdw1376Address): Gdw1376Frame[] {
  return frames.filter((f) => f.address.areaCode === address.areaCode && f.address.terminal === address.terminal);
}


/**
 * Collect one concentrator's daily frozen readings (AFN 0D F161) for a day: ask for every point in
 * pipelined requests, then re-ask for the points that got no answer, up to `retries` more rounds.
 */
export async function collectConcentratorDay(
  session: ConcentratorSession,
  day: string,
  points: MeterPoint[],
  sink: ReadingSink,
  opts: CollectOptions,
  now: () => Date,
): Promise<CollectionRecord> {
  const startedAt = now();
  const started = performance.now();
  const byPn = new Map(points.map((p) => [p.pn, p]));
  let todo = points.map((p) => p.pn);
  const read = new Set<number>();
  // read, reported without data, or refused: not asked again in this run
  const settled = new Set<number>();
  let rounds = 0;
  let answered = false;
  while (todo.length && rounds <= opts.retries && session.online) {
    rounds++;
    const chunks: number[][] = [];
    for (let i = 0; i < todo.length; i += opts.pnsPerRequest) chunks.push(todo.slice(i, i + opts.pnsPerRequest));
    let next = 0;
    const worker = async () => {
      while (next < chunks.length && session.online) {
        const pns = chunks[next++]!;
        await sink.whenWritable();
        const address = session.address;
        const reply = await session.request((seq) => encodeDailyFrozenEnergyRequest({ address, seq, pns, date: day }), opts.requestTimeoutMs);
        const frames = reply ? framesOfTerminal(reply, address) : [];
        if (!frames.length) continue;
        const { readings, reported } = readingsFromReply(frames, day, byPn, new Set(pns));
        // the asked points the reply settles: every one when the terminal refused the request (AFN 00)
        const settles = frames.some((f) => f.afn === Gdw1376Afn.confirm) ? pns : pns.filter((pn) => reported.has(pn));
        if (!settles.length) continue;
        answered = true;
        for (const pn of settles) settled.add(pn);
        const got = readings.filter((g) => !read.has(g.pn));
        for (const g of got) read.add(g.pn);
        sink.push(got.map((g) => g.row));
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.window, chunks.length) }, worker));
    todo = todo.filter((pn) => !settled.has(pn));
  }
  const missingMeterIds = points.filter((p) => !read.has(p.pn)).map((p) => p.meterId);
  const outcome: CollectionRecord['outcome'] = !missingMeterIds.length
    ? 'complete'
    : todo.length && !session.online
      ? 'disconnected'
      : answered
        ? 'partial'
        : 'no_answer';
  return {
    day,
    concentratorId: session.concentrator!.id,
    meters: points.length,
    read: read.size,
    missingMeterIds,
    rounds,
    outcome,
    startedAt,
    finishedAt: now(),
    elapsedMs: Math.round(performance.now() - started),
  };
}
