/**
 * Seed and lookup benchmark (issue 2): `zerotouch seed` of N customers on the PostgreSQL server and on
 * PGlite, and customer lookup p95 by number and by meter address.
 *   npx tsx bench/foundation-seed.ts [--customers 1000000] [--pglite-customers 1000000] [--lookups 2000]
 */
import { sql } from 'kysely';
import { seedProvince } from '../src/sim/seed.ts';
import { customerNumberOf, meterAddressOf } from '../src/sim/province.ts';
import { searchCustomers } from '../src/customers/index.ts';
import { Rng, type Database } from '../src/platform/index.ts';
import { arg, benchDatabase, percentile, pgliteDatabase, report } from './support.ts';

async function lookups(database: Database, customers: number, n: number) {
  const rng = new Rng(42);
  const byNumber: number[] = [];
  const byMeter: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = rng.int(0, customers - 1);
    let t = performance.now();
    const a = await searchCustomers(database.db, { scopePath: '/SGCC/', number: customerNumberOf(k), limit: 10, offset: 0 });
    byNumber.push(performance.now() - t);
    t = performance.now();
    const b = await searchCustomers(database.db, { scopePath: '/SGCC/', meterAddress: meterAddressOf(k), limit: 10, offset: 0 });
    byMeter.push(performance.now() - t);
    if (a.items.length !== 1 || b.items.length !== 1) throw new Error(`lookup of customer ${k} failed`);
  }
  byNumber.sort((x, y) => x - y);
  byMeter.sort((x, y) => x - y);
  return { byNumber: percentile(byNumber, 95).toFixed(2), byMeter: percentile(byMeter, 95).toFixed(2) };
}

async function run(engine: 'postgres' | 'pglite', customers: number, n: number) {
  const database = engine === 'postgres' ? await benchDatabase('zt_bench_seed') : await pgliteDatabase();
  try {
    const r = await seedProvince(database, { customers, seed: 1, since: '2025-01-01' });
    await sql`ANALYZE`.execute(database.db);
    const rows = await sql<{ n: number }>`SELECT (SELECT count(*) FROM customer) + (SELECT count(*) FROM meter) + (SELECT count(*) FROM service_point)
      + (SELECT count(*) FROM contact) + (SELECT count(*) FROM channel_agreement) AS n`.execute(database.db);
    const l = await lookups(database, customers, n);
    report(`seed on ${engine}: ${customers.toLocaleString('en')} customers`, {
      'seed wall time (s)': (r.ms / 1000).toFixed(1),
      'rows loaded': rows.rows[0]!.n.toLocaleString('en'),
      'rows/s': Math.round(rows.rows[0]!.n / (r.ms / 1000)).toLocaleString('en'),
      'grid units / areas / teams': `${r.grids} / ${r.transformerAreas} / ${r.teams}`,
      [`lookup by number p95 (ms, n=${n})`]: l.byNumber,
      [`lookup by meter address p95 (ms, n=${n})`]: l.byMeter,
      target: engine === 'postgres' ? 'seed 1M < 60 s; lookup p95 < 5 ms' : '(reported)',
    });
  } finally {
    await database.close();
  }
}

await run('postgres', arg('customers', 1_000_000), arg('lookups', 2000));
const pgliteCustomers = arg('pglite-customers', 1_000_000);
if (pgliteCustomers > 0) await run('pglite', pgliteCustomers, arg('lookups', 2000));
