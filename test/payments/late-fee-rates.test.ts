import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { statementFor } from '../../src/payments/index.ts';
import { bill, customersOf, pay, postBills } from './builders.ts';

let ctx: TestContext;
let res: { id: number; number: string }[];
let biz: { id: number; number: string }[];

beforeAll(async () => {
  ctx = await testContext({ customers: 60, now: '2026-04-30T10:00:00+08:00' });
  res = await customersOf(ctx, 'residential', 2);
  biz = await customersOf(ctx, 'non_residential', 2);
});
afterAll(async () => ctx?.drop());

const line = async (customerId: number, asOf: string) => (await statementFor(ctx.db, customerId, asOf)).lines[0];

describe('late-fee rates are data with effective dates', () => {
  it('a rate change mid-arrears: each day at the rate in force that day (old rate closed)', async () => {
    await sql`UPDATE late_fee_policy SET effective_to = '2026-02-01' WHERE segment = 'residential' AND effective_to IS NULL`.execute(ctx.db);
    await sql`INSERT INTO late_fee_policy (segment, effective_from, current_year_rate, earlier_year_rate, minimum_fee)
              VALUES ('residential', '2026-02-01', 0.0005, 0.0005, 1.00)`.execute(ctx.db);
    await postBills(ctx, bill(res[0]!.id, '1000.00', '2026-01-20'));
    // Jan 21..31 = 11 days × 1‰ = 11.00; Feb 1..10 = 10 days × 0.5‰ = 5.00
    expect(await line(res[0]!.id, '2026-02-10')).toMatchObject({ lateFee: '16.00', totalDue: '1016.00' });
    const p = await pay(ctx, res[0]!.number, '1016.00', '2026-02-10');
    expect(p.allocations).toEqual([expect.objectContaining({ principal: '1000.00', lateFee: '16.00' })]);
  });

  it('a new rate entered while the old one is still open-ended takes over from its date, never both at once', async () => {
    await sql`INSERT INTO late_fee_policy (segment, effective_from, current_year_rate, earlier_year_rate, minimum_fee)
              VALUES ('non_residential', '2026-02-01', 0.001, 0.0015, 1.00)`.execute(ctx.db);
    await postBills(ctx, bill(biz[0]!.id, '1000.00', '2026-01-20'));
    // Jan 21..31 = 11 days × 2‰ = 22.00; Feb 1..10 = 10 days × 1‰ = 10.00 (not 2‰ + 1‰)
    expect(await line(biz[0]!.id, '2026-02-10')).toMatchObject({ lateFee: '32.00', totalDue: '1032.00' });
    const p = await pay(ctx, biz[0]!.number, '1032.00', '2026-02-10');
    expect(p.allocations).toEqual([expect.objectContaining({ principal: '1000.00', lateFee: '32.00' })]);
    // a bill due before the change and crossing the year: 2‰ in its year, 3‰ until the change, 1.5‰ after
    await postBills(ctx, bill(biz[1]!.id, '1000.00', '2025-12-20', { issuedOn: '2025-12-05' }));
    // Dec 21..31 = 11 × 2.00 = 22.00; Jan 1..31 = 31 × 3.00 = 93.00; Feb 1..10 = 10 × 1.50 = 15.00
    expect(await line(biz[1]!.id, '2026-02-10')).toMatchObject({ lateFee: '130.00' });
  });
});
