/**
 * Shared setup of the dunning benchmarks: a seeded province on the PostgreSQL server with one
 * released bill per customer posted as a debt, written directly with SQL.
 *
 * `--reuse` keeps the seeded province as a template database (`<name>_seed_<customers>`) and
 * clones it for later runs (seeding 1M customers takes minutes; cloning takes seconds).
 */
import { sql } from 'kysely';
import { createLogger, loadConfig, SimulatedClock, type AppContext, type Database } from '../src/platform/index.ts';
import { seedProvince } from '../src/sim/seed.ts';
import { preparedDatabase } from './support.ts';

export const secs = (t0: number) => ((performance.now() - t0) / 1000).toFixed(2);

async function seedDebts(database: Database, customers: number, asOf: string, dueSpread: number): Promise<void> {
  let t = performance.now();
  await seedProvince(database, { customers, seed: 1, since: '2025-01-01' });
  console.log(`seeded ${customers} customers in ${secs(t)} s`);
  t = performance.now();
  const db = database.db;
  await sql`INSERT INTO account (customer_id, opened_at) SELECT id, now() FROM customer ON CONFLICT DO NOTHING`.execute(db);
  await sql`
    INSERT INTO bill (id, bill_no, kind, customer_id, cycle_code, period, org_path, tariff_code, period_start, period_end,
                      consumption_kwh, amount, status, issued_on, due_date, released_at, released_by, created_at)
    SELECT c.id, 'BENCH-' || c.number, 'bill', c.id, c.billing_cycle, '2026-01', c.org_path, c.tariff_code, '2026-01-01', '2026-01-31',
           100, 50 + (c.id % 300), 'released', d.due - 15, d.due, ((d.due - 15)::timestamp + interval '9 hours') AT TIME ZONE 'Asia/Shanghai',
           'bench', now()
    FROM customer c CROSS JOIN LATERAL (SELECT ${asOf}::date + (${dueSpread - 37}::int - (c.id % ${dueSpread}::int)::int) AS due) d`.execute(db);
  await sql`
    INSERT INTO receivable (customer_id, bill_id, kind, ref_no, period, amount, issued_on, due_date, posted_at)
    SELECT customer_id, id, 'bill', bill_no, period, amount, issued_on, due_date, now() FROM bill`.execute(db);
  await sql`
    INSERT INTO allocation (customer_id, receivable_id, source_kind, source_id, principal, late_fee, applied_on, applied_at)
    SELECT r.customer_id, r.id, 'payment', 0, r.amount, 0, r.issued_on, now() FROM receivable r WHERE r.customer_id % 10 = 0`.execute(db);
  await sql`VACUUM ANALYZE`.execute(db);
  console.log(`debts: ${customers} released bills and receivables (10% paid) in ${secs(t)} s`);
}

/**
 * Due dates spread over 50 days ending 13 days after `asOf`, so one run meets every step: bill
 * notices (released in the last week), reminders, overdue notices 1-3 and suspension notices.
 * Every tenth customer has paid in full.
 */
export async function dunningBenchContext(name: string, customers: number, asOf: string, dueSpread = 50): Promise<AppContext & { clock: SimulatedClock }> {
  const database = await preparedDatabase(name, `${name}_seed_${customers}_${dueSpread}`, (db) => seedDebts(db, customers, asOf, dueSpread));
  const clock = new SimulatedClock(`${asOf}T00:30:00+08:00`);
  return { database, db: database.db, clock, log: createLogger('bench'), config: loadConfig({}) };
}
