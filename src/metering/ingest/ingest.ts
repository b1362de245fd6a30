import { sql } from 'kysely';
import { addDays, businessDate, plainUnlessStored, type AppContext, type Db, type Session } from '../../platform/index.ts';
import { ensureReadingPartitions, readingPartitionOf } from '../store/readings.repository.ts';
import { loadMeteringPolicy, type MeteringPolicy } from '../store/policy.repository.ts';
import { recheckVeeFlags, veeRecheckPending } from '../store/vee.repository.ts';
import { CHECKED_COLUMNS, checkedCsvLine, checkStage, objectToStage, type RawReading, type StageRow } from '../domain/raw-reading.ts';
import {
  createReadingStage, dropReadingStaging, insertFast, MAX_ERRORS, storeFast, storeStaged, type IngestSummaryRow,
} from '../store/ingest.repository.ts';

export type IngestSource = 'file' | 'api' | 'mqtt' | 'frontend';

/** Why a row was refused (reading_quarantine.reason). */
export type QuarantineReason =
  | 'unparseable' | 'missing_meter' | 'unknown_meter' | 'out_of_scope' | 'bad_date' | 'future_date' | 'not_yet_frozen' | 'date_too_old'
  | 'unknown_register' | 'missing_value' | 'negative_value' | 'not_numeric' | 'out_of_range';

export interface IngestResult {
  /** Rows accepted and stored (idempotently: a rerun stores the same values again, nothing doubles). */
  stored: number;
  quarantined: number;
  byReason: Partial<Record<QuarantineReason, number>>;
  /** The first rejected rows (row = position in the batch, or line number in a file). */
  errors: { row: number; reason: QuarantineReason }[];
}

export interface IngestOptions {
  /** Where the batch came from (file name, MQTT topic, API caller): part of the quarantine key. */
  origin?: string;
  /** Only meters of customers under this org path are accepted; others are quarantined as out_of_scope. */
  scopePath?: string;
}

/** The one ingest every path uses: validate, quarantine the bad rows, upsert the good ones. */
export async function ingestReadings(ctx: AppContext, source: IngestSource, rows: (RawReading | unknown)[], opts: IngestOptions = {}): Promise<IngestResult> {
  return ingestStaged(ctx, source, rows.map((r, i) => objectToStage(i + 1, r)), opts);
}

/** What the checks saw while the rows streamed into COPY. */
export interface StageStats {
  /** Date range of the rows whose shape is good (the partitions they need). */
  lo: string | null;
  hi: string | null;
  /** Some good row carried a single register: meter-days arrive in pieces and must be merged. */
  pieces: boolean;
  /** reading_stage rows whose shape is good. */
  good: number;
  /** reading_stage rows. */
  rows: number;
}

/** What a loader put into the sessions' staging tables. */
export interface Loaded extends StageStats {
  /** Plain lines in each session's reading_fast (file fast lane); null when there is no fast lane. */
  fast: number[] | null;
  /** The loader met good rows only the full checks could take while working with several sessions: load again with one. */
  needsOneSession?: boolean;
}

export const emptyStats = (): StageStats => ({ lo: null, hi: null, pieces: false, good: 0, rows: 0 });

/**
 * Same as ingestReadings, from staging rows (file ingest streams these straight into COPY).
 * Each row's shape (date, register, values) is checked as it streams into a typed temp table; the meter
 * lookup, the quarantine and the upsert are then one set-based statement.
 */
export async function ingestStaged(ctx: AppContext, source: IngestSource, stage: Iterable<StageRow>, opts: IngestOptions = {}): Promise<IngestResult> {
  return ingestLoaded(ctx, source, opts, 1, async ([s], today, oldest) => {
    const stats = emptyStats();
    await copyChecked(s!, stage, today, oldest, stats);
    return { ...stats, fast: null };
  });
}

/** COPY staging rows into reading_stage, checking each row's shape on the way. */
export async function copyChecked(s: Session, stage: Iterable<StageRow>, today: string, oldest: string, stats: StageStats): Promise<void> {
  await s.copyFrom('reading_stage', [...CHECKED_COLUMNS], checked(stage, today, oldest, stats));
}

/** Pin `n` connections at once (nested sessions; PGlite is one connection, so one). */
export async function withSessions<T>(ctx: AppContext, n: number, fn: (sessions: Session[]) => Promise<T>, held: Session[] = []): Promise<T> {
  if (held.length >= n) return fn(held);
  return ctx.database.session((s) => withSessions(ctx, n, fn, [...held, s]));
}

/**
 * The ingest around a loader: the loader fills the staging tables of `sessions` connections
 * (reading_stage in the first, reading_fast in each for the file fast lane), then the batch is stored.
 * Plain lines split by meter share no meter-day across sessions, so each session stores its part in its
 * own transaction at the same time (a crash leaves whole parts stored; a rerun completes it, idempotently).
 * Everything else is one transaction on one session.
 */
export async function ingestLoaded(
  ctx: AppContext, source: IngestSource, opts: IngestOptions, sessions: number,
  load: (sessions: Session[], today: string, oldest: string) => Promise<Loaded>,
): Promise<IngestResult> {
  const clock = await ingestClock(ctx);
  const result = await storeLoaded(ctx, source, opts, sessions, load, clock);
  await recheckReplaced(ctx, clock, result);
  return result;
}

async function storeLoaded(
  ctx: AppContext, source: IngestSource, opts: IngestOptions, sessions: number,
  load: (sessions: Session[], today: string, oldest: string) => Promise<Loaded>, clock: IngestClock,
): Promise<IngestResult> {
  const { at, today, oldest } = clock;
  const origin = opts.origin ?? source;
  const n = ctx.database.engine === 'pglite' ? 1 : sessions;
  const result = await withSessions(ctx, n, async (ss) => {
    const s = ss[0]!;
    try {
      for (const x of ss) await createReadingStage(x.db);
      const loaded = await load(ss, today, oldest);
      if (loaded.needsOneSession) return null;
      if (loaded.lo && loaded.hi) await ensurePartitions(s.db, loaded.lo, loaded.hi);
      const base = { source, origin, at, scopePath: opts.scopePath };
      const partition = loaded.lo && loaded.hi ? readingPartitionOf(loaded.lo, loaded.hi) : null;
      const fast = loaded.fast;
      if (fast && loaded.good === 0 && opts.scopePath === undefined) {
        // the plain lines alone carry good rows: each part by the fast statements, the refused lines quarantined beside the first
        const settled = await Promise.allSettled(ss.map(async (x, i) => storePart(x, base, partition, fast[i]!, i === 0 && loaded.rows > 0)));
        const failed = settled.find((p) => p.status === 'rejected');
        if (failed) throw failed.reason;
        return combine(settled.map((p) => (p as PromiseFulfilledResult<IngestResult>).value));
      }
      if (ss.length > 1) return null;
      const general = { ...base, withFast: fast !== null };
      try {
        return await inTransaction(s, async () => storeStaged(s.db, { ...general, merge: loaded.pieces }));
      } catch (e) {
        // a meter-day delivered twice in full rows (or by asset number and by address): merge, last row wins
        if (!loaded.pieces && isRepeatedMeterDay(e)) return await inTransaction(s, async () => storeStaged(s.db, { ...general, merge: true }));
        throw e;
      }
    } finally {
      for (const x of ss) await dropReadingStaging(x.db);
    }
  });
  return result ?? storeLoaded(ctx, source, opts, 1, load, clock);
}

/**
 * One session's part in one transaction: its `lines` plain lines of reading_fast and, with `rejects`, the
 * refused rows of reading_stage (no good row there). A meter-day twice in the part is merged, last row wins.
 */
export async function storePart(
  s: Session, base: { source: string; origin: string; at: Date }, partition: string | null, lines: number, rejects: boolean,
): Promise<IngestResult> {
  try {
    return await inTransaction(s, async () => [
      ...(lines > 0 ? await storePlainLines(s, { ...base, partition }, lines) : []),
      ...(rejects ? await storeStaged(s.db, { ...base, merge: false, withFast: false }) : []),
    ]);
  } catch (e) {
    if (!isRepeatedMeterDay(e)) throw e;
    return await inTransaction(s, async () => storeStaged(s.db, { ...base, merge: true, withFast: true }));
  }
}

/** The ingest's time, its business day, the oldest reading date the policy accepts, and the policy. */
export interface IngestClock {
  at: Date;
  today: string;
  oldest: string;
  policy: MeteringPolicy;
}

export async function ingestClock(ctx: AppContext): Promise<IngestClock> {
  const at = ctx.clock.now();
  const today = businessDate(at);
  const policy = await loadMeteringPolicy(ctx.db);
  return { at, today, oldest: addDays(today, -policy.maxReadingAgeDays), policy };
}

/**
 * A stored reading this ingest replaced (a head-end's corrected resend) may carry VEE flags that judged the old value:
 * the store's trigger queued those meter-days, and they are judged again now, in a transaction of their own (the queue
 * is durable: what a crash leaves there, the next ingest or VEE run takes). Nothing queued costs one look at the queue.
 */
export async function recheckReplaced(ctx: AppContext, clock: IngestClock, result: IngestResult): Promise<void> {
  if (result.stored === 0 || !(await veeRecheckPending(ctx.db))) return;
  await ctx.db.transaction().execute((trx) => recheckVeeFlags(trx, clock.at, clock.policy));
}

/** The month partitions for [lo, hi]; two ingests creating the same month partition at once would collide. */
export async function ensurePartitions(db: Db, lo: string, hi: string): Promise<void> {
  await sql`SELECT pg_advisory_lock(hashtext('meter_reading_partitions'))`.execute(db);
  try {
    await ensureReadingPartitions(db, lo, hi);
  } finally {
    await sql`SELECT pg_advisory_unlock(hashtext('meter_reading_partitions'))`.execute(db);
  }
}

export function combine(parts: IngestResult[]): IngestResult {
  const result: IngestResult = { stored: 0, quarantined: 0, byReason: {}, errors: [] };
  for (const p of parts) {
    result.stored += p.stored;
    result.quarantined += p.quarantined;
    for (const [k, v] of Object.entries(p.byReason) as [QuarantineReason, number][]) result.byReason[k] = (result.byReason[k] ?? 0) + v;
    result.errors.push(...p.errors);
  }
  result.errors.sort((a, b) => a.row - b.row);
  result.errors.length = Math.min(result.errors.length, MAX_ERRORS);
  return result;
}

/**
 * New meter-days by plain insert; when one is already stored (a rerun, a late correction), the savepoint
 * goes back and the lines are matched against the stored readings instead.
 */
async function storePlainLines(s: Session, o: { source: string; origin: string; at: Date; partition: string | null }, lines: number): Promise<IngestSummaryRow[]> {
  return plainUnlessStored(s.db, async () => {
    const inserted = await insertFast(s.db, o);
    const rows: IngestSummaryRow[] = [{ reason: null, n: inserted, row: null }];
    // lines whose address is no meter's: an asset number, or quarantined as unknown
    if (inserted < lines) rows.push(...(await storeFast(s.db, { ...o, unmatchedOnly: true })));
    return rows;
  }, () => storeFast(s.db, { ...o, unmatchedOnly: false }));
}

/** 21000: an upsert met its own row twice; 23505: a plain insert did (or a concurrent ingest stored the meter-day first). */
function isRepeatedMeterDay(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === '21000' || code === '23505';
}

async function inTransaction(s: Session, fn: () => Promise<IngestSummaryRow[]>): Promise<IngestResult> {
  await sql`BEGIN`.execute(s.db);
  try {
    // a big batch hashes the meter table in memory
    await sql`SET LOCAL work_mem = '256MB'`.execute(s.db);
    const rows = await fn();
    await sql`COMMIT`.execute(s.db);
    return summarise(rows);
  } catch (e) {
    await sql`ROLLBACK`.execute(s.db).catch(() => undefined);
    throw e;
  }
}

function* checked(stage: Iterable<StageRow>, today: string, oldest: string, stats: StageStats): Generator<string> {
  for (const row of stage) {
    const c = checkStage(row, today, oldest);
    const date = c[3];
    stats.rows++;
    if (date !== null) {
      stats.good++;
      if (stats.lo === null || date < stats.lo) stats.lo = date;
      if (stats.hi === null || date > stats.hi) stats.hi = date;
      if (!stats.pieces && row[8] !== null) stats.pieces = true;
    }
    yield checkedCsvLine(c);
  }
}

function summarise(rows: IngestSummaryRow[]): IngestResult {
  const result: IngestResult = { stored: 0, quarantined: 0, byReason: {}, errors: [] };
  for (const { reason, n, row } of rows) {
    if (n === null) result.errors.push({ row: Number(row), reason: reason as QuarantineReason });
    else if (reason === null) result.stored += n;
    else {
      result.quarantined += n;
      const r = reason as QuarantineReason;
      result.byReason[r] = (result.byReason[r] ?? 0) + n;
    }
  }
  result.errors.sort((a, b) => a.row - b.row);
  result.errors.length = Math.min(result.errors.length, MAX_ERRORS);
  return result;
}
