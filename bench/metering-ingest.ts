/**
 * File/COPY ingest of readings into the PostgreSQL server (issue 3: ≥ 300,000 readings/s).
 * Seeds N meters, writes a head-end CSV of D days of full registers, ingests it, then ingests it again
 * (idempotent rerun) and checks the counts.
 *   npx tsx bench/metering-ingest.ts [--customers 300000] [--days 4] [--reuse]
 * With --reuse the seeded province is cloned from a template database (zt_tpl_metering_ingest_N), prepared once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { createLogger, loadConfig, SimulatedClock, type AppContext } from '../src/platform/index.ts';
import { seedProvince } from '../src/sim/seed.ts';
import { meterAddressOf } from '../src/sim/province.ts';
import { ensureReadingPartitions, ingestReadingsFile } from '../src/metering/index.ts';
import { arg, preparedDatabase, report } from './support.ts';
import { cpuMeter, cpuText } from './metering-cpu.ts';

const customers = arg('customers', 300_000);
const days = arg('days', 4);
const database = await preparedDatabase('zt_bench_metering_ingest', `zt_tpl_metering_ingest_${customers}`, async (db) => {
  const seedStarted = performance.now();
  await seedProvince(db, { customers, seed: 1, since: '2025-01-01' });
  process.stderr.write(`seeded ${customers} in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s\n`);
  await sql`ANALYZE`.execute(db.db);
});
try {
  await sql`ANALYZE`.execute(database.db);
  const ctx: AppContext = { database, db: database.db, clock: new SimulatedClock('2026-01-10T10:00:00+08:00'), log: createLogger('bench'), config: loadConfig() };
  await ensureReadingPartitions(database.db, '2026-01-01', '2026-01-31');

  const file = path.join(os.tmpdir(), `zt-bench-readings-${process.pid}.csv`);
  const out = fs.openSync(file, 'w');
  fs.writeSync(out, 'meter,date,total,sharp,peak,flat,valley\n');
  for (let d = 0; d < days; d++) {
    const date = `2026-01-${String(6 + d).padStart(2, '0')}`;
    let buf = '';
    for (let i = 0; i < customers; i++) {
      const total = 1000 + (i % 97) + d * 8.25;
      buf += `${meterAddressOf(i)},${date},${total.toFixed(2)},${(total * 0.1).toFixed(2)},${(total * 0.3).toFixed(2)},${(total * 0.4).toFixed(2)},${(total * 0.2).toFixed(2)}\n`;
      if (buf.length > 1 << 22) fs.writeSync(out, buf), (buf = '');
    }
    fs.writeSync(out, buf);
  }
  fs.closeSync(out);
  const rows = customers * days;

  const load0 = fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  let cpu = await cpuMeter(database.db);
  let t = performance.now();
  const first = await ingestReadingsFile(ctx, file);
  const firstS = (performance.now() - t) / 1000;
  const firstCpu = await cpu();
  cpu = await cpuMeter(database.db);
  t = performance.now();
  const again = await ingestReadingsFile(ctx, file);
  const againS = (performance.now() - t) / 1000;
  const againCpu = await cpu();
  const load1 = fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  const stored = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM meter_reading`.execute(database.db)).rows[0]!.n;
  const quarantined = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM reading_quarantine`.execute(database.db)).rows[0]!.n;
  fs.rmSync(file);
  report(`metering file ingest on postgres: ${customers.toLocaleString('en')} meters x ${days} days`, {
    'readings in file': rows.toLocaleString('en'),
    'first ingest (s)': firstS.toFixed(2),
    'first ingest readings/s': Math.round(rows / firstS).toLocaleString('en'),
    'first ingest CPU': cpuText(firstCpu),
    'first ingest readings per pg CPU s': firstCpu.pg ? Math.round(rows / firstCpu.pg).toLocaleString('en') : 'n/a',
    'rerun (idempotent) (s)': againS.toFixed(2),
    'rerun readings/s': Math.round(rows / againS).toLocaleString('en'),
    'rerun CPU': cpuText(againCpu),
    'machine load (1 min) before / after': `${load0} / ${load1} on ${os.cpus().length} cores`,
    'stored / quarantined (reported)': `${first.stored} / ${first.quarantined}; rerun ${again.stored} / ${again.quarantined}`,
    'meter_reading rows / quarantine rows': `${stored} / ${quarantined}`,
    integrity: stored === rows && quarantined === 0 && first.stored === rows ? 'ok' : 'MISMATCH',
    target: '>= 300,000 readings/s',
  });
} finally {
  await database.close();
}
