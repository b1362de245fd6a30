/**
 * The headless month (`zerotouch simulate`) on a fresh PostgreSQL server database: seed, simulate
 * `--months` billing months plus the chase tail, print the report and where the time went, per day
 * and per phase (head-end delivery, the day-end schedule's steps, notice dispatch, simulated people).
 * Target (issue 9): 1,000,000 customers × 1 month under 10 minutes.
 *
 *   LOG_LEVEL=warn npx tsx bench/simulate.ts [--customers 1000000] [--months 1] [--tail-days 35] [--seed 1] [--engine postgres|pglite]
 */
import { createLogger, loadConfig, SimulatedClock, type AppContext } from '../src/platform/index.ts';
import { seedProvince } from '../src/sim/seed.ts';
import { DEFAULT_FAULTS, simulateMonths, type PhaseMs, type SimulationTimings } from '../src/sim/month.ts';
import { reportTable } from '../src/sim/report.ts';
import { arg, argString, benchDatabase, pgliteDatabase, report } from './support.ts';

const customers = arg('customers', 1_000_000);
const months = arg('months', 1);
const tailDays = arg('tail-days', 35);
const seed = arg('seed', 1);
const engine = argString('engine', 'postgres');
const start = argString('start', '2026-01-01');
/** Stop after this many days (to profile the first days of a large province); 0: the whole month and tail. */
const days = arg('days', 0);

const secs = (ms: number) => (ms / 1000).toFixed(1);
const sum = (p: PhaseMs) => Object.values(p).reduce((a, b) => a + b, 0);

/** Phases whose name has no dot, plus the day-end steps; `day.dunning.*` are inside `day.dunning`, `day.metering.*` inside `day.metering`. */
const nested = (k: string) => k.split('.').length > 2;
function totals(days: SimulationTimings['days']): PhaseMs {
  const t: PhaseMs = {};
  for (const d of days) for (const [k, v] of Object.entries(d.phases)) t[k] = (t[k] ?? 0) + v;
  return t;
}

async function main() {
  const database = engine === 'pglite' ? await pgliteDatabase() : await benchDatabase('zt_bench_simulate');
  const clock = new SimulatedClock(`${start}T00:00:00+08:00`);
  const ctx: AppContext & { clock: SimulatedClock } = { database, db: database.db, clock, log: createLogger('bench'), config: { ...loadConfig(), port: 0 } };
  try {
    const t0 = performance.now();
    await seedProvince(database, { customers, seed, since: '2025-01-01' });
    const seedMs = performance.now() - t0;
    process.stderr.write(`seeded ${customers} customers on ${database.engine} in ${secs(seedMs)} s\n`);

    const timings: SimulationTimings = { setup: {}, days: [], reportMs: 0 };
    const t1 = performance.now();
    const r = await simulateMonths(ctx, {
      months, seed, start, tailDays, faults: DEFAULT_FAULTS, timings, ...(days ? { days } : {}),
      onDay: (day, ms, phases) => {
        const top = Object.entries(phases).filter(([k]) => !nested(k)).sort((a, b) => b[1] - a[1]).slice(0, 4);
        process.stderr.write(`  ${day} ${secs(ms).padStart(6)} s  ${top.map(([k, v]) => `${k} ${secs(v)}`).join(', ')}\n`);
      },
    });
    const simMs = performance.now() - t1;
    process.stdout.write(`\n${reportTable(r)}\n`);

    const all = totals(timings.days);
    const dayMs = timings.days.reduce((a, d) => a + d.ms, 0);
    const billingDays = timings.days.filter((d) => d.day <= r.window.billingEnd);
    const tail = timings.days.filter((d) => d.day > r.window.billingEnd);
    const dayTotal = (list: typeof timings.days) => list.reduce((a, d) => a + d.ms, 0);
    report(`simulate: ${customers} customers × ${months} month(s) + ${tailDays} tail days on ${database.engine}`, {
      'seed (s)': secs(seedMs),
      'simulation wall (s)': secs(simMs),
      'setup (s)': `${secs(sum(timings.setup))}  (${Object.entries(timings.setup).map(([k, v]) => `${k} ${secs(v)}`).join(', ')})`,
      'days (s)': `${secs(dayMs)} over ${timings.days.length} days, mean ${secs(dayMs / timings.days.length)}, slowest ${secs(Math.max(...timings.days.map((d) => d.ms)))}`,
      'billing-month days (s)': `${secs(dayTotal(billingDays))} over ${billingDays.length} days`,
      'tail days (s)': `${secs(dayTotal(tail))} over ${tail.length} days`,
      'report (s)': secs(timings.reportMs),
    });
    const phases = Object.entries(all).filter(([k]) => !nested(k)).sort((a, b) => b[1] - a[1]);
    report('time per phase over all days (s, share of day time)', Object.fromEntries(phases.map(([k, v]) => [k, `${secs(v).padStart(8)}  ${((v / dayMs) * 100).toFixed(1)}%`])));
    for (const step of ['metering', 'dunning', 'kpis']) {
      const inside = Object.entries(all).filter(([k]) => k.startsWith(`day.${step}.`)).sort((a, b) => b[1] - a[1]);
      report(`inside the ${step} step (s)`, Object.fromEntries(inside.map(([k, v]) => [k.slice(`day.${step}.`.length), secs(v)])));
    }
    if (timings.dispatcher) {
      const { claimParts, sendByChannel, ...d } = timings.dispatcher;
      report('notice dispatcher (counts; ms are summed over its concurrent workers)', {
        ...Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Math.round(v)])),
        ...Object.fromEntries(Object.entries(claimParts).map(([k, v]) => [`claim.${k}`, Math.round(v)])),
        ...Object.fromEntries(Object.entries(sendByChannel).map(([k, v]) => [`send.${k}`, `${v.messages} messages in ${Math.round(v.ms)} ms`])),
      });
    }
    const scale = 1_000_000 / customers;
    report('linear extrapolation to 1,000,000 customers (assumes every phase scales with customers; it does not for fixed per-call costs)', {
      'billing month + tail (min)': ((simMs * scale) / 60_000).toFixed(1),
      'billing month only (min)': ((dayTotal(billingDays) * scale) / 60_000).toFixed(1),
    });
  } finally {
    await database.close();
  }
}

await main();
