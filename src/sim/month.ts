/**
 * `zerotouch simulate`: the reform's month, headless and as fast as the machine allows. Every day:
 * the head-end delivers the day's readings, the day-end schedule runs (metering, billing on reading
 * days, ledger, dunning, KPIs), notices go out through the real channel simulators, and customers,
 * collection teams and community managers act. The report is computed from the database afterwards.
 */
import { sql } from 'kysely';
import { addDays, type AppContext, type SimulatedClock } from '../platform/index.ts';
import { addMonths } from '../billing/index.ts';
import { runBusinessDay } from '../flows/business-day.ts';
import { FaultIndex, parseFaultRates, randomFaults } from './concentrator-faults.ts';
import { loadFleet } from './concentrator-fleet.ts';
import { deliverHeadEndDay, headEndMeters } from './head-end.ts';
import { customersPay, gridManagersWork, teamsReRead } from './behaviour.ts';
import { startRuntime, type Runtime } from './runtime.ts';
import { simulationReport, type SimulationReport } from './report.ts';

export interface SimulateOptions {
  months: number;
  seed: number;
  /** First simulated day (Shanghai date). */
  start: string;
  /** Days after the last billing month for the chase to finish (no new bills). */
  tailDays: number;
  faults: string;
  onDay?: (day: string, ms: number) => void;
}

export const DEFAULT_FAULTS = 'unreachable=0.01:3,offline=0.003,drift=0.001:30,backwards=0.0005:50';
const DAYTIME_HOURS = [9, 13, 17];

async function dispatchAll(runtime: Runtime): Promise<void> {
  // claim and send until the outbox has nothing due at this business time, then let receipts land
  while ((await runtime.dispatcher.runOnce()) > 0);
  await new Promise((r) => setTimeout(r, 150));
  await runtime.dispatcher.flushReports();
}

const at = (day: string, hour: number) => new Date(`${day}T${String(hour).padStart(2, '0')}:00:00+08:00`);

export async function simulateMonths(ctx: AppContext & { clock: SimulatedClock }, opts: SimulateOptions): Promise<SimulationReport> {
  const started = performance.now();
  const fleet = await loadFleet(ctx.db);
  const faults = new FaultIndex(randomFaults(fleet, parseFaultRates(opts.faults), opts.seed, opts.start));
  const addresses = new Map((await sql<{ id: number; comm_address: string }>`SELECT id, comm_address FROM meter`.execute(ctx.db)).rows.map((r) => [Number(r.id), r.comm_address]));
  const meters = headEndMeters(fleet, addresses, faults);
  const billingEnd = addDays(`${addMonths(opts.start.slice(0, 7), opts.months)}${opts.start.slice(7)}`, -1);
  const end = addDays(billingEnd, opts.tailDays);

  // history the first bills need: the previous month's reading days and the day before the start
  ctx.clock.set(at(opts.start, 0));
  const prev = addMonths(opts.start.slice(0, 7), -1);
  for (const day of [...[1, 11, 21].map((d) => `${prev}-${String(d).padStart(2, '0')}`), ...[1, 11, 21].map((d) => `${opts.start.slice(0, 7)}-${String(d).padStart(2, '0')}`).filter((d) => d < opts.start), addDays(opts.start, -1)]) {
    await deliverHeadEndDay(ctx, opts.seed, meters, faults, day);
  }

  const runtime = await startRuntime(ctx, { port: 0, host: '127.0.0.1', seed: opts.seed });
  try {
    for (let day = opts.start; day <= end; day = addDays(day, 1)) {
      const t0 = performance.now();
      for (const hour of DAYTIME_HOURS) {
        ctx.clock.set(at(day, hour));
        await dispatchAll(runtime);
        await customersPay(ctx, opts.seed);
        await teamsReRead(ctx, opts.seed, opts.seed);
        await gridManagersWork(ctx, opts.seed);
      }
      // after midnight the day's frozen registers arrive, then the day-end schedule runs
      ctx.clock.set(new Date(at(addDays(day, 1), 0).getTime() + 30 * 60_000));
      await deliverHeadEndDay(ctx, opts.seed, meters, faults, day);
      await runBusinessDay(ctx, day, { billing: day <= billingEnd });
      opts.onDay?.(day, Math.round(performance.now() - t0));
    }
    await dispatchAll(runtime);
  } finally {
    await runtime.stop();
  }
  return simulationReport(ctx, { from: opts.start, billingEnd, to: end, seconds: (performance.now() - started) / 1000 });
}
