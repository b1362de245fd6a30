import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { queryPlan, testContext, type TestContext } from '../support/db.ts';

/**
 * The ledger keeps every bill ever posted and every allocation ever made; the open debt of a day (the
 * dunning run's snapshot, slice by slice) must read the receivables still open, not that history. The
 * plan is taken over a ledger with two years of paid bills, analysed, with sequential scans ruled out:
 * a pass that can only read the ledger whole still plans a sequential scan (at a prohibitive cost).
 */
describe('the open debt of a day reads the open receivables, not the ledger history', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await testContext({ customers: 300 });
    await sql`INSERT INTO account (customer_id, opened_at) SELECT id, now() FROM customer ON CONFLICT DO NOTHING`.execute(ctx.db);
    // 24 months of bills per customer, each paid two days before its due date, and this month's bill open
    await sql`
      INSERT INTO receivable (customer_id, bill_id, kind, ref_no, period, amount, issued_on, due_date, posted_at)
      SELECT c.id, -(m * 100000 + c.id), 'bill', 'H' || m || '-' || c.id, '2024-01', 100, DATE '2024-01-01' + m * 30, DATE '2024-01-15' + m * 30, now()
      FROM customer c CROSS JOIN generate_series(0, 24) m`.execute(ctx.db);
    await sql`
      INSERT INTO allocation (customer_id, receivable_id, source_kind, source_id, principal, late_fee, applied_on, applied_at)
      SELECT customer_id, id, 'payment', 0, amount, 0, due_date - 2, now() FROM receivable WHERE bill_id > -2400000`.execute(ctx.db);
    await sql`ANALYZE customer, receivable, allocation`.execute(ctx.db);
  });
  afterAll(() => ctx?.drop());

  it('plans the open receivables of a slice through their index, and no allocation at all', async () => {
    const open = await sql<{ n: number }>`SELECT count(*)::int AS n FROM payments_open_debt('2026-03-01'::date, 1, 1000000)`.execute(ctx.db);
    expect(open.rows[0]!.n).toBe(300);
    const text = await ctx.db.transaction().execute(async (trx) => {
      await sql`SET LOCAL enable_seqscan = off`.execute(trx);
      return JSON.stringify(await queryPlan(trx, sql`SELECT * FROM payments_open_debt('2026-03-01'::date, 1, 1000000)`));
    });
    expect(text).toContain('receivable_open_idx');
    expect(text).not.toMatch(/"Node Type":"Seq Scan"[^}]*"Relation Name":"(receivable|allocation)"/);
  });
});
