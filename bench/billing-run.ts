/**
 * Billing run benchmark: a whole province cycle from readings to released bills with lines and review
 * flags, against a bare INSERT … SELECT of the same number of one-line bills measured in the same run.
 *
 *   npx tsx bench/billing-run.ts [--customers 1000000] [--engine postgres|pglite] [--chunk 100000] [--workers N] [--keep] [--reuse] [--explain MS]
 *
 * --keep leaves the server database (--db NAME, default zt_bench_billing) in place; --seed-only stops
 * after seeding it; --reuse bills again on a kept database (its bills and runs are truncated, the
 * seeded province and readings are kept); --explain MS prints the plan with actual times
 * (auto_explain) of every statement of the run slower than MS milliseconds; --post also times the
 * day-end posting of the released bills to the payments ledger (flows), outside the run's figure;
 * --hash prints a digest of the bills, lines and holds (ids and instants left out), to compare the
 * output of two versions of the run on the same seed.
 */
import fs from 'node:fs';
import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import {
  createLogger, loadConfig, migrate, openDatabase, SimulatedClock, type AppContext, type Database, type Db,
} from '../src/platform/index.ts';
import { seedProvince } from '../src/sim/seed.ts';
import { ensureReadingPartitions } from '../src/metering/index.ts';
import { runBilling } from '../src/billing/index.ts';
import { postReleasedBills } from '../src/flows/payments-post-bills.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : def;
};
const engine = arg('engine', 'postgres');
const customers = Number(arg('customers', engine === 'pglite' ? '100000' : '1000000'));
const chunk = Number(arg('chunk', '100000'));
const concurrency = args.includes('--workers') ? Number(arg('workers', '2')) : undefined;
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DB_NAME = arg('db', 'zt_bench_billing');

const reuse = args.includes('--reuse');
const explainMs = args.includes('--explain') ? Number(arg('explain', '200')) : null;

function benchUrl(): string {
  const u = new URL(serverUrl);
  u.pathname = `/${DB_NAME}`;
  return u.toString();
}

async function open(): Promise<Database> {
  if (engine === 'pglite') return openDatabase({});
  if (!reuse) {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${DB_NAME}`);
    await admin.end();
  }
  return openDatabase({ databaseUrl: benchUrl(), poolSize: 4 });
}

/** Backends of the run's own pool, so each phase can report the server CPU it used next to wall time. */
const backendPids: number[] = [];

/** CPU seconds (user + system) used so far by the run's backends (read from /proc: the server is local). */
const lastTicks = new Map<number, number>();
function backendCpu(): number {
  let ticks = 0;
  for (const pid of backendPids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      lastTicks.set(pid, Number(f[11]) + Number(f[12]));
    } catch {
      // a backend the pool closed keeps its last reading; not local: CPU figures read 0
    }
    ticks += lastTicks.get(pid) ?? 0;
  }
  return ticks / 100;
}

/**
 * The run's Kysely on the server: its own pool (pids recorded for CPU figures); with `explainMs`, every
 * statement slower than that prints its plan with actual times and buffers (auto_explain).
 */
function runDb(explain: number | null): Db {
  const pool = new pg.Pool({ connectionString: benchUrl(), max: 4 });
  pool.on('connect', (client) => {
    const pid = (client as unknown as { processID: number }).processID;
    if (pid) backendPids.push(pid);
    if (explain === null) return;
    client.on('notice', (n) => console.log(`--- plan ---\n${n.message}`));
    void client.query(`LOAD 'auto_explain'; SET auto_explain.log_min_duration = ${explain}; SET auto_explain.log_analyze = on;
      SET auto_explain.log_buffers = on; SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = notice`);
  });
  return new Kysely({ dialect: new PostgresDialect({ pool }) });
}

const secs = (t0: number) => (performance.now() - t0) / 1000;

async function main() {
  const database = await open();
  let t = performance.now();
  if (reuse) {
    await migrate(database);
    const n = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM customer`.execute(database.db)).rows[0]!.n;
    if (n !== customers) throw new Error(`--reuse: the kept database has ${n} customers, not ${customers}`);
    await sql`TRUNCATE bill, bill_line, bill_hold, bill_review_action, billing_run, billing_run_chunk, billing_run_input, billing_run_peer, receivable CASCADE`.execute(database.db);
    await sql`DROP TABLE IF EXISTS bench_bare_bill`.execute(database.db);
    await sql`VACUUM ANALYZE`.execute(database.db);
    console.log(`reusing the kept database: ${customers} customers, bills truncated`);
  } else {
    await migrate(database);
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
    await sql`VACUUM ANALYZE`.execute(database.db);
    console.log(`readings: ${customers * 2} registers in ${secs(t).toFixed(1)} s`);
    if (args.includes('--seed-only')) {
      await database.close();
      return;
    }
  }

  const ctx: AppContext = {
    database, db: engine === 'postgres' ? runDb(explainMs) : database.db,
    clock: new SimulatedClock('2026-02-02T08:00:00+08:00'), log: createLogger('bench'), config: loadConfig({}),
  };
  const phase = (() => {
    let wall = performance.now();
    let cpu = backendCpu();
    return (label: string | null) => {
      const w = secs(wall);
      const c = backendCpu() - cpu;
      if (label !== null) console.log(`  ${label.padEnd(58)} ${w.toFixed(2).padStart(7)} s${engine === 'postgres' ? `   server CPU ${c.toFixed(2).padStart(6)} s` : ''}`);
      wall = performance.now();
      cpu = backendCpu();
      return { wall: w, cpu: c };
    };
  })();
  t = performance.now();
  const cpu0 = backendCpu();
  phase(null);
  const run = await runBilling(ctx, {
    cycle: 'C01', period: '2026-02', chunkSize: chunk, concurrency,
    onProgress: (r) => {
      phase(r.status === 'rating' && r.chunks_done === 0 ? 'stage: consumption from readings, history, peers'
        : r.status === 'completed' ? 'complete the run'
          : `chunk ${r.chunks_done}: rate, lines, review flags, release`);
    },
  });
  const runSecs = secs(t);
  const runCpu = backendCpu() - cpu0;

  // the floor: one statement writing the same number of one-line bills, no tariffs, lines or review
  await sql`CREATE TABLE bench_bare_bill (customer_id bigint, period text, amount numeric(14,2))`.execute(ctx.db);
  phase(null);
  t = performance.now();
  await sql`
    INSERT INTO bench_bare_bill (customer_id, period, amount)
    SELECT sp.customer_id, '2026-02', round((e.total_kwh - b.total_kwh) * 0.5, 2)
    FROM service_point sp
    JOIN meter_reading b ON b.meter_id = sp.meter_id AND b.reading_date = '2026-01-01'
    JOIN meter_reading e ON e.meter_id = sp.meter_id AND e.reading_date = '2026-02-01'`.execute(ctx.db);
  const bareSecs = secs(t);
  const bare = phase('bare INSERT … SELECT of one-line bills');

  // after the run, outside its figure: the day-end flow posts the released bills to the payments ledger
  if (args.includes('--post')) {
    phase(null);
    const posted = await postReleasedBills(ctx);
    phase(`receivable posting (flows, payments): ${posted.posted} posted`);
  }

  const check = (await sql<{ bills: number; dup: number; lines: number; held: number; released: number; holds: number; total: string }>`
    SELECT count(*)::int AS bills, (count(*) - count(DISTINCT customer_id))::int AS dup,
      (SELECT count(*)::int FROM bill_line) AS lines, (count(*) FILTER (WHERE status = 'held'))::int AS held,
      (count(*) FILTER (WHERE status = 'released'))::int AS released, (SELECT count(*)::int FROM bill_hold) AS holds,
      sum(amount)::text AS total
    FROM bill`.execute(database.db)).rows[0]!;
  const rules = (await sql<{ rule_code: string; n: number }>`SELECT rule_code, count(*)::int AS n FROM bill_hold GROUP BY 1 ORDER BY 1`.execute(database.db)).rows;
  const lineSum = (await sql<{ ok: boolean }>`
    SELECT bool_and(b.amount = l.s) AS ok FROM bill b JOIN (SELECT bill_id, sum(amount) s FROM bill_line GROUP BY bill_id) l ON l.bill_id = b.id`.execute(database.db)).rows[0]!;

  console.log(`billing run (${engine}, ${customers} customers, chunk ${chunk}, workers ${concurrency ?? (engine === 'postgres' ? 2 : 1)}): ${runSecs.toFixed(2)} s — ${Math.round(customers / runSecs)} bills/s` +
    (engine === 'postgres' ? `; server CPU ${runCpu.toFixed(2)} s` : ''));
  console.log(`bare INSERT … SELECT of ${customers} one-line bills: ${bareSecs.toFixed(2)} s — run/bare ratio ${(runSecs / bareSecs).toFixed(2)}` +
    (engine === 'postgres' ? `; server CPU ${bare.cpu.toFixed(2)} s, CPU ratio ${(runCpu / bare.cpu).toFixed(2)}` : ''));
  console.log(`integrity: bills ${check.bills} (expected ${customers}), duplicates ${check.dup}, lines ${check.lines}, ` +
    `held ${check.held}, released ${check.released}, hold reasons ${check.holds}, total ${check.total} yuan, bill = Σ lines: ${lineSum.ok}`);
  console.log(`holds by rule: ${rules.map((r) => `${r.rule_code} ${r.n}`).join(', ')}`);
  console.log(`run ${run.id}: status ${run.status}, chunks ${run.chunks_done}, skipped ${run.customers_skipped}`);
  if (args.includes('--hash')) {
    const digest = (await sql<{ bills: string; lines: string; holds: string }>`
      SELECT
        (SELECT md5(string_agg(concat_ws('|', bill_no, kind, customer_id, period, org_path, tariff_code, period_start, period_end, consumption_kwh,
           sharp_kwh, peak_kwh, flat_kwh, valley_kwh, ytd_kwh, capacity_kva, max_demand_kw, reactive_kvarh, reading_quality, amount, status,
           issued_on, due_date, released_by), ',' ORDER BY customer_id, kind, bill_no)) FROM bill) AS bills,
        (SELECT md5(string_agg(concat_ws('|', b.bill_no, l.line_no, l.customer_id, l.component, l.register, l.tier, l.tariff_version_id,
           l.segment_start, l.segment_end, l.quantity, l.unit_price, l.amount), ',' ORDER BY b.bill_no, l.line_no))
         FROM bill_line l JOIN bill b ON b.id = l.bill_id) AS lines,
        (SELECT md5(string_agg(concat_ws('|', b.bill_no, h.rule_code, h.detail), ',' ORDER BY b.bill_no, h.rule_code))
         FROM bill_hold h JOIN bill b ON b.id = h.bill_id) AS holds`.execute(database.db)).rows[0]!;
    console.log(`digest: bills ${digest.bills}, lines ${digest.lines}, holds ${digest.holds}`);
  }
  const ok = check.bills === customers && check.dup === 0 && check.held + check.released === customers && lineSum.ok;
  if (ctx.db !== database.db) await ctx.db.destroy();
  await database.close();
  if (engine !== 'pglite' && !args.includes('--keep') && !reuse) {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
    await admin.end();
  }
  if (!ok) process.exitCode = 1;
}

await main();
