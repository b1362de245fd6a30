/**
 * Front-end benchmark (issue 3): one day of daily frozen readings (AFN 0D F161) for the seeded
 * province's concentrators, collected over loopback TCP from the concentrator simulator and stored
 * in the PostgreSQL server. Target: 1,000 concentrators × 300 meters in < 60 s.
 * The concentrators run in a worker thread (they are the field, not the front-end); --same-thread puts
 * them on the front-end's event loop as before.
 *   npx tsx bench/metering-frontend.ts [--customers 300000] [--window 1] [--pns 64] [--same-thread] [--reuse]
 * --reuse keeps the seeded province as a template database (`zt_bench_metering_frontend_seed_<customers>`)
 * and clones it for each run, so repeated runs skip the seeding; drop the template when done.
 */
import { sql } from 'kysely';
import { createLogger, loadConfig, Rng, SimulatedClock, type AppContext, type Database } from '../src/platform/index.ts';
import { seedProvince } from '../src/sim/seed.ts';
import { startFrontend } from '../src/metering/frontend/index.ts';
import { loadFleet } from '../src/sim/concentrator-fleet.ts';
import { startConcentratorSimulator } from '../src/sim/concentrators.ts';
import { startConcentratorSimulatorWorker } from '../src/sim/concentrator-worker.ts';
import fs from 'node:fs';
import os from 'node:os';
import { dailyFrozenRegisters } from '../src/sim/meter-model.ts';
import { arg, preparedDatabase, report } from './support.ts';
import { cpuMeter, cpuText } from './metering-cpu.ts';

process.env.LOG_LEVEL ??= 'warn';
const DAY = '2026-01-14';
const SEED = 1;
const customers = arg('customers', 300_000);

const NAME = 'zt_bench_metering_frontend';
async function seeded(database: Database): Promise<void> {
  const t = performance.now();
  const s = await seedProvince(database, { customers, seed: 1, since: '2025-01-01' });
  await sql`ANALYZE`.execute(database.db);
  process.stderr.write(`seeded ${customers} customers, ${s.transformerAreas} concentrators in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
}

const database = await preparedDatabase(NAME, `${NAME}_seed_${customers}`, seeded);
try {
  let t = performance.now();

  const ctx: AppContext = {
    database, db: database.db, clock: new SimulatedClock(`2026-01-15T01:00:00+08:00`), log: createLogger('bench'), config: loadConfig({}),
  };
  const fleet = await loadFleet(ctx.db);
  const fe = await startFrontend(ctx, {
    port: 0, host: '127.0.0.1', scheduleEveryMs: 0,
    collect: { window: arg('window', 1), pnsPerRequest: arg('pns', 64), requestTimeoutMs: 15_000, retries: 2 },
  });
  const simOptions = { port: fe.port, concentrators: fleet, seed: SEED, heartbeatMs: 30_000, reconnectMs: 0 };
  const sameThread = process.argv.includes('--same-thread');
  const sim = sameThread
    ? startConcentratorSimulator({ ...simOptions, clock: ctx.clock })
    : startConcentratorSimulatorWorker({ ...simOptions, now: ctx.clock.now().toISOString() });
  t = performance.now();
  await sim.ready;
  const loginS = (performance.now() - t) / 1000;

  const load0 = fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  const cpu = await cpuMeter(ctx.db);
  t = performance.now();
  const summary = await fe.collectDay(DAY);
  const collectS = (performance.now() - t) / 1000;
  const collectCpu = await cpu();
  const load1 = fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0];

  const count = await sql<{ n: number }>`SELECT count(*)::int AS n FROM meter_reading WHERE reading_date = ${DAY}::date AND source = 'frontend'`.execute(ctx.db);
  // integrity: a sample of meters carries exactly what the meter model froze
  const rng = new Rng(9);
  const sample = Array.from({ length: 2000 }, () => rng.pick(rng.pick(fleet).meters));
  const got = await sql<{ meter_id: number; total: string; valley: string }>`
    SELECT meter_id, total_kwh::numeric(16,2)::text AS total, valley_kwh::numeric(16,2)::text AS valley FROM meter_reading
    WHERE reading_date = ${DAY}::date AND meter_id = ANY(${`{${sample.map((m) => m.meterId).join(',')}}`}::bigint[])`.execute(ctx.db);
  const byId = new Map(got.rows.map((r) => [Number(r.meter_id), r]));
  const mismatches = sample.filter((m) => {
    const want = dailyFrozenRegisters(SEED, m, DAY);
    const row = byId.get(m.meterId);
    return !row || row.total !== want.total || row.valley !== want.valley;
  }).length;
  const status = fe.status();
  await sim.stop();
  await fe.stop();

  report(`front-end daily frozen collection over loopback TCP → PostgreSQL: ${fleet.length} concentrators`, {
    'meters in the fleet': fleet.reduce((a, c) => a + c.meters.length, 0).toLocaleString('en'),
    'login of all concentrators (s)': loginS.toFixed(1),
    'collection wall time (s)': collectS.toFixed(1),
    'collection CPU (node: both threads)': cpuText(collectCpu),
    'concentrators on': sameThread ? 'the front-end thread' : 'a worker thread',
    'machine load (1 min) before / after': `${load0} / ${load1} on ${os.cpus().length} cores`,
    'meters/s': Math.round(summary.read / collectS).toLocaleString('en'),
    'meters read / missing': `${summary.read.toLocaleString('en')} / ${summary.missing}`,
    'readings stored for the day (count)': count.rows[0]!.n.toLocaleString('en'),
    'store batches / quarantined': `${status.storeBatches} / ${status.readingsQuarantined}`,
    'frames in / out, request timeouts': `${status.framesIn} / ${status.framesOut}, ${status.requestTimeouts}`,
    'sample of 2,000 meters vs model': mismatches === 0 ? 'all equal' : `${mismatches} MISMATCHES`,
    target: '300,000 meters < 60 s',
  });
} finally {
  await database.close();
}
