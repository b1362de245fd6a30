import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { getPayment, ledgerEntries, lockAccountsForShare, openMissingAccounts, reversePayment, statementFor } from '../../src/payments/index.ts';
import { bill, customersOf, pay, postBills } from './builders.ts';

let ctx: TestContext;
let res: { id: number; number: string }[];

beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: '2026-04-30T10:00:00+08:00' });
  res = await customersOf(ctx, 'residential', 12);
});
afterAll(async () => ctx?.drop());

describe('account ledger', () => {
  it('opens one account per existing customer in one statement', async () => {
    await openMissingAccounts(ctx.db);
    const r = await sql<{ a: number; c: number }>`SELECT (SELECT count(*) FROM account)::int AS a, (SELECT count(*) FROM customer)::int AS c`.execute(ctx.db);
    expect(r.rows[0]!.a).toBe(r.rows[0]!.c);
    expect(await openMissingAccounts(ctx.db)).toBe(0);
  });

  it('allocates a payment to the oldest debt first, each with its late fee', async () => {
    const c = res[0]!;
    const a = bill(c.id, '100.00', '2026-01-10');
    const b = bill(c.id, '80.00', '2026-02-10');
    await postBills(ctx, b, a);
    // 2026-02-19: A is 40 days late (4.00), B 9 days (0.72 → minimum 1.00); 110.00 pays A whole, 6.00 into B
    const p = await pay(ctx, c.number, '110.00', '2026-02-19');
    expect(p.allocations).toEqual([
      { billNo: a.billNo, billId: a.billId, principal: '100.00', lateFee: '4.00' },
      { billNo: b.billNo, billId: b.billId, principal: '5.95', lateFee: '0.05' },
    ]);
    const s = await statementFor(ctx.db, c.id, '2026-02-19');
    expect(s.lines.map((l) => l.billNo)).toEqual([b.billNo]);
    expect(s).toMatchObject({ outstanding: '74.05', lateFee: '0.95', totalDue: '75.00', prepaid: '0.00' });
    // the ledger balance counts late fees when charged: 180 + 4.05 − 110
    expect(s.ledgerBalance).toBe('74.05');
  });

  it('posting the same bill twice changes nothing', async () => {
    const c = res[1]!;
    const b = bill(c.id, '66.00', '2026-03-01');
    expect((await postBills(ctx, b)).posted).toBe(1);
    expect((await postBills(ctx, b)).posted).toBe(0);
    expect((await statementFor(ctx.db, c.id, '2026-03-01')).outstanding).toBe('66.00');
  });

  it('an overpayment becomes prepaid balance that settles the next bill when it is posted', async () => {
    const c = res[2]!;
    const p = await pay(ctx, c.number, '300.00', '2026-01-05');
    expect(p.prepaid).toBe('300.00');
    expect((await statementFor(ctx.db, c.id, '2026-01-05')).prepaid).toBe('300.00');
    const b = bill(c.id, '120.00', '2026-02-10', { issuedOn: '2026-01-26' });
    const r = await postBills(ctx, b);
    expect(r.settled).toBe(1);
    const s = await statementFor(ctx.db, c.id, '2026-04-30');
    expect(s.lines).toEqual([]);
    expect(s.prepaid).toBe('180.00');
    expect(s.ledgerBalance).toBe('-180.00');
  });

  it('a credit note settles open debt without a late fee', async () => {
    const c = res[3]!;
    const b = bill(c.id, '90.00', '2026-02-01');
    await postBills(ctx, b);
    await postBills(ctx, bill(c.id, '-40.00', '2026-03-01', { kind: 'credit' }));
    const s = await statementFor(ctx.db, c.id, '2026-04-30');
    expect(s.lines).toEqual([expect.objectContaining({ billNo: b.billNo, outstanding: '50.00' })]);
    expect(s.prepaid).toBe('0.00');
  });

  it('a reversal restores the debt and its late fee as if the payment never happened', async () => {
    const c = res[4]!;
    const b = bill(c.id, '200.00', '2026-01-10');
    await postBills(ctx, b);
    const p = await pay(ctx, c.number, '204.00', '2026-01-30');
    expect(p.allocations).toEqual([expect.objectContaining({ principal: '200.00', lateFee: '4.00' })]);
    expect((await statementFor(ctx.db, c.id, '2026-04-30')).lines).toEqual([]);
    await reversePayment(ctx.db, ctx.clock, p.id, 'test', 'cheque bounced');
    // 110 days late on 200.00 at 1‰ = 22.00, as if never paid
    const s = await statementFor(ctx.db, c.id, '2026-04-30');
    expect(s.lines).toEqual([expect.objectContaining({ outstanding: '200.00', lateFee: '22.00', daysOverdue: 110 })]);
    expect(s.ledgerBalance).toBe('200.00');
    // before the reversal day the account was settled: as-of views keep history
    expect((await statementFor(ctx.db, c.id, '2026-02-15')).lines).toEqual([]);
    const kinds = (await ledgerEntries(ctx.db, c.id, { limit: 50, offset: 0 })).items.map((e) => e.kind);
    expect(kinds).toEqual(['bill', 'payment', 'late_fee', 'late_fee_reversal', 'payment_reversal']);
    expect((await getPayment(ctx.db, p.id))!.reversed).toMatchObject({ reason: 'cheque bounced' });
    await expect(reversePayment(ctx.db, ctx.clock, p.id, 'test', 'again')).rejects.toMatchObject({ code: 'PAYMENT_ALREADY_REVERSED' });
  });

  it('reversing a payment whose prepaid money settled a later bill reopens that bill too', async () => {
    const c = res[5]!;
    const p = await pay(ctx, c.number, '100.00', '2026-01-02');
    const b = bill(c.id, '70.00', '2026-02-10', { issuedOn: '2026-01-26' });
    await postBills(ctx, b);
    expect((await statementFor(ctx.db, c.id, '2026-02-01')).lines).toEqual([]);
    await reversePayment(ctx.db, ctx.clock, p.id, 'test', 'fraud');
    const s = await statementFor(ctx.db, c.id, '2026-04-30');
    expect(s.lines).toEqual([expect.objectContaining({ billNo: b.billNo, outstanding: '70.00' })]);
    expect(s.prepaid).toBe('0.00');
  });

  it('arrears move through age bands and the account lock can be shared by dunning', async () => {
    const c = res[6]!;
    await postBills(ctx, bill(c.id, '10.00', '2026-01-01'));
    await ctx.db.transaction().execute(async (trx) => lockAccountsForShare(trx, [c.id, res[7]!.id]));
    const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM payments_open_debt('2026-04-30') WHERE customer_id = ${c.id}`.execute(ctx.db);
    expect(r.rows[0]!.n).toBe(1);
  });
});
