import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { postReleasedBills } from '../../src/flows/payments-post-bills.ts';
import { customersOf } from './builders.ts';

/**
 * Billing's released bills reach the ledger as a feed: each posting takes what was released since a day
 * before the latest release it took, so the daily posting does not join every bill ever released.
 */
describe('released bills reach the ledger once, read as a feed', () => {
  let ctx: TestContext;
  let who: { id: number; number: string }[];
  beforeAll(async () => {
    ctx = await testContext({ customers: 50 });
    who = await customersOf(ctx, 'residential', 4);
  });
  afterAll(() => ctx?.drop());

  const release = (customerId: number, period: string, releasedAt: string) => sql`
    INSERT INTO bill (bill_no, kind, customer_id, cycle_code, period, org_path, tariff_code, period_start, period_end,
                      consumption_kwh, amount, status, issued_on, due_date, released_at, released_by, created_at)
    SELECT 'F' || ${period} || '-' || c.number, 'bill', c.id, c.billing_cycle, ${period}, c.org_path, c.tariff_code,
           (${period} || '-01')::date, (${period} || '-28')::date, 100, 88.00, 'released', ${releasedAt}::timestamptz::date,
           ${releasedAt}::timestamptz::date + 15, ${releasedAt}::timestamptz, 'test', ${releasedAt}::timestamptz
    FROM customer c WHERE c.id = ${customerId}`.execute(ctx.db);
  const ledger = async () => (await sql<{ ref_no: string }>`SELECT ref_no FROM receivable ORDER BY ref_no`.execute(ctx.db)).rows.map((r) => r.ref_no);
  const mark = async () => (await sql<{ through: Date }>`SELECT through FROM payments_debit_feed WHERE feed = 'billing'`.execute(ctx.db)).rows[0]?.through;

  it('posts each release once, takes a late-committed release within a day of the mark, and moves the mark to the latest release taken', async () => {
    const [a, b, c, d] = who;
    await release(a!.id, '2026-01', '2026-02-03T09:00:00+08:00');
    await release(b!.id, '2026-01', '2026-02-05T09:00:00+08:00');
    expect((await postReleasedBills(ctx)).posted).toBe(2);
    expect(new Date(await mark() as Date).toISOString()).toBe('2026-02-05T01:00:00.000Z');
    expect((await postReleasedBills(ctx)).posted).toBe(0);

    // a release stamped before the mark (its transaction committed after the posting): within the day's margin it is taken
    await release(c!.id, '2026-01', '2026-02-04T21:00:00+08:00');
    await release(d!.id, '2026-02', '2026-03-04T09:00:00+08:00');
    expect((await postReleasedBills(ctx)).posted).toBe(2);
    expect(await ledger()).toHaveLength(4);
    expect(new Date(await mark() as Date).toISOString()).toBe('2026-03-04T01:00:00.000Z');
    expect((await postReleasedBills(ctx)).posted).toBe(0);
  });
});
