import { sql } from 'kysely';
import { AppError, runAll, today, type AppContext, type Db } from '../platform/index.ts';
import { assertPeriod, periodBounds } from './domain/period.ts';
import {
  claimChunk, completeRun, countStaging, findCycle, findRun, finishChunk, finishStaging, indexStaging, openRun, planChunks, rateChunk, readingsSource,
  restageIfLost, stageSlice, stageSlices,
  type BillingRunRow,
} from './store/run.repository.ts';

export interface BillingRunOptions {
  cycle: string;
  period: string;
  /** Customers (by id range) per transaction; each chunk commits with its progress. */
  chunkSize?: number;
  startedBy?: string;
  /**
   * Workers rating chunks at once, each on its own connection (default: 2 on the PostgreSQL server,
   * 1 on PGlite, which is one connection).
   */
  concurrency?: number;
  onProgress?: (run: BillingRunRow) => void;
  /** Called after each committed chunk; tests throw here to simulate a crash between chunks. */
  afterChunk?: (chunksDone: number) => void;
}

export const DEFAULT_CHUNK_SIZE = 100_000;

/**
 * A run's chunk size, checked before the run is opened: it is fixed on the run, so a zero would leave
 * the run unable to plan its chunks on every resume, and a negative one would complete it with no bill.
 */
export function requireChunkSize(value: number | string): number {
  const n = typeof value === 'number' ? value : /^\s*\d{1,7}\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > 1_000_000) {
    throw new AppError('BILLING_CHUNK_SIZE_INVALID', `the chunk size is a whole number of customers from 1 to 1,000,000, got '${value}'`);
  }
  return n;
}

/** Validate and open (or find) the run keyed (cycle, period) without executing it. */
export async function openBillingRun(ctx: AppContext, opts: BillingRunOptions): Promise<BillingRunRow> {
  assertPeriod(opts.period);
  if (opts.chunkSize !== undefined) requireChunkSize(opts.chunkSize);
  const cycle = await findCycle(ctx.db, opts.cycle);
  if (!cycle) throw new AppError('BILLING_CYCLE_UNKNOWN', `no billing cycle ${opts.cycle}`, 404);
  const bounds = periodBounds(cycle.reading_day, opts.period);
  if (today(ctx.clock) < bounds.end) {
    throw new AppError('BILLING_PERIOD_NOT_ENDED', `period ${opts.period} of ${opts.cycle} ends on its reading day ${bounds.end}; bill it from then`, 409);
  }
  return openRun(ctx.db, {
    cycle: opts.cycle, bounds, readingsSource: await readingsSource(ctx.db), chunkSize: opts.chunkSize ?? DEFAULT_CHUNK_SIZE,
    at: ctx.clock.now(), by: opts.startedBy ?? 'system',
  });
}

/** One batch step in its own transaction, its sorts and hashes in memory. */
async function batch<T>(ctx: AppContext, fn: (trx: Db) => Promise<T>): Promise<T> {
  return ctx.db.transaction().execute(async (trx) => {
    await sql`SET LOCAL work_mem = '256MB'`.execute(trx);
    return fn(trx);
  });
}

/**
 * Run (or resume) the billing run of a cycle and period: stage inputs, then rate, check and
 * release chunk by chunk. Each step commits on its own, so a crash at any point resumes where it
 * stopped; a completed run is returned unchanged.
 */
export async function runBilling(ctx: AppContext, opts: BillingRunOptions): Promise<BillingRunRow> {
  return continueBillingRun(ctx, await openBillingRun(ctx, opts), opts);
}

export async function continueBillingRun(
  ctx: AppContext, opened: BillingRunRow, opts: Pick<BillingRunOptions, 'onProgress' | 'afterChunk' | 'concurrency'> = {},
): Promise<BillingRunRow> {
  let run = opened;
  const reload = async () => (run = (await findRun(ctx.db, run.id))!);
  if (run.status === 'completed') return run;
  const workers = Math.max(1, opts.concurrency ?? (ctx.database.engine === 'postgres' ? 2 : 1));
  // a server crash empties the (unlogged) staged inputs of a run still rating: stage them again
  if (run.status === 'rating' && (await restageIfLost(ctx.db, run.id))) await reload();
  if (run.status === 'preparing') {
    // Stage inputs in slices of the customer ids, one per worker at once (the first start fixes the
    // slice bounds on the run, so every start and resume agrees on them), then close staging.
    const slices = await stageSlices(ctx.db, run, ctx.database.engine === 'postgres' ? 2 : 1);
    await runAll(slices.map((slice) => () => batch(ctx, (trx) => stageSlice(trx, run, slice))), workers);
    // the staged rows are indexed and counted at once, on two connections where there are two
    await runAll([() => batch(ctx, (trx) => indexStaging(trx, run)), () => batch(ctx, (trx) => countStaging(trx, run))], workers);
    await batch(ctx, (trx) => finishStaging(trx, run));
    await reload();
    opts.onProgress?.(run);
  } else {
    // a run staged before its chunks were recorded
    await planChunks(ctx.db, run.id);
  }
  const staged = run;
  // Each worker claims an open chunk, rates it and marks it done in one transaction, until none is
  // left; a failing worker stops the others after their chunk in flight, then the run fails as a whole.
  let failed = false;
  const worker = async () => {
    while (!failed) {
      const done = await batch(ctx, async (trx) => {
        const chunk = await claimChunk(trx, staged.id);
        if (!chunk) return false;
        const { created, held } = await rateChunk(trx, staged, chunk.lo, chunk.hi, ctx.clock.now(), today(ctx.clock));
        await finishChunk(trx, staged.id, chunk, created, held, ctx.clock.now());
        return true;
      });
      if (!done) return;
      const now = (await findRun(ctx.db, staged.id))!;
      opts.onProgress?.(now);
      try {
        opts.afterChunk?.(now.chunks_done);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: workers }, () => worker().catch((e: unknown) => {
    failed = true;
    throw e;
  })));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  await completeRun(ctx.db, run, ctx.clock.now());
  await reload();
  opts.onProgress?.(run);
  ctx.log.info({ runId: run.id, cycle: run.cycle_code, period: run.period, bills: run.bills_created, held: run.bills_held }, 'billing run completed');
  return run;
}

/** Share of the run's chunks already rated (0..1). */
function progressOf(r: BillingRunRow): number {
  if (r.status === 'completed') return 1;
  if (r.status === 'preparing' || r.chunks_total === 0) return 0;
  return Math.min(1, r.chunks_done / r.chunks_total);
}

export function runToDto(r: BillingRunRow) {
  return {
    id: r.id, cycle: r.cycle_code, period: r.period, periodStart: r.period_start, periodEnd: r.period_end, status: r.status,
    readingsSource: r.readings_source, customersTotal: r.customers_total, customersSkipped: r.customers_skipped,
    chunksDone: r.chunks_done, chunksTotal: r.chunks_total, billsCreated: r.bills_created, billsHeld: r.bills_held, billsReleased: r.bills_released,
    progress: Math.round(progressOf(r) * 10_000) / 10_000, startedAt: r.started_at, finishedAt: r.finished_at, startedBy: r.started_by,
  };
}
