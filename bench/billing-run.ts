/**
 * Billing run benchmark: a whole province cycle from readings to released bills with lines and review
 * flags, against a bare INSERT … SELECT of the same number of one-line bills measured in the same run.
 *
 *   npx tsx bench/billing-run.ts [--customers 1000000] [--engine postgres|pglite] [--chunk 100000]
 */
import pg from 'pg';
import { sql } from 'kysely';
import {
  createLogger, loadConfig, migrate, openDatabase, SimulatedClock, type AppContext, type Database,
} from '../src/platform/index.ts';
import { seedProvince } from '../src/sim/seed.ts';
import { ensureReadingPartitions } from '../src/metering/index.ts';
import { runBilling } from '../src/billing/index.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : def;
};
const engine = arg('engine', 'postgres');
const customers = Number(arg('customers', engine === 'pglite' ? '100000' : '1000000'));
const chunk = Number(arg('chunk', '100000'));
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DB_NAME = 'zt_bench_billing';

async function open(): Promise<Database> {
  if (engine === 'pglite') return openDatabase({});
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DB_NAME}`);
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${DB_NAME}`;
  return openDatabase({ databaseUrl: u.toString(), poolSize: 4 });
}

const secs = (t0: number) => (performance.now() - t0) / 1000;

async function main() {
  const database = await open();
  await migrate(database);
  let t = performance.now();
  await seedProvince(database, { customers, seed: 1, since: '2025-01-01' });
  console.log(`seeded ${customers} customers on ${engine} in ${secs(t).toFixed(1)} s`);

  // one cycle holds the whole province, so one run bills every customer
  await sql`UPDATE customer SET billing_cycle = 'C01'`.execute(database.db);
  await ensureReadingPartitions(database.db, '2026-01-01', '2026-02-01');
  t = performance.now();
  // start and end registers per meter; TOU customers get peak/flat/valley registers; ~1 in 2000 reads zero
  await sql`
    INSERT INTO meter_reading (meter_id, reading_date, total_kwh, peak_kwh, flat_kwh, valley_kwh, quality, source, received_at)
    SELECT sp.meter_id, d.day, d.base + CASE WHEN d.day = '2026-01-01' THEN 0 ELSE q.kwh END,
      CASE WHEN tou THEN d.base * 0.4 + CASE WHEN d.day = '2026-01-01' THEN 0 ELSE round(q.kwh * 0.4, 2) END END,
      CASE WHEN tou THEN d.base * 0.35 + CASE WHEN d.day = '2026-01-01' THEN 0 ELSE round(q.kwh * 0.35, 2) END END,
      CASE WHEN tou THEN d.base * 0.25 + CASE WHEN d.day = '2026-01-01' THEN 0 ELSE q.kwh - round(q.kwh * 0.4, 2) - round(q.kwh * 0.35, 2) END END,
      CASE WHEN sp.customer_id % 97 = 0 THEN 'estimated' ELSE 'actual' END, 'file', now()
    FROM service_point sp
    JOIN customer c ON c.id = sp.customer_id
    CROSS JOIN LATERAL (SELECT c.tariff_code <> 'RES-TIER' AND c.tariff_code <> 'AGR' AS tou,
      CASE WHEN sp.customer_id % 2000 = 0 THEN 0
           WHEN c.category = 'large_industry' THEN 50000 + (sp.customer_id % 1000) * 97
           WHEN c.category = 'general' THEN 800 + (sp.customer_id % 500) * 7
           ELSE 60 + (sp.customer_id * 7919 % 400) + (sp.customer_id % 13) * 0.37 END AS kwh) q
    CROSS JOIN (VALUES ('2026-01-01'::date, 5000::numeric), ('2026-02-01'::date, 5000::numeric)) AS d(day, base)`.execute(database.db);
  await sql`ANALYZE`.execute(database.db);
  console.log(`readings: ${customers * 2} registers in ${secs(t).toFixed(1)} s`);

  const ctx: AppContext = {
    database, db: database.db, clock: new SimulatedClock('2026-02-02T08:00:00+08:00'), log: createLogger('bench'), config: loadConfig({}),
  };
  t = performance.now();
  let last = t;
  const run = await runBilling(ctx, {
    cycle: 'C01', period: '2026-02', chunkSize: chunk,
    onProgress: (r) => {
      console.log(`  ${r.status === 'rating' && r.chunks_done === 0 ? 'staged inputs' : r.status === 'completed' ? 'released' : `chunk ${r.chunks_done}`}: ${secs(last).toFixed(2)} s`);
      last = performance.now();
    },
  });
  const runSecs = secs(t);

  // the floor: one statement writing the same number of one-line bills, no tariffs, lines or review
  await sql`CREATE TABLE bench_bare_bill (customer_id bigint, period text, amount numeric(14,2))`.execute(database.db);
  t = performance.now();
  await sql`
    INSERT INTO bench_bare_bill (customer_id, period, amount)
    SELECT sp.customer_id, '2026-02', round((e.total_kwh - b.total_kwh) * 0.5, 2)
    FROM service_point sp
    JOIN meter_reading b ON b.meter_id = sp.meter_id AND b.reading_date = '2026-01-01'
    JOIN meter_reading e ON e.meter_id = sp.meter_id AND e.reading_date = '2026-02-01'`.execute(database.db);
  const bareSecs = secs(t);

  const check = (await sql<{ bills: number; dup: number; lines: number; held: number; released: number; holds: number; total: string }>`
    SELECT count(*)::int AS bills, (count(*) - count(DISTINCT customer_id))::int AS dup,
      (SELECT count(*)::int FROM bill_line) AS lines, (count(*) FILTER (WHERE status = 'held'))::int AS held,
      (count(*) FILTER (WHERE status = 'released'))::int AS released, (SELECT count(*)::int FROM bill_hold) AS holds,
      sum(amount)::text AS total
    FROM bill`.execute(database.db)).rows[0]!;
  const rules = (await sql<{ rule_code: string; n: number }>`SELECT rule_code, count(*)::int AS n FROM bill_hold GROUP BY 1 ORDER BY 1`.execute(database.db)).rows;
  const lineSum = (await sql<{ ok: boolean }>`
    SELECT bool_and(b.amount = l.s) AS ok FROM bill b JOIN (SELECT bill_id, sum(amount) s FROM bill_line GROUP BY bill_id) l ON l.bill_id = b.id`.execute(database.db)).rows[0]!;

  console.log(`billing run (${engine}, ${customers} customers, chunk ${chunk}): ${runSecs.toFixed(2)} s — ${Math.round(customers / runSecs)} bills/s`);
  console.log(`bare INSERT … SELECT of ${customers} one-line bills: ${bareSecs.toFixed(2)} s — run/bare ratio ${(runSecs / bareSecs).toFixed(2)}`);
  console.log(`integrity: bills ${check.bills} (expected ${customers}), duplicates ${check.dup}, lines ${check.lines}, ` +
    `held ${check.held}, released ${check.released}, hold reasons ${check.holds}, total ${check.total} yuan, bill = Σ lines: ${lineSum.ok}`);
  console.log(`holds by rule: ${rules.map((r) => `${r.rule_code} ${r.n}`).join(', ')}`);
  console.log(`run ${run.id}: status ${run.status}, chunks ${run.chunks_done}, skipped ${run.customers_skipped}`);
  const ok = check.bills === customers && check.dup === 0 && check.held + check.released === customers && lineSum.ok;
  await database.close();
  if (engine !== 'pglite' && !args.includes('--keep')) {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
    await admin.end();
  }
  if (!ok) process.exitCode = 1;
}

await main();
