import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testContext, type TestContext } from '../support/db.ts';
import { openBillsAsOf, statementFor } from '../../src/payments/index.ts';
import { bill, customersOf, pay, postBills } from './builders.ts';

let ctx: TestContext;
let res: { id: number; number: string }[];
let biz: { id: number; number: string }[];

beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: '2026-04-30T10:00:00+08:00' });
  res = await customersOf(ctx, 'residential', 10);
  biz = await customersOf(ctx, 'non_residential', 10);
});
afterAll(async () => ctx?.drop());

const line = async (customerId: number, asOf: string) => (await statementFor(ctx.db, customerId, asOf)).lines;

describe('late fees, hand-computed to the fen', () => {
  it('residential: 1‰ a day from the day after the due date (100.00 × 30 days = 3.00)', async () => {
    await postBills(ctx, bill(res[0]!.id, '100.00', '2026-01-20'));
    expect((await line(res[0]!.id, '2026-01-20'))[0]).toMatchObject({ lateFee: '0.00', daysOverdue: 0, totalDue: '100.00' });
    expect((await line(res[0]!.id, '2026-02-19'))[0]).toMatchObject({ outstanding: '100.00', lateFee: '3.00', daysOverdue: 30, totalDue: '103.00' });
  });

  it('non-residential current-year arrears: 2‰ a day (1000.00 × 30 days = 60.00)', async () => {
    await postBills(ctx, bill(biz[0]!.id, '1000.00', '2026-03-10'));
    expect((await line(biz[0]!.id, '2026-04-09'))[0]).toMatchObject({ lateFee: '60.00', totalDue: '1060.00' });
  });

  it('non-residential arrears crossing the year: 2‰ for the days in the arrears year, 3‰ after', async () => {
    await postBills(ctx, bill(biz[1]!.id, '1000.00', '2025-12-20', { issuedOn: '2025-12-05' }));
    // Dec 21..31 = 11 days × 2.00 = 22.00; Jan 1..9 = 9 days × 3.00 = 27.00
    expect((await line(biz[1]!.id, '2026-01-09'))[0]).toMatchObject({ lateFee: '49.00', daysOverdue: 20 });
    await postBills(ctx, bill(biz[2]!.id, '1000.00', '2025-11-30', { issuedOn: '2025-11-15' }));
    // Dec 1..31 = 31 × 2.00 = 62.00; Jan 1..31 = 31 × 3.00 = 93.00
    expect((await line(biz[2]!.id, '2026-01-31'))[0]).toMatchObject({ lateFee: '155.00' });
  });

  it('a fee under 1 yuan is charged as 1 yuan (50.00 × 5 days × 1‰ = 0.25 → 1.00)', async () => {
    await postBills(ctx, bill(res[1]!.id, '50.00', '2026-01-20'));
    expect((await line(res[1]!.id, '2026-01-25'))[0]).toMatchObject({ lateFee: '1.00', totalDue: '51.00' });
    const p = await pay(ctx, res[1]!.number, '51.00', '2026-01-25');
    expect(p.allocations).toEqual([expect.objectContaining({ principal: '50.00', lateFee: '1.00' })]);
    expect(p.prepaid).toBe('0.00');
    expect(await line(res[1]!.id, '2026-01-25')).toEqual([]);
  });

  it('a partial payment pays principal with its own fee; the rest keeps accruing from the due date', async () => {
    await postBills(ctx, bill(res[2]!.id, '200.00', '2026-01-10'));
    // 20 days late: 102.00 = 100.00 principal + 100.00 × 20 × 1‰ = 2.00
    const p1 = await pay(ctx, res[2]!.number, '102.00', '2026-01-30');
    expect(p1.allocations).toEqual([expect.objectContaining({ principal: '100.00', lateFee: '2.00' })]);
    // 30 days late on the remaining 100.00: 3.00
    expect((await line(res[2]!.id, '2026-02-09'))[0]).toMatchObject({ outstanding: '100.00', lateFee: '3.00', totalDue: '103.00' });
    const p2 = await pay(ctx, res[2]!.number, '103.00', '2026-02-09');
    expect(p2.allocations).toEqual([expect.objectContaining({ principal: '100.00', lateFee: '3.00' })]);
    expect(await line(res[2]!.id, '2026-02-09')).toEqual([]);
  });

  it('a partial payment that does not divide evenly splits principal round(r/(1+k)) and fee the rest', async () => {
    await postBills(ctx, bill(biz[3]!.id, '123.45', '2026-02-01'));
    // 15 days × 2‰ = k 0.03: 50.00 / 1.03 = 48.5436 → 48.54 principal, 1.46 fee; 74.91 × 0.03 = 2.2473 → 2.25
    const p = await pay(ctx, biz[3]!.number, '50.00', '2026-02-16');
    expect(p.allocations).toEqual([expect.objectContaining({ principal: '48.54', lateFee: '1.46' })]);
    expect((await line(biz[3]!.id, '2026-02-16'))[0]).toMatchObject({ outstanding: '74.91', lateFee: '2.25' });
  });

  it('the minimum tops up over partial payments: the bill stays open until its fee reaches 1 yuan', async () => {
    await postBills(ctx, bill(res[3]!.id, '80.00', '2026-03-01'));
    // 9 days: 80.00 × 0.009 = 0.72 → minimum 1.00, total 81.00; pay 6.00 → 5.95 + 0.05 (6 / 1.009 = 5.9465)
    const p = await pay(ctx, res[3]!.number, '6.00', '2026-03-10');
    expect(p.allocations).toEqual([expect.objectContaining({ principal: '5.95', lateFee: '0.05' })]);
    // 74.05 × 0.009 = 0.67 < 1.00 − 0.05 already paid → 0.95; total still 81.00 − 6.00
    expect((await line(res[3]!.id, '2026-03-10'))[0]).toMatchObject({ outstanding: '74.05', lateFee: '0.95', totalDue: '75.00' });
  });

  it('payments_open_debt lists the bills with money owed and their fee for dunning', async () => {
    const open = await openBillsAsOf(ctx.db, '2026-02-19', [res[0]!.id]);
    expect(open).toEqual([expect.objectContaining({ customerId: res[0]!.id, outstanding: '100.00', lateFee: '3.00', dueDate: '2026-01-20' })]);
  });
});
