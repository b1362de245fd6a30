/**
 * The metering part of the daily schedule for one reading day: read-success rollup, VEE with cycle
 * estimates, then re-read tasks (late readings close theirs first, then new gaps open theirs).
 */
import { stepTimer, type AppContext } from '../platform/index.ts';
import { analyzeReadingDay, estimateCycleReadings, ensureReadingPartitions, loadMeteringPolicy, rollupReadSuccess, runVeeRules, summarizeReadingDays } from '../metering/index.ts';
import { closeReReadTasks, openReReadTasks } from './metering-reread.ts';

export interface MeteringDayResult {
  day: string;
  rollupRows: number;
  flags: Awaited<ReturnType<typeof runVeeRules>>;
  estimated: Awaited<ReturnType<typeof estimateCycleReadings>>;
  /** closedOutOfScope: tasks cancelled because the meter came off unread or its account closed. */
  reReadTasks: { opened: number; closedManual: number; closedAutomatic: number; closedOutOfScope: number };
  /** Milliseconds per step. */
  stepMs: Record<string, number>;
}

/** Idempotent: running a day twice changes nothing the first run did not. */
export async function runMeteringDay(ctx: AppContext, day: string): Promise<MeteringDayResult> {
  const at = ctx.clock.now();
  const { stepMs, timed } = stepTimer();
  const policy = await loadMeteringPolicy(ctx.db);
  await ensureReadingPartitions(ctx.db, day, day);
  await timed('statistics', () => analyzeReadingDay(ctx.db, day));
  await timed('summarize', () => summarizeReadingDays(ctx.db));
  const rollupRows = await timed('rollup', () => rollupReadSuccess(ctx.db, day, at));
  const flags = await timed('vee', () => runVeeRules(ctx.db, day, at, policy));
  const estimated = await timed('estimate', () => estimateCycleReadings(ctx.db, day, at, policy));
  const closed = await timed('rereadClose', () => closeReReadTasks(ctx));
  const opened = await timed('rereadOpen', () => openReReadTasks(ctx, day));
  return { day, rollupRows, flags, estimated, reReadTasks: { opened: opened.opened, closedManual: closed.manual, closedAutomatic: closed.automatic, closedOutOfScope: closed.outOfScope }, stepMs };
}
