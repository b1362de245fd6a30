import { sql } from 'kysely';
import { AppError, today, type AppContext, type Db } from '../platform/index.ts';
import { assertPeriod, periodBounds } from './domain/period.ts';
import {
  completeRun, findCycle, findRun, openRun, prepareRun, rateChunk, readingsSource, type BillingRunRow,
} from './store/run.repository.ts';

export interface BillingRunOptions {
  cycle: string;
  period: string;
  /** Customers (by id range) per transaction; each chunk commits with its progress. */
  chunkSize?: number;
  startedBy?: string;
  onProgress?: (run: BillingRunRow) => void;
  /** Called after each committed chunk; tests throw here to simulate a crash between chunks. */
  afterChunk?: (chunksDone: number) => void;
}

export const DEFAULT_CHUNK_SIZE = 100_000;

/** Validate and open (or find) the run keyed (cycle, period) without executing it. */
export async function openBillingRun(ctx: AppContext, opts: BillingRunOptions): Promise<BillingRunRow> {
  assertPeriod(opts.period);
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

/** One batch step in its own transaction; JIT compilation costs more than it saves on these one-shot statements. */
async function batch<T>(ctx: AppContext, fn: (trx: Db) => Promise<T>): Promise<T> {
  return ctx.db.transaction().execute(async (trx) => {
    await sql`SET LOCAL jit = off`.execute(trx);
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

export async function continueBillingRun(ctx: AppContext, opened: BillingRunRow, opts: Pick<BillingRunOptions, 'onProgress' | 'afterChunk'> = {}): Promise<BillingRunRow> {
  let run = opened;
  const reload = async () => (run = (await findRun(ctx.db, run.id))!);
  if (run.status === 'completed') return run;
  if (run.status === 'preparing') {
    await batch(ctx, (trx) => prepareRun(trx, run));
    await reload();
    opts.onProgress?.(run);
  }
  while (run.next_customer_id !== null && run.last_customer_id !== null && run.next_customer_id <= run.last_customer_id) {
    const lo = run.next_customer_id;
    const hi = lo + run.chunk_size;
    await batch(ctx, (trx) => rateChunk(trx, run, lo, hi, ctx.clock.now(), today(ctx.clock)));
    await reload();
    opts.onProgress?.(run);
    opts.afterChunk?.(run.chunks_done);
  }
  await completeRun(ctx.db, run, ctx.clock.now());
  await reload();
  opts.onProgress?.(run);
  ctx.log.info({ runId: run.id, cycle: run.cycle_code, period: run.period, bills: run.bills_created, held: run.bills_held }, 'billing run completed');
  return run;
}

/** Share of the run's customer id range already rated (0..1). */
function progressOf(r: BillingRunRow): number {
  if (r.status === 'completed') return 1;
  if (r.status === 'preparing' || r.next_customer_id === null || r.first_customer_id === null || r.last_customer_id === null) return 0;
  return Math.min(1, (r.next_customer_id - r.first_customer_id) / (r.last_customer_id - r.first_customer_id + 1));
}

export function runToDto(r: BillingRunRow) {
  return {
    id: r.id, cycle: r.cycle_code, period: r.period, periodStart: r.period_start, periodEnd: r.period_end, status: r.status,
    readingsSource: r.readings_source, customersTotal: r.customers_total, customersSkipped: r.customers_skipped,
    chunksDone: r.chunks_done, billsCreated: r.bills_created, billsHeld: r.bills_held, billsReleased: r.bills_released,
    progress: Math.round(progressOf(r) * 10_000) / 10_000, startedAt: r.started_at, finishedAt: r.finished_at, startedBy: r.started_by,
  };
}
