import { sql } from 'kysely';
import type { AppContext, Db, Session } from '../../platform/index.ts';
import { CHECKED_COLUMNS, checkedCsvLine, checkStage } from '../domain/raw-reading.ts';
import { readingPartitionOf } from '../store/readings.repository.ts';
import { createReadingDirect, createReadingFast, createReadingStage, dropReadingStaging, storeDirect } from '../store/ingest.repository.ts';
import { BINARY_HEADER, BINARY_TRAILER, DIRECT_COLUMNS, DirectScanner, MeterIndex, type FastLayout } from './csv-scan.ts';
import { combine, ensurePartitions, ingestClock, recheckReplaced, storePart, withSessions, type IngestResult } from './ingest.ts';

/**
 * The direct lane of a big head-end CSV export, the shape of a day's export. Node knows every meter by
 * address (one read of the meter table), so a plain line becomes a binary COPY row of the month's
 * partition of meter_reading: no staging table, no text to parse, no join, and the server inserts rows in
 * batches. Two sessions take the meters' lower and upper halves (disjoint key ranges), each in its own
 * transaction. A file whose first meter-day is stored already (a rerun, a late correction) is copied into
 * a temporary table instead and matched against the stored readings as the general lane does.
 *
 * Whatever the direct rows cannot decide goes the general way, so the results are those of the general
 * lane: plain lines of an unknown address (asset numbers, unknown meters) or of another month are stored
 * after the COPYs through the staging tables, with the refused lines. A meter-day twice in the file, or a
 * good line only the full checks take (it may share a meter-day with a plain line, and the last line must
 * win), sends the whole file to the general lane, which merges; so does a stored meter-day met by the
 * plain COPY (23505): parts that went in stay, and the general lane finds them stored.
 */

// the meter map costs about what storing a quarter as many lines through the staging tables saves
const MIN_LINES_PER_METER = 0.25;
// lines scanned per round: node encodes the next round while the server inserts this one
const SEGMENT_LINES = 16_384;
// chunks waiting for each COPY before the scan waits
const FEED_CHUNKS = 4;
const SESSIONS = 2;

/** Why the direct lane gave the file back to the general one. */
class Declined extends Error {}

/** The direct lane's result, or null when the file should take the general lane. */
export async function ingestDirect(
  ctx: AppContext, content: string, header: { slots: (number | undefined)[]; line: number; end: number }, layout: FastLayout, origin: string,
  { segmentLines = SEGMENT_LINES, meters: prefetched }: { segmentLines?: number; meters?: Promise<Meters | null> | null } = {},
): Promise<IngestResult | null> {
  const lines = estimateLines(content, header.end);
  if (lines === 0) return null;
  const clock = await ingestClock(ctx);
  const { at, today, oldest } = clock;
  const n = ctx.database.engine === 'pglite' ? 1 : SESSIONS;
  const result = await withSessions(ctx, n, async (ss): Promise<IngestResult | null> => {
    const s0 = ss[0]!;
    if (ss.some((s) => !s.copyBinary)) return null;
    const known = (await prefetched) ?? (worthMeters(lines, await meterEstimate(s0.db)) ? await loadMeters(s0.db) : null);
    if (!known || !worthMeters(lines, known.count)) return null;
    const { meters, split } = known;
    const source = 'file';
    const scanner = new DirectScanner(content, header.end, header.line, header.slots, layout, ss.length, today, oldest, { meters, split, source, at });
    const rejected: string[] = [];
    // a meter-day twice, or a good line only the full checks take: the general lane merges them
    const takeRejected = () => {
      if (scanner.repeated) return false;
      for (const row of scanner.takeSlow()) {
        const c = checkStage(row, today, oldest);
        if (c[3] !== null) return false;
        rejected.push(checkedCsvLine(c));
      }
      return true;
    };
    let parts = scanner.directSegment(segmentLines);
    if (!takeRejected() || !scanner.first) return null;
    const { meterId, date } = scanner.first;
    await ensurePartitions(s0.db, date, date);
    const partition = readingPartitionOf(date, date)!;
    // a rerun (its first meter-day is stored already) or a late correction: the rows are matched against the
    // stored readings from a temporary table instead of going straight in
    const upsert = (await sql`SELECT 1 FROM ${sql.table(partition)} WHERE meter_id = ${meterId} AND reading_date = ${date}`.execute(s0.db)).rows.length > 0;
    if (upsert) for (const s of ss) await createReadingDirect(s.db);
    try {
      const feeds = ss.map(() => new Feed(FEED_CHUNKS));
      // each part commits on its own, as soon as it went through: two ingests of the same meter-days then
      // wait on each other's parts in the server only, never on a commit held back here
      const copies = ss.map(async (s, i) => {
        if (!upsert) await sql`BEGIN`.execute(s.db);
        try {
          const rows = await s.copyBinary!(upsert ? 'reading_direct' : partition, DIRECT_COLUMNS, feeds[i]!);
          if (!upsert) {
            await sql`COMMIT`.execute(s.db);
            return rows;
          }
        } catch (e) {
          // the scan must not wait on a COPY that stopped reading (or never started)
          feeds[i]!.stop();
          if (!upsert) await sql`ROLLBACK`.execute(s.db).catch(() => undefined);
          throw e;
        }
        await sql`BEGIN`.execute(s.db);
        try {
          await sql`SET LOCAL work_mem = '256MB'`.execute(s.db);
          const range = (await sql<{ lo: string; hi: string; first: number; last: number }>`
            SELECT min(reading_date) AS lo, max(reading_date) AS hi, min(meter_id) AS first, max(meter_id) AS last FROM reading_direct`.execute(s.db)).rows[0]!;
          const rows = range.lo === null ? 0 : await storeDirect(s.db, { partition, ...range });
          await sql`COMMIT`.execute(s.db);
          return rows;
        } catch (e) {
          await sql`ROLLBACK`.execute(s.db).catch(() => undefined);
          throw e;
        }
      });
      // a COPY can fail (a stored meter-day met mid-file) while the scan still feeds the other: its
      // rejection is read below, with the others', and must not count as unhandled meanwhile
      for (const c of copies) c.catch(() => undefined);
      let stopped: unknown = null;
      try {
        for (const f of feeds) await f.push(BINARY_HEADER);
        for (;;) {
          for (let i = 0; i < parts.length; i++) if (parts[i]!.length) await feeds[i]!.push(parts[i]!);
          if (scanner.done) break;
          // let the sockets take what is ready while the next round is encoded
          await new Promise<void>((r) => setImmediate(r));
          parts = scanner.directSegment(segmentLines);
          if (!takeRejected()) throw new Declined('a meter-day twice or a good line the full checks take');
        }
        for (const f of feeds) await f.push(BINARY_TRAILER);
        for (const f of feeds) f.end();
      } catch (e) {
        stopped = e;
        for (const f of feeds) f.end(e instanceof Error ? e : new Error(String(e)));
      }
      const settled = await Promise.allSettled(copies);
      const failure = settled.find((p): p is PromiseRejectedResult => p.status === 'rejected' && !(p.reason instanceof FeedStopped))?.reason
        ?? (stopped instanceof FeedStopped ? null : stopped);
      // 23505: a plain insert met a stored meter-day or one of the file twice; 21000: the upsert met one twice
      const repeated = settled.some((p) => p.status === 'rejected' && ['23505', '21000'].includes((p.reason as { code?: string }).code ?? ''));
      // parts that went in stay (the general lane finds them stored and leaves them as they are)
      if (failure || repeated || stopped) {
        if (repeated || failure instanceof Declined) return null;
        throw failure ?? stopped;
      }
      const direct = settled.reduce((sum, p) => sum + (p as PromiseFulfilledResult<number>).value, 0);
      const results: IngestResult[] = [{ stored: direct, quarantined: 0, byReason: {}, errors: [] }];

      // the plain lines the COPYs did not take and the refused lines: the general lane's statements, one transaction
      if (scanner.stagedRows > 0 || rejected.length > 0) {
        try {
          await createReadingStage(s0.db);
          await createReadingFast(s0.db, layout.extra);
          if (scanner.stagedRows > 0) await s0.copyFrom('reading_fast', layout.columns, [scanner.staged]);
          if (rejected.length > 0) await s0.copyFrom('reading_stage', [...CHECKED_COLUMNS], rejected);
          const { lo, hi } = scanner.stats;
          if (lo && hi) await ensurePartitions(s0.db, lo, hi);
          results.push(await storePart(s0, { source, origin, at }, null, scanner.stagedRows, rejected.length > 0));
        } finally {
          await dropReadingStaging(s0.db);
        }
      }
      return combine(results);
    } finally {
      if (upsert) for (const s of ss) await dropReadingStaging(s.db);
    }
  });
  if (result) await recheckReplaced(ctx, clock, result);
  return result;
}

/** Data lines of the file, from the first lines' mean length (exact for a short file). */
function estimateLines(content: string, start: number): number {
  let pos = start;
  let n = 0;
  while (pos < content.length && n < 64) {
    const end = content.indexOf('\n', pos);
    pos = end < 0 ? content.length : end + 1;
    n++;
  }
  return pos >= content.length ? n : Math.round(((content.length - start) / (pos - start)) * n);
}

/** Every meter by address, how many there are, and the id halving them. */
export interface Meters {
  meters: MeterIndex;
  count: number;
  split: number;
}

/** Whether reading every meter pays for a file of `lines` lines. */
export function worthMeters(lines: number, meters: number): boolean {
  return meters > 0 && lines >= meters * MIN_LINES_PER_METER;
}

/** The number of meters, from the planner's statistics when there are any (no scan). */
export async function meterEstimate(db: Db): Promise<number> {
  const r = await sql<{ n: number }>`
    SELECT CASE WHEN c.reltuples > 0 THEN c.reltuples::int ELSE (SELECT count(*)::int FROM meter) END AS n
    FROM pg_class c WHERE c.oid = 'meter'::regclass`.execute(db);
  return r.rows[0]!.n;
}

/** Every meter's id by address, in one string from the server (a row per meter would cost more to receive). */
export async function loadMeters(db: Db): Promise<Meters> {
  const r = await sql<{ m: string | null; n: number; lo: number; hi: number }>`
    SELECT string_agg(comm_address || id::text, ',') AS m, count(*)::int AS n, min(id) AS lo, max(id) AS hi FROM meter`.execute(db);
  const { m, n, lo, hi } = r.rows[0]!;
  const meters = new MeterIndex(n);
  const s = m ?? '';
  for (let i = 0; i < s.length;) {
    let id = 0;
    let j = i + 12;
    for (; j < s.length && s.charCodeAt(j) !== 44; j++) id = id * 10 + s.charCodeAt(j) - 48;
    meters.add(s, i, id);
    i = j + 1;
  }
  meters.seal();
  return { meters, count: n, split: Math.floor((Number(lo) + Number(hi)) / 2) + 1 };
}

/** The consumer of a feed went away (its COPY failed). */
class FeedStopped extends Error {}

/** Chunks from the scan to one COPY, at most `limit` waiting; either end can stop it. */
class Feed implements AsyncIterable<Uint8Array> {
  private readonly items: Uint8Array[] = [];
  private ended = false;
  private error: Error | null = null;
  private stopped = false;
  private wakeReader: (() => void) | null = null;
  private wakeWriter: (() => void) | null = null;

  constructor(private readonly limit: number) {}

  async push(chunk: Uint8Array): Promise<void> {
    while (this.items.length >= this.limit && !this.stopped) await new Promise<void>((r) => (this.wakeWriter = r));
    if (this.stopped) throw new FeedStopped('the COPY stopped reading');
    this.items.push(chunk);
    this.wake();
  }

  /** No more chunks; with an error the COPY fails with it (and rolls back). */
  end(error?: Error): void {
    this.ended = true;
    this.error = error ?? null;
    this.wake();
  }

  /** The consumer is gone: pushing fails from now on. */
  stop(): void {
    this.stopped = true;
    const w = this.wakeWriter;
    this.wakeWriter = null;
    w?.();
  }

  private wake(): void {
    const r = this.wakeReader;
    this.wakeReader = null;
    r?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    try {
      for (;;) {
        const chunk = this.items.shift();
        if (chunk) {
          const w = this.wakeWriter;
          this.wakeWriter = null;
          w?.();
          yield chunk;
        } else if (this.ended) {
          if (this.error) throw this.error;
          return;
        } else await new Promise<void>((r) => (this.wakeReader = r));
      }
    } finally {
      this.stop();
    }
  }
}
