/**
 * KPI API benchmark: a province of N customers (default 1M) with a year of daily KPI history, then
 * p50/p95 of the monitoring center's requests through the real HTTP app (auth included). Also prints
 * how long one day's rollup takes over the whole province.
 *
 *   npx tsx bench/monitoring-kpi-api.ts [--customers 1000000] [--days 365] [--requests 200] [--reuse]
 *
 * --reuse keeps an already seeded zt_bench_monitoring (seeding 1M customers takes minutes) and only
 * recomputes the day and re-measures.
 */
import pg from 'pg';
import { sql } from 'kysely';
import { createLogger, loadConfig, migrate, openDatabase, SimulatedClock, addDays, type AppContext, type Database } from '../src/platform/index.ts';
import { seedProvince } from '../src/sim/seed.ts';
import { ensureReadingPartitions } from '../src/metering/index.ts';
import { computeKpis } from '../src/monitoring/index.ts';
import { buildApp } from '../src/http/app.ts';
import { DEMO_PASSWORD } from '../src/sim/province.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : def;
};
const customers = Number(arg('customers', '1000000'));
const days = Number(arg('days', '365'));
const requests = Number(arg('requests', '200'));
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DB_NAME = 'zt_bench_monitoring';
const DAY = '2026-01-10';

const reuse = args.includes('--reuse');

async function open(): Promise<Database> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const exists = (await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [DB_NAME])).rowCount;
  if (!reuse || !exists) {
    await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${DB_NAME}`);
  }
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${DB_NAME}`;
  return openDatabase({ databaseUrl: u.toString(), poolSize: 4 });
}

const secs = (t0: number) => ((performance.now() - t0) / 1000).toFixed(1);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function main() {
  const database = await open();
  await migrate(database);
  const ctx: AppContext = { database, db: database.db, clock: new SimulatedClock(`${addDays(DAY, 1)}T09:00:00+08:00`), log: createLogger('bench'), config: loadConfig() };
  let t0 = performance.now();
  const seededAlready = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM customer`.execute(ctx.db)).rows[0]!.n > 0;
  if (seededAlready) {
    console.log('reusing the seeded province and its readings');
  } else {
    const seeded = await seedProvince(database, { customers, seed: 1, since: '2025-01-01' });
    console.log(`seeded ${customers} customers (${seeded.orgUnits} org units, ${seeded.teams} teams) in ${secs(t0)} s`);
    // 97% of meters read on the day
    await ensureReadingPartitions(ctx.db, DAY, DAY);
    t0 = performance.now();
    await sql`INSERT INTO meter_reading (meter_id, reading_date, total_kwh, quality, source, received_at)
            SELECT meter_id, ${DAY}::date, 1000 + meter_id % 500, 'actual', 'frontend', now() FROM service_point WHERE meter_id % 33 <> 0`.execute(ctx.db);
    console.log(`readings for ${DAY} in ${secs(t0)} s`);
  }

  t0 = performance.now();
  const run = await computeKpis(ctx, DAY);
  console.log(`computeKpis(${DAY}): ${run.rowsWritten} rows, ${run.families.length} families, skipped [${run.skipped.join(', ')}] in ${run.ms} ms`);
  console.log(`  per family (ms): ${JSON.stringify(run.familyMs)}`);

  // a year of history: copy the day back with a small drift so the table has its real size
  t0 = performance.now();
  await sql`DELETE FROM kpi_daily WHERE day < ${DAY}::date`.execute(ctx.db);
  await sql`DELETE FROM kpi_run WHERE day < ${DAY}::date`.execute(ctx.db);
  await sql`INSERT INTO kpi_daily (day, org_id, team_id, kpi, value, numerator, denominator, computed_at)
            SELECT ${DAY}::date - g, org_id, team_id, kpi, CASE WHEN value IS NULL THEN NULL ELSE value * (1 - (g % 7) / 200.0) END, numerator, denominator, computed_at
            FROM kpi_daily, generate_series(1, ${days - 1}) AS g WHERE day = ${DAY}::date`.execute(ctx.db);
  await sql`INSERT INTO kpi_run (day, computed_at, rows_written, ms) SELECT ${DAY}::date - g, now(), 0, 0 FROM generate_series(1, ${days - 1}) g`.execute(ctx.db);
  await sql`ANALYZE kpi_daily`.execute(ctx.db);
  const total = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM kpi_daily`.execute(ctx.db)).rows[0]!.n;
  console.log(`kpi_daily history: ${total} rows (${days} days) in ${secs(t0)} s`);

  const app = await buildApp(ctx);
  await app.ready();
  const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'analyst', password: DEMO_PASSWORD } });
  const headers = { authorization: `Bearer ${login.json().token}` };
  const county = (await sql<{ code: string }>`SELECT code FROM org_unit WHERE level = 'county' ORDER BY code LIMIT 1`.execute(ctx.db)).rows[0]!.code;
  const cases: [string, string][] = [
    ['province overview, 30-day series of every KPI', '/api/v1/kpis?org=LN'],
    ['province 365-day read-success trend', `/api/v1/kpis?org=LN&kpi=read_success&from=${addDays(DAY, -364)}&to=${DAY}`],
    ['drill-down: cities of the province, worst first', '/api/v1/kpis/children?org=LN&kpi=read_success'],
    ['drill-down: stations of a county, worst first', `/api/v1/kpis/children?org=${county}&kpi=arrears_total`],
    ['teams of the province, worst first', '/api/v1/kpis/teams?org=LN&kpi=read_success&limit=50'],
  ];
  let worstP95 = 0;
  for (const [name, url] of cases) {
    for (let i = 0; i < 10; i++) await app.inject({ url, headers });
    const ms: number[] = [];
    for (let i = 0; i < requests; i++) {
      const s = performance.now();
      const res = await app.inject({ url, headers });
      ms.push(performance.now() - s);
      if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
    }
    worstP95 = Math.max(worstP95, pct(ms, 95));
    console.log(`${name.padEnd(50)} p50 ${pct(ms, 50).toFixed(1)} ms  p95 ${pct(ms, 95).toFixed(1)} ms`);
  }
  // integrity: the province read success equals the readings loaded
  const check = (await sql<{ n: string; d: string }>`SELECT k.numerator AS n, k.denominator AS d FROM kpi_daily k JOIN org_unit o ON o.id = k.org_id WHERE o.code = 'LN' AND k.day = ${DAY}::date AND k.kpi = 'read_success'`.execute(ctx.db)).rows[0]!;
  const read = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM meter_reading WHERE reading_date = ${DAY}::date`.execute(ctx.db)).rows[0]!.n;
  console.log(`integrity: province read_success ${check.n}/${check.d}, readings stored ${read}: ${Number(check.n) === read ? 'OK' : 'MISMATCH'}`);
  console.log(`worst p95 ${worstP95.toFixed(1)} ms (target < 100 ms): ${worstP95 < 100 ? 'PASS' : 'FAIL'}`);
  await app.close();
  await database.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
