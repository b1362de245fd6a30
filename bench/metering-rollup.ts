/**
 * Daily read-success rollup (issue 3: 1M meters < 5 s) on the PostgreSQL server. Seeds N meters, loads a
 * day of readings for 98% of them by COPY, and times rollupReadSuccess (area, concentrator, team, org).
 *   npx tsx bench/metering-rollup.ts [--customers 1000000]
 */
import { sql } from 'kysely';
import { openDatabase } from '../src/platform/index.ts';
import { seedProvince } from '../src/sim/seed.ts';
import { ensureReadingPartitions, rollupReadSuccess } from '../src/metering/index.ts';
import { arg, benchDatabase, report, SERVER_URL } from './support.ts';
import { cpuMeter, cpuText } from './metering-cpu.ts';
import os from 'node:os';
import fs from 'node:fs';

const customers = arg('customers', 1_000_000);
// --reuse: time the rollup on the database a previous run left (seeding a million customers takes minutes)
const reuse = process.argv.includes('--reuse');
const database = reuse ? await reuseDatabase('zt_bench_metering_rollup') : await benchDatabase('zt_bench_metering_rollup');
try {
  let t = performance.now();
  const at = new Date('2026-01-10T02:00:00Z');
  if (!reuse) await seedProvince(database, { customers, seed: 1, since: '2025-01-01' });
  const seedS = (performance.now() - t) / 1000;
  await ensureReadingPartitions(database.db, '2026-01-01', '2026-01-31');
  if (!reuse) await database.copyFrom('meter_reading', ['meter_id', 'reading_date', 'total_kwh', 'quality', 'source', 'received_at'], (function* () {
    for (let id = 1; id <= customers; id++) if (id % 50 !== 0) yield [id, '2026-01-10', 1000 + (id % 113), 'actual', 'frontend', at.toISOString()];
  })());
  await sql`ANALYZE`.execute(database.db);
  const runs: number[] = [];
  const cpus: string[] = [];
  const load0 = fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  for (let k = 0; k < 3; k++) {
    const cpu = await cpuMeter(database.db);
    t = performance.now();
    await rollupReadSuccess(database.db, '2026-01-10', at);
    runs.push((performance.now() - t) / 1000);
    cpus.push(cpuText(await cpu()));
  }
  const load1 = fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  const hq = (await sql<{ meters: number; read: number }>`
    SELECT rs.meters, rs.read FROM read_success_daily rs JOIN org_unit o ON o.id = rs.scope_id
    WHERE rs.day = '2026-01-10' AND rs.scope_kind = 'org' AND o.level = 'hq'`.execute(database.db)).rows[0]!;
  const kinds = (await sql<{ kind: string; n: number }>`SELECT scope_kind AS kind, count(*)::int AS n FROM read_success_daily GROUP BY 1 ORDER BY 1`.execute(database.db)).rows;
  const expectedRead = customers - Math.floor(customers / 50);
  report(`read-success rollup on postgres: ${customers.toLocaleString('en')} meters`, {
    'seed (s)': reuse ? 'reused' : seedS.toFixed(1),
    'rollup runs (s)': runs.map((x) => x.toFixed(2)).join(' / '),
    'rollup runs CPU': cpus.join(' / '),
    'machine load (1 min) before / after': `${load0} / ${load1} on ${os.cpus().length} cores`,
    'scope rows': kinds.map((k) => `${k.kind} ${k.n}`).join(', '),
    'province meters / read': `${hq.meters} / ${hq.read}`,
    integrity: hq.meters === customers && hq.read === expectedRead ? 'ok' : 'MISMATCH',
    target: '< 5 s for 1M meters',
  });
} finally {
  await database.close();
}

async function reuseDatabase(name: string) {
  const u = new URL(SERVER_URL);
  u.pathname = `/${name}`;
  return openDatabase({ databaseUrl: u.toString() });
}
