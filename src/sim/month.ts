/**
 * `zerotouch simulate`: the reform's month, headless and as fast as the machine allows. Every day:
 * the head-end delivers the day's readings, the day-end schedule runs (metering, billing on reading
 * days, ledger, dunning, KPIs), notices go out through the real channel simulators, and customers,
 * collection teams and community managers act. The report is computed from the database afterwards.
 */
import { sql } from 'kysely';
import { addDays, analyzeChangedTables, stepTimer, type AppContext, type SimulatedClock } from '../platform/index.ts';
import { addMonths } from '../billing/index.ts';
import { runBusinessDay } from '../flows/business-day.ts';
import { reconnectAfterPayment } from '../flows/dunning-suspension.ts';
import { FaultIndex, parseFaultRates, randomFaults } from './concentrator-faults.ts';
import { loadFleet } from './concentrator-fleet.ts';
import { deliverHeadEndDay, headEndMeters } from './head-end.ts';
import { crewsSwitchSupply, customersPay, gridManagersWork, teamsReRead } from './behaviour.ts';
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
  /** Stop after this many days (a benchmark profiling the first days of a large province). */
  days?: number;
  onDay?: (day: string, ms: number, phases: PhaseMs) => void;
  /** Filled with where the time went, when given (the benchmark reads it). */
  timings?: SimulationTimings;
}

/** Milliseconds per phase; day-end schedule steps are prefixed `day.` (`day.billing`, `day.metering.vee`, `day.dunning.notices`). */
export type PhaseMs = Record<string, number>;

export interface SimulationTimings {
  /** Before the first day: fleet and fault plan, history readings, runtime start. */
  setup: PhaseMs;
  days: { day: string; ms: number; phases: PhaseMs }[];
  reportMs: number;
  /** The notice dispatcher's own counts and where its time went (claims, channel sends, recording). */
  dispatcher?: Runtime['dispatcher']['stats'];
}

/** Runs `fn`, adding its wall time to `into[phase]`. */
const timed = <T>(into: PhaseMs, phase: string, fn: () => Promise<T>): Promise<T> => stepTimer(into).timed(phase, fn);

/** 0.3 % of the meters out of reach on any day (spells of 3 days), 0.3 % of the concentrators out of service (repaired after 3 days), clocks and registers gone wrong. */
export const DEFAULT_FAULTS = 'unreachable=0.003:3,offline=0.003:3,drift=0.001:30,backwards=0.0005:50';
const DAYTIME_HOURS = [9, 13, 17];

/** PostgreSQL's deadlock and serialization failures: the transaction was rolled back and may simply be retried. */
const RETRYABLE = new Set(['40P01', '40001']);

async function dispatchAll(runtime: Runtime): Promise<void> {
  // claim and send until the outbox has nothing due at this business time, then let receipts land; the
  // dispatcher's own workers claim at the same time, and a claim that lost a deadlock to them is retried
  let sent = 0;
  for (let attempt = 0; ; ) {
    try {
      const n = await runtime.dispatcher.runOnce();
      if (n === 0) break;
      sent += n;
    } catch (e) {
      if (!RETRYABLE.has((e as { code?: string }).code ?? '') || ++attempt > 5) throw e;
    }
  }
  if (sent) await new Promise((r) => setTimeout(r, 150));
  await runtime.dispatcher.flushReports();
}

const at = (day: string, hour: number) => new Date(`${day}T${String(hour).padStart(2, '0')}:00:00+08:00`);

export async function simulateMonths(ctx: AppContext & { clock: SimulatedClock }, opts: SimulateOptions): Promise<SimulationReport> {
  const started = performance.now();
  const timings: SimulationTimings = opts.timings ?? { setup: {}, days: [], reportMs: 0 };
  const setup = timings.setup;
  const { meters, faults } = await timed(setup, 'fleet', async () => {
    const fleet = await loadFleet(ctx.db);
    const faults = new FaultIndex(randomFaults(fleet, parseFaultRates(opts.faults), opts.seed, opts.start));
    const addresses = new Map((await sql<{ id: number; comm_address: string }>`SELECT id, comm_address FROM meter`.execute(ctx.db)).rows.map((r) => [Number(r.id), r.comm_address]));
    return { meters: headEndMeters(fleet, addresses, faults), faults };
  });
  const billingEnd = addDays(`${addMonths(opts.start.slice(0, 7), opts.months)}${opts.start.slice(7)}`, -1);
  const end = opts.days ? addDays(opts.start, opts.days - 1) : addDays(billingEnd, opts.tailDays);

  // history the first bills need: the previous month's reading days and the day before the start
  ctx.clock.set(at(opts.start, 0));
  const prev = addMonths(opts.start.slice(0, 7), -1);
  for (const day of [...[1, 11, 21].map((d) => `${prev}-${String(d).padStart(2, '0')}`), ...[1, 11, 21].map((d) => `${opts.start.slice(0, 7)}-${String(d).padStart(2, '0')}`).filter((d) => d < opts.start), addDays(opts.start, -1)]) {
    await timed(setup, 'history', () => deliverHeadEndDay(ctx, opts.seed, meters, faults, day));
  }

  // the day-end refreshes the statistics of what its steps filled; the history is loaded before any day-end
  await timed(setup, 'analyze', () => analyzeChangedTables(ctx.db));
  const runtime = await timed(setup, 'runtime', () => startRuntime(ctx, { port: 0, host: '127.0.0.1', seed: opts.seed }));
  try {
    for (let day = opts.start; day <= end; day = addDays(day, 1)) {
      const t0 = performance.now();
      const phases: PhaseMs = {};
      for (const hour of DAYTIME_HOURS) {
        ctx.clock.set(at(day, hour));
        await timed(phases, 'dispatch', () => dispatchAll(runtime));
        // who pays is decided per business day (notices of earlier days, days since the bill), so once a day is enough
        if (hour === DAYTIME_HOURS[0]) await timed(phases, 'customersPay', () => customersPay(ctx, opts.seed));
        await timed(phases, 'teamsReRead', () => teamsReRead(ctx, opts.seed, opts.seed));
        await timed(phases, 'gridManagersWork', () => gridManagersWork(ctx, opts.seed));
        await timed(phases, 'crewsSwitchSupply', () => crewsSwitchSupply(ctx, opts.seed, opts.seed));
        // a suspended customer who paid (online, or to the grid manager) gets the reconnect within hours, not at the day-end
        await timed(phases, 'reconnect', () => reconnectAfterPayment(ctx));
      }
      // after midnight the day's frozen registers arrive, then the day-end schedule runs
      ctx.clock.set(new Date(at(addDays(day, 1), 0).getTime() + 30 * 60_000));
      await timed(phases, 'headEnd', () => deliverHeadEndDay(ctx, opts.seed, meters, faults, day));
      const result = await runBusinessDay(ctx, day, { billing: day <= billingEnd });
      for (const [step, ms] of Object.entries(result.stepMs)) phases[`day.${step}`] = ms;
      for (const [step, ms] of Object.entries(result.metering.stepMs)) phases[`day.metering.${step}`] = ms;
      for (const [family, ms] of Object.entries(result.kpiMs)) phases[`day.kpis.${family}`] = ms;
      for (const [step, ms] of Object.entries(result.dunning.stepMs)) phases[`day.dunning.${step}`] = ms;
      const ms = Math.round(performance.now() - t0);
      timings.days.push({ day, ms, phases });
      opts.onDay?.(day, ms, phases);
    }
    await dispatchAll(runtime);
  } finally {
    await runtime.stop();
    timings.dispatcher = runtime.dispatcher.stats;
  }
  const t0 = performance.now();
  const report = await simulationReport(ctx, { from: opts.start, billingEnd, to: end, seconds: (performance.now() - started) / 1000 });
  timings.reportMs = Math.round(performance.now() - t0);
  return report;
}
