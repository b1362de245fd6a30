import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { signIn, signInCustomer, testApp } from '../support/http.ts';
import { issueChannelToken } from '../../src/payments/index.ts';
import { bill, customersOf, postBills } from './builders.ts';

let ctx: TestContext;
let app: FastifyInstance;
let bank: { authorization: string };
let res: { id: number; number: string }[];

beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: '2026-03-01T10:00:00+08:00' });
  app = await testApp(ctx);
  bank = { authorization: `Bearer ${await issueChannelToken(ctx.db, 'bank_counter')}` };
  res = await customersOf(ctx, 'residential', 10);
});
afterAll(async () => {
  await app?.close();
  await ctx?.drop();
});

const post = (headers: { authorization: string }, body: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: '/api/v1/payments', headers, payload: body });

describe('payments API', () => {
  it('posts a payment, allocates it and answers 201 with the allocations', async () => {
    const c = res[0]!;
    await postBills(ctx, bill(c.id, '88.80', '2026-02-20'));
    const r = await post(bank, { channel: 'bank_counter', reference: 'BC-0001', customerNumber: c.number, amount: '100.00', currency: 'CNY' });
    expect(r.statusCode).toBe(201);
    // 9 days late: 88.80 × 0.009 = 0.80 → minimum 1.00; 100.00 − 89.80 stays prepaid
    expect(r.json()).toMatchObject({ amount: '100.00', paidOn: '2026-03-01', duplicate: false, prepaid: '10.20', allocations: [{ principal: '88.80', lateFee: '1.00' }] });
  });

  it('20 identical posts at the same moment make one payment; every answer is the first one', async () => {
    const c = res[1]!;
    await postBills(ctx, bill(c.id, '50.00', '2026-03-10', { issuedOn: '2026-02-25' }));
    const body = { channel: 'bank_counter', reference: 'BC-RACE-1', customerNumber: c.number, amount: '50.00', currency: 'CNY' };
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(bank, body)));
    expect(answers.filter((a) => a.statusCode === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.statusCode === 200 && a.json().duplicate === true)).toHaveLength(19);
    const ids = new Set(answers.map((a) => a.json().id));
    expect(ids.size).toBe(1);
    const n = await sql<{ p: number; l: number; a: number }>`SELECT
      (SELECT count(*) FROM payment WHERE reference = 'BC-RACE-1')::int AS p,
      (SELECT count(*) FROM ledger_entry WHERE customer_id = ${c.id} AND kind = 'payment')::int AS l,
      (SELECT count(*) FROM allocation WHERE customer_id = ${c.id})::int AS a`.execute(ctx.db);
    expect(n.rows[0]).toEqual({ p: 1, l: 1, a: 1 });
  });

  it('the same reference with another amount is a conflict, not a second payment', async () => {
    const c = res[1]!;
    const r = await post(bank, { channel: 'bank_counter', reference: 'BC-RACE-1', customerNumber: c.number, amount: '51.00', currency: 'CNY' });
    expect(r.statusCode).toBe(409);
    expect(r.json().code).toBe('PAYMENT_REFERENCE_CONFLICT');
  });

  it.each([
    [{ customerNumber: '2999999999', amount: '10.00', currency: 'CNY' }, 404, 'PAYMENT_CUSTOMER_UNKNOWN'],
    [{ amount: '0.00', currency: 'CNY' }, 400, 'PAYMENT_AMOUNT_NOT_POSITIVE'],
    [{ amount: '-5.00', currency: 'CNY' }, 400, 'PAYMENT_AMOUNT_NOT_POSITIVE'],
    [{ amount: '10.001', currency: 'CNY' }, 400, 'PAYMENT_AMOUNT_INVALID'],
    [{ amount: '10.00', currency: 'USD' }, 400, 'PAYMENT_CURRENCY_NOT_CNY'],
    [{ amount: '10.00', currency: 'CNY', paidOn: '2026-03-02' }, 400, 'PAYMENT_DATE_IN_FUTURE'],
    // the same codes as a file import gives for the same row
    [{ amount: '10.00', currency: 'CNY', paidOn: '2026-02-30' }, 400, 'PAYMENT_DATE_INVALID'],
    [{ amount: '10.00', currency: 'CNY', paidOn: '20260228' }, 400, 'PAYMENT_DATE_INVALID'],
  ])('rejects bad input %o with %i %s', async (over, status, code) => {
    const r = await post(bank, { channel: 'bank_counter', reference: `BAD-${code}-${status}`, customerNumber: res[2]!.number, ...over });
    expect(r.statusCode).toBe(status);
    expect(r.json().code).toBe(code);
    const n = await sql<{ n: number }>`SELECT count(*)::int AS n FROM payment WHERE reference = ${`BAD-${code}-${status}`}`.execute(ctx.db);
    expect(n.rows[0]!.n).toBe(0);
  });

  it('a paidOn left empty or null is today, as in a file import', async () => {
    for (const [i, paidOn] of (['', null] as const).entries()) {
      const r = await post(bank, { channel: 'bank_counter', reference: `BC-NODATE-${i}`, customerNumber: res[2]!.number, amount: '1.00', currency: 'CNY', paidOn });
      expect(r.statusCode, r.body).toBe(201);
      expect(r.json().paidOn).toBe('2026-03-01');
    }
  });

  it('refuses a payment dated further back than its channel allows, with a code; the window is data', async () => {
    const c = res[7]!;
    await postBills(ctx, bill(c.id, '60.00', '2026-01-05'));
    // today is 2026-03-01: a bank counter may date a payment 31 days back, to 2026-01-29
    const bankOn = (reference: string, paidOn: string) => post(bank, { channel: 'bank_counter', reference, customerNumber: c.number, amount: '1.00', currency: 'CNY', paidOn });
    const old = await bankOn('BC-OLD-1', '2026-01-28');
    expect([old.statusCode, old.json().code]).toEqual([400, 'PAYMENT_DATE_TOO_OLD']);
    expect(old.json().message).toContain('2026-01-29');
    expect((await bankOn('BC-OLD-2', '2026-01-29')).statusCode).toBe(201);
    // a customer paying on the portal pays today: dating it before the due date would waive the late fee
    const me = await signInCustomer(app, c.number);
    const early = await post(me, { channel: 'portal', reference: 'P-OLD-1', customerNumber: c.number, amount: '58.00', currency: 'CNY', paidOn: '2026-01-02' });
    expect([early.statusCode, early.json().code]).toEqual([400, 'PAYMENT_DATE_TOO_OLD']);
    const stored = await sql<{ reference: string }>`SELECT reference FROM payment WHERE reference IN ('BC-OLD-1', 'BC-OLD-2', 'P-OLD-1') ORDER BY reference`.execute(ctx.db);
    expect(stored.rows).toEqual([{ reference: 'BC-OLD-2' }]);
    // an administrator widens the bank counter's window
    await sql`INSERT INTO payment_date_policy (channel, max_backdated_days) VALUES ('bank_counter', 60)`.execute(ctx.db);
    expect((await bankOn('BC-OLD-1', '2026-01-28')).statusCode).toBe(201);
    await sql`DELETE FROM payment_date_policy WHERE channel = 'bank_counter'`.execute(ctx.db);
  });

  it('a channel integration posts only on its own channel', async () => {
    const r = await post(bank, { channel: 'online_wallet', reference: 'W-1', customerNumber: res[2]!.number, amount: '1.00', currency: 'CNY' });
    expect(r.statusCode).toBe(403);
  });

  it('a customer pays its own bills on the portal and reads its statement, but not another customer', async () => {
    const me = res[3]!;
    await postBills(ctx, bill(me.id, '30.00', '2026-03-15', { issuedOn: '2026-02-25' }));
    const auth = await signInCustomer(app, me.number);
    expect((await post(auth, { channel: 'portal', reference: 'P-1', customerNumber: me.number, amount: '30.00', currency: 'CNY' })).statusCode).toBe(201);
    expect((await post(auth, { channel: 'portal', reference: 'P-2', customerNumber: res[4]!.number, amount: '30.00', currency: 'CNY' })).statusCode).toBe(403);
    const s = await app.inject({ url: `/api/v1/customers/${me.number}/statement?asOf=2026-03-01`, headers: auth });
    expect(s.statusCode).toBe(200);
    expect(s.json()).toMatchObject({ customerNumber: me.number, lines: [], totalDue: '0.00', prepaid: '0.00' });
    expect((await app.inject({ url: `/api/v1/customers/${res[4]!.number}/statement`, headers: auth })).statusCode).toBe(403);
  });

  it('statement shows days overdue, late fee and total due; the ledger lists entries with a running balance', async () => {
    const c = res[5]!;
    await postBills(ctx, bill(c.id, '100.00', '2026-01-20'));
    const admin = await signIn(app, 'admin');
    const s = await app.inject({ url: `/api/v1/customers/${c.number}/statement?asOf=2026-02-19`, headers: admin });
    expect(s.json()).toMatchObject({ lines: [{ daysOverdue: 30, lateFee: '3.00', totalDue: '103.00' }], totalDue: '103.00' });
    const l = await app.inject({ url: `/api/v1/customers/${c.number}/ledger`, headers: admin });
    expect(l.json()).toMatchObject({ total: 1, items: [{ kind: 'bill', amount: '100.00', balance: '100.00' }] });
  });

  it('a clerk reverses a payment; the debt is back; a second reversal is refused', async () => {
    const c = res[6]!;
    await postBills(ctx, bill(c.id, '40.00', '2026-03-20', { issuedOn: '2026-02-25' }));
    const p = (await post(bank, { channel: 'bank_counter', reference: 'BC-REV-1', customerNumber: c.number, amount: '40.00', currency: 'CNY' })).json();
    const admin = await signIn(app, 'admin');
    const r = await app.inject({ method: 'POST', url: `/api/v1/payments/${p.id}/reversal`, headers: admin, payload: { reason: 'duplicate debit at the bank' } });
    expect(r.statusCode).toBe(200);
    expect(r.json().reversed).toMatchObject({ reason: 'duplicate debit at the bank' });
    const s = await app.inject({ url: `/api/v1/customers/${c.number}/statement`, headers: admin });
    expect(s.json().outstanding).toBe('40.00');
    const again = await app.inject({ method: 'POST', url: `/api/v1/payments/${p.id}/reversal`, headers: admin, payload: { reason: 'x' } });
    expect(again.json().code).toBe('PAYMENT_ALREADY_REVERSED');
    expect((await app.inject({ method: 'POST', url: `/api/v1/payments/${p.id}/reversal`, headers: bank, payload: { reason: 'x' } })).statusCode).toBe(403);
  });

  it("a reversal reopens the older bill; the account's unallocated money pays it, a later payment keeps the bill it paid", async () => {
    const admin = await signIn(app, 'admin');
    const pays = async (number: string, reference: string, amount: string, paidOn: string) =>
      (await post(bank, { channel: 'bank_counter', reference, customerNumber: number, amount, currency: 'CNY', paidOn })).json() as { id: number };
    const statement = async (number: string, asOf: string) => (await app.inject({ url: `/api/v1/customers/${number}/statement?asOf=${asOf}`, headers: admin })).json();
    const [withCredit, without] = [res[8]!, res[9]!];
    const older = new Map<number, string>();
    for (const c of [withCredit, without]) {
      const a = bill(c.id, '100.00', '2026-02-01', { issuedOn: '2026-01-17' });
      older.set(c.id, a.billNo);
      await postBills(ctx, a, bill(c.id, '80.00', '2026-02-20', { issuedOn: '2026-02-05' }));
    }
    // the first payment pays bill A (5 days late: the 1.00 minimum fee); the second, before B is due, pays B
    // and, for one customer, leaves 120.00 on the account
    const bounced = await pays(withCredit.number, 'BC-REOPEN-1', '101.00', '2026-02-06');
    const later = await pays(withCredit.number, 'BC-REOPEN-2', '200.00', '2026-02-10');
    const bouncedToo = await pays(without.number, 'BC-REOPEN-3', '101.00', '2026-02-06');
    const exact = await pays(without.number, 'BC-REOPEN-4', '80.00', '2026-02-10');
    ctx.clock.set('2026-03-01T15:00:00+08:00');
    for (const p of [bounced, bouncedToo]) {
      const r = await app.inject({ method: 'POST', url: `/api/v1/payments/${p.id}/reversal`, headers: admin, payload: { reason: 'cheque bounced' } });
      expect(r.statusCode, r.body).toBe(200);
    }

    // the 120.00 has been on the account since 10 February: it pays A with the fee accrued to that day
    // (9 days late: the 1.00 minimum), not to the reversal day (28 days: 2.80)
    expect(await statement(withCredit.number, '2026-03-01')).toMatchObject({ lines: [], outstanding: '0.00', prepaid: '19.00' });
    const ledger = (await app.inject({ url: `/api/v1/customers/${withCredit.number}/ledger?from=2026-03-01`, headers: admin })).json();
    expect(ledger.items.filter((e: { kind: string }) => e.kind === 'late_fee')).toEqual([expect.objectContaining({ amount: '1.00', entryDate: '2026-03-01' })]);
    // the days before the reversal read as they did
    expect(await statement(withCredit.number, '2026-02-15')).toMatchObject({ lines: [], prepaid: '120.00' });

    // without money on the account, A stays open; the later payment keeps paying B
    expect((await statement(without.number, '2026-03-01')).lines).toEqual([
      expect.objectContaining({ billNo: older.get(without.id), outstanding: '100.00', lateFee: '2.80' }),
    ]);
    const kept = (await app.inject({ url: `/api/v1/payments/${exact.id}`, headers: admin })).json();
    expect(kept.allocations).toEqual([expect.objectContaining({ principal: '80.00', lateFee: '0.00' })]);
    expect(kept.allocations[0].billNo).not.toBe(older.get(without.id));
    // what the later payments paid when posted is unchanged
    expect((await app.inject({ url: `/api/v1/payments/${later.id}`, headers: admin })).json()).toMatchObject({
      reversed: null, prepaid: '120.00', allocations: [expect.objectContaining({ principal: '80.00' })],
    });
    ctx.clock.set('2026-03-01T10:00:00+08:00');
  });

  it("a city clerk's import posts the city's rows of a province-wide file and refuses the others' by line", async () => {
    const inCity = async (city: string) => (await sql<{ number: string }>`
      SELECT number FROM customer WHERE org_path LIKE ${`%/${city}/%`} ORDER BY id LIMIT 1`.execute(ctx.db)).rows[0]!.number;
    const [own, other] = [await inCity('LN01'), await inCity('LN02')];
    const csv = `channel,reference,customer_number,amount,currency,paid_on\nbank_counter,IMP-SCOPE-1,${own},10.00,CNY,2026-03-01\nbank_counter,IMP-SCOPE-2,${other},20.00,CNY,2026-03-01\n`;
    const r = await app.inject({ method: 'POST', url: '/api/v1/payments/imports', headers: { ...(await signIn(app, 'clerk.LN01')), 'content-type': 'text/csv' }, payload: csv });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ rows: 2, posted: 1, rejected: [{ line: 3, reference: 'IMP-SCOPE-2', code: 'PAYMENT_OUT_OF_SCOPE' }] });
    const stored = await sql<{ reference: string }>`SELECT reference FROM payment WHERE reference LIKE 'IMP-SCOPE-%'`.execute(ctx.db);
    expect(stored.rows).toEqual([{ reference: 'IMP-SCOPE-1' }]);
  });

  it('lists payments in scope with paging and shows arrears by age band', async () => {
    const admin = await signIn(app, 'admin');
    const r = await app.inject({ url: '/api/v1/payments?channel=bank_counter&limit=2', headers: admin });
    expect(r.json()).toMatchObject({ limit: 2, offset: 0 });
    expect(r.json().items).toHaveLength(2);
    expect(r.json().total).toBeGreaterThanOrEqual(3);
    const a = await app.inject({ url: '/api/v1/payments/arrears?asOf=2026-02-19', headers: admin });
    expect(a.json().bands.find((b: { band: string }) => b.band === '1-30')).toMatchObject({ items: 1, outstanding: '100.00', lateFee: '3.00' });
  });
});
