/**
 * The day-end schedule of the whole system for one business day, in the order the month flows:
 * watch collection → bill the cycles whose reading day it is → post released bills to the ledger →
 * dun → escalate overdue service orders → roll up the KPIs. Every step is idempotent, so a day
 * re-run after a crash finishes the work without doubling any of it. Between the bulk steps the
 * tables they filled get fresh planner statistics (`analyzeChangedTables`), as autovacuum would a
 * minute later: the next step is planned on what is really there.
 */
import { addDays, analyzeChangedTables, stepTimer, type AppContext } from '../platform/index.ts';
import { cyclesReadOn, runBilling } from '../billing/index.ts';
import { escalateOverdueOrders, reassignForAbsences } from '../work/index.ts';
import { computeKpis } from '../monitoring/index.ts';
import { applyDueCustomerChanges } from '../customers/index.ts';
import { runMeteringDay, type MeteringDayResult } from './metering-day.ts';
import { postReleasedBills } from './payments-post-bills.ts';
import { runDunning, type DunningRunResult } from './dunning-run.ts';
import { verifyContactsReached } from './dunning-escalation.ts';

export interface BusinessDayResult {
  day: string;
  metering: MeteringDayResult;
  billing: { cycle: string; period: string; bills: number; held: number; status: string }[];
  debitsPosted: number;
  dunning: DunningRunResult;
  ordersEscalated: number;
  /** Contacts a notice reached that day or the day before that were not verified yet. */
  contactsVerified: number;
  tasksReassigned: number;
  customerChanges: number;
  ms: number;
  /** Milliseconds per step of the day-end schedule. */
  stepMs: Record<string, number>;
  /** Milliseconds per KPI family of the day's rollup. */
  kpiMs: Record<string, number>;
}

/** `billing: false` skips the cycle runs (a simulation's tail, where the chase finishes without new bills). */
export async function runBusinessDay(ctx: AppContext, day: string, opts: { billing?: boolean } = {}): Promise<BusinessDayResult> {
  const started = performance.now();
  const { stepMs, timed } = stepTimer();
  const analyze = () => timed('statistics', () => analyzeChangedTables(ctx.db));
  await analyze();
  const metering = await timed('metering', () => runMeteringDay(ctx, day));
  const billing: BusinessDayResult['billing'] = [];
  for (const cycle of opts.billing === false ? [] : await cyclesReadOn(ctx.db, Number(day.slice(8, 10)))) {
    const run = await timed('billing', () => runBilling(ctx, { cycle, period: day.slice(0, 7), startedBy: 'schedule' }));
    billing.push({ cycle, period: run.period, bills: run.bills_created, held: run.bills_held, status: run.status });
  }
  if (billing.length) await analyze();
  // business changes effective from tomorrow on take effect once today's periods are billed
  const customerChanges = await timed('customerChanges', () => applyDueCustomerChanges(ctx.db, ctx.clock.now(), addDays(day, 1)));
  const posted = await timed('postBills', () => postReleasedBills(ctx));
  if (posted.posted) await analyze();
  const dunning = await timed('dunning', () => runDunning(ctx, day));
  const contactsVerified = await timed('contacts', () => verifyContactsReached(ctx, day));
  const ordersEscalated = await timed('orders', () => escalateOverdueOrders(ctx, ctx.clock.now()));
  const tasksReassigned = await timed('reassign', () => reassignForAbsences(ctx.db, ctx.clock.now()));
  const kpis = await timed('kpis', () => computeKpis(ctx, day));
  return {
    day, metering, billing, debitsPosted: posted.posted, dunning, contactsVerified, ordersEscalated, tasksReassigned, customerChanges,
    ms: Math.round(performance.now() - started), stepMs, kpiMs: kpis.familyMs,
  };
}
