/**
 * Late fee and statement figures for every account in one set-based pass, on the PostgreSQL server:
 * two bills per customer (one from the previous year), partial settlement by credit notes for 1 in 5,
 * then arrears by age band with late fees, and per-account statement totals, as of one date.
 *
 *   npx tsx bench/payments-latefee.ts [--customers 1000000] [--reuse]
 *
 * --reuse keeps the database of an earlier run with the same size (pending migrations applied) and times
 * the passes again without seeding.
 */
import { sql } from 'kysely';
import fs from 'node:fs';
import pg from 'pg';
import { addDays, daysBetween, migrate, openDatabase, SimulatedClock, type Database } from '../src/platform/index.ts';
import { seedProvince } from '../src/sim/seed.ts';
import { arrearsByAge, postDebitsFrom } from '../src/payments/index.ts';
import { fenToString } from '../src/payments/domain/payment-input.ts';
import { arg, benchDatabase, report, SERVER_URL } from './support.ts';

const customers = arg('customers', 1_000_000);
const secs = (t0: number) => (performance.now() - t0) / 1000;

/** CPU seconds (user + system) a local server process has used; null when /proc cannot tell. */
function backendCpu(pid: number): number | null {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop()!.trim().split(/\s+/);
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

function cpuSince(pid: number, before: number | null): number | null {
  const now = backendCpu(pid);
  return now === null || before === null ? null : now - before;
}

const NAME = 'zt_bench_payments_latefee';

/** The database of an earlier run when --reuse and it holds this many customers with their bills. */
async function reusable(): Promise<Database | undefined> {
  if (!process.argv.includes('--reuse')) return undefined;
  const admin = new pg.Client({ connectionString: SERVER_URL });
  await admin.connect();
  const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [NAME])).rowCount;
  await admin.end();
  if (!exists) return undefined;
  const u = new URL(SERVER_URL);
  u.pathname = `/${NAME}`;
  const database = await openDatabase({ databaseUrl: u.toString(), poolSize: 4 });
  const n = (await sql<{ c: number; r: number }>`SELECT (SELECT count(*) FROM customer)::int AS c, (SELECT count(*) FROM receivable)::int AS r`.execute(database.db)).rows[0]!;
  if (n.c !== customers || n.r === 0) {
    await database.close();
    return undefined;
  }
  await migrate(database);
  console.log(`reusing ${NAME}: ${n.c} customers, ${n.r} debt items`);
  return database;
}

async function main() {
  let database = await reusable();
  let bills = { posted: 0 };
  let credits = { posted: 0 };
  if (!database) {
    database = await benchDatabase(NAME);
    let t = performance.now();
    await seedProvince(database, { customers, seed: 1, since: '2025-01-01' });
    console.log(`seeded ${customers} customers in ${secs(t).toFixed(1)} s`);
    const clock = new SimulatedClock('2026-03-01T10:00:00+08:00');
    t = performance.now();
    bills = await postDebitsFrom(database.db, clock, sql`
      SELECT c.id * 10 + k AS bill_id, c.id AS customer_id, 'LF' || (c.id * 10 + k) AS bill_no, CASE k WHEN 1 THEN '2025-12' ELSE '2026-01' END AS period,
             'bill' AS kind, (20 + (c.id * 7919 + k) % 50000 / 100.0)::numeric(14,2) AS amount,
             CASE k WHEN 1 THEN date '2025-12-05' ELSE date '2026-01-05' END AS issued_on,
             CASE k WHEN 1 THEN date '2025-12-25' + (c.id % 3)::int * 10 ELSE date '2026-01-25' + (c.id % 3)::int * 10 END AS due_date, now() AS released_at
      FROM customer c CROSS JOIN (VALUES (1), (2)) AS b(k)`);
    console.log(`posted ${bills.posted} bills in ${secs(t).toFixed(1)} s`);
    t = performance.now();
    const cn = await postDebitsFrom(database.db, clock, sql`
      SELECT c.id * 10 + 3 AS bill_id, c.id AS customer_id, 'CN' || c.id AS bill_no, '2026-01' AS period, 'credit' AS kind,
             -(5 + c.id % 1000 / 100.0)::numeric(14,2) AS amount, date '2026-01-20' AS issued_on, date '2026-01-20' AS due_date, now() AS released_at
      FROM customer c WHERE c.id % 5 = 0`);
    credits = cn;
    console.log(`posted ${cn.posted} credit notes (${cn.settled} allocations) in ${secs(t).toFixed(1)} s`);
  } else {
    const n = (await sql<{ b: number; c: number }>`SELECT count(*) FILTER (WHERE amount > 0)::int AS b, count(*) FILTER (WHERE amount < 0)::int AS c FROM receivable`.execute(database.db)).rows[0]!;
    bills = { posted: n.b };
    credits = { posted: n.c };
  }
  const db = database.db;
  await sql`ANALYZE`.execute(db);

  const asOf = '2026-03-01';
  // both passes on one pinned connection, so the server process's CPU time can be read as well as the wall
  // time (the wall time on a shared machine mostly measures the other load)
  const { aging, agingSecs, agingCpu, st, statementSecs, statementCpu } = await database.session(async (s) => {
    const pid = (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(s.db)).rows[0]!.pid;
    let t = performance.now();
    let c = backendCpu(pid);
    const aging = await arrearsByAge(s.db, asOf, '/');
    const agingSecs = secs(t);
    const agingCpu = cpuSince(pid, c);
    t = performance.now();
    c = backendCpu(pid);
  // per-account statement totals for every account, materialised as a dunning or print run would use them
    const st = await s.db.transaction().execute(async (trx) => {
    // a batch run over every account aggregates millions of rows: give it the memory (as arrearsByAge does)
    await sql`SET LOCAL work_mem = '256MB'`.execute(trx);
    // payments_statement_totals: open items, outstanding, late fee, total due per account (summed in fen)
    await sql`CREATE TEMP TABLE statement_run ON COMMIT DROP AS
      SELECT customer_id, open_items, outstanding, late_fee, total_due FROM payments_statement_totals(${asOf}::date)`.execute(trx);
    const totals = (await sql<{ n: number; due: string; fee: string }>`SELECT count(*)::int AS n, sum(total_due)::text AS due, sum(late_fee)::text AS fee FROM statement_run`.execute(trx)).rows[0]!;
    // a residential account without credit note, to check against the hand formula below
    const sample = (await sql<{ id: number; late_fee: string; total_due: string }>`
      SELECT s.customer_id AS id, s.late_fee::text, s.total_due::text FROM statement_run s JOIN customer c ON c.id = s.customer_id
      WHERE c.kind = 'residential' AND s.customer_id % 5 <> 0 ORDER BY s.customer_id DESC LIMIT 1`.execute(trx)).rows[0];
    return { ...totals, sample };
  });
    return { aging, agingSecs, agingCpu, st, statementSecs: secs(t), statementCpu: cpuSince(pid, c) };
  });
  // hand formula: bill k of customer id is 20 + ((id·7919 + k) mod 50000)/100 yuan, due 2025-12-25 / 2026-01-25 plus
  // (id mod 3)·10 days; residential fee = amount × days overdue × 1‰, rounded to the fen, at least 1 yuan
  const hand = (id: number) => {
    let fee = 0n;
    let due = 0n;
    for (const [k, dueOn] of [[1, '2025-12-25'], [2, '2026-01-25']] as const) {
      const fen = 2000n + ((BigInt(id) * 7919n + BigInt(k)) % 50000n);
      const days = BigInt(Math.max(0, daysBetween(addDays(dueOn, (id % 3) * 10), asOf)));
      const f = days > 0n ? (fen * days + 500n) / 1000n : 0n;
      const charged = days > 0n && f < 100n ? 100n : f;
      fee += charged;
      due += fen + charged;
    }
    return { fee: fenToString(fee), due: fenToString(due) };
  };
  const sampleOk = st.sample !== undefined && hand(Number(st.sample.id)).fee === st.sample.late_fee && hand(Number(st.sample.id)).due === st.sample.total_due;
  // integrity: both passes agree, and a sample account matches its hand formula
  const ok = st.fee === aging.total.lateFee && st.n === aging.total.customers && sampleOk;
  report(`late fee + statement, ${customers} accounts, as of ${asOf} (PostgreSQL server)`, {
    'debt items (bills + credit notes)': `${bills.posted} + ${credits.posted}`,
    'arrears by age band (one pass)': `${agingSecs.toFixed(2)} s`,
    'statement totals per account (one pass)': `${statementSecs.toFixed(2)} s`,
    'server CPU: arrears / statement pass': agingCpu === null || statementCpu === null ? 'n/a (server not local)' : `${agingCpu.toFixed(2)} s / ${statementCpu.toFixed(2)} s`,
    'accounts with debt': st.n,
    'total due / late fees': `${st.due} / ${st.fee}`,
    'bands': aging.bands.map((b) => `${b.band}:${b.items}`).join(' '),
    'target < 10 s per pass': agingSecs < 10 && statementSecs < 10 ? 'MET' : 'NOT MET',
    [`hand formula, account ${st.sample?.id}`]: `fee ${st.sample?.late_fee} (hand ${st.sample ? hand(Number(st.sample.id)).fee : '-'}), due ${st.sample?.total_due} (hand ${st.sample ? hand(Number(st.sample.id)).due : '-'})`,
    'integrity (passes agree, hand formula)': ok ? 'PASS' : 'FAIL',
  });
  await database.close();
  if (!ok) process.exitCode = 1;
}

await main();
