import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { arrearsByAge, openBillsAsOf, reversePayment } from '../../src/payments/index.ts';
import { bill, customersOf, pay, postBills } from './builders.ts';

let ctx: TestContext;
let who: { id: number; number: string }[];

beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: '2026-04-30T10:00:00+08:00' });
  who = [...await customersOf(ctx, 'residential', 6), ...await customersOf(ctx, 'non_residential', 6)];
  // due dates across the year end, in the future of some as-of dates, partly paid, with a credit note
  for (const [i, c] of who.entries()) {
    await postBills(ctx,
      bill(c.id, `${100 + i}.25`, '2025-11-30', { issuedOn: '2025-11-10' }),
      bill(c.id, `${40 + i}.10`, '2026-01-25', { issuedOn: '2026-01-05' }),
      bill(c.id, `${9 + i}.99`, '2026-03-25', { issuedOn: '2026-03-05' }));
    if (i % 3 === 0) await pay(ctx, c.number, '50.00', '2026-01-10');
    if (i % 4 === 1) await postBills(ctx, bill(c.id, '-12.34', '2026-02-01', { kind: 'credit' }));
  }
});
afterAll(async () => ctx?.drop());

type Row = { customer_id: number; receivable_id: number; outstanding: string; late_fee_paid: string; late_fee: string };

describe('open debt in one pass', () => {
  it.each(['2025-12-31', '2026-01-01', '2026-02-15', '2026-03-25', '2026-04-30'])('as of %s: the province-wide pass, one customer at a time and the rate rule per item agree', async (asOf) => {
    const ids = who.map((c) => c.id);
    const all = await sql<Row>`SELECT customer_id, receivable_id, outstanding::text, late_fee_paid::text, late_fee::text
      FROM payments_debt_as_of(${asOf}::date, NULL) WHERE customer_id = ANY (${ids}::bigint[]) ORDER BY receivable_id`.execute(ctx.db);
    expect(all.rows.length).toBeGreaterThan(0);
    const one: Row[] = [];
    for (const id of ids) {
      one.push(...(await sql<Row>`SELECT customer_id, receivable_id, outstanding::text, late_fee_paid::text, late_fee::text
        FROM payments_debt_as_of(${asOf}::date, ARRAY[${id}]::bigint[])`.execute(ctx.db)).rows);
    }
    expect(one.sort((a, b) => a.receivable_id - b.receivable_id)).toEqual(all.rows);
    // each fee recomputed item by item with the rule functions of 0601
    const rule = await sql<{ receivable_id: number; fee: string }>`
      SELECT d.receivable_id, payments_fee_due(d.outstanding, d.late_fee_paid, payments_fee_factor(c.kind, d.due_date, ${asOf}::date),
                                               payments_fee_minimum(c.kind, ${asOf}::date))::numeric(14,2)::text AS fee
      FROM payments_debt_as_of(${asOf}::date, ${ids}::bigint[]) d JOIN customer c ON c.id = d.customer_id ORDER BY d.receivable_id`.execute(ctx.db);
    // (compared at numeric(14,2): the pass now gives a fee of nothing as 0.00, the rule as 0)
    expect(rule.rows.map((r) => r.fee)).toEqual(all.rows.map((r) => r.late_fee));
  });

  it('a non-residential bill due 2025-11-30, unpaid on 2026-02-15: 2‰ for December, 3‰ from January, to the fen', async () => {
    const c = who[7]!; // non-residential, i = 7 (no payment, no credit note): 107.25 due 2025-11-30
    const open = await openBillsAsOf(ctx.db, '2026-02-15', [c.id]);
    // 31 days × 2‰ + 46 days × 3‰ = 0.062 + 0.138 = 0.200 × 107.25 = 21.45
    expect(open.find((b) => b.dueDate === '2025-11-30')).toMatchObject({ outstanding: '107.25', lateFee: '21.45' });
  });

  it('arrears of a city are the arrears of its customers; the province total is the sum of all', async () => {
    const asOf = '2026-02-15';
    const city = (await sql<{ p: string }>`SELECT substring(org_path FROM '^/[^/]+/[^/]+/[^/]+/') AS p FROM customer WHERE id = ${who[0]!.id}`.execute(ctx.db)).rows[0]!.p;
    const expected = (await sql<{ customers: number; outstanding: string; late_fee: string }>`
      SELECT count(DISTINCT d.customer_id)::int AS customers, sum(d.outstanding)::numeric(14,2)::text AS outstanding, sum(d.late_fee)::numeric(14,2)::text AS late_fee
      FROM payments_debt_as_of(${asOf}::date, NULL) d JOIN customer c ON c.id = d.customer_id WHERE c.org_path LIKE ${`${city}%`}`.execute(ctx.db)).rows[0]!;
    const scoped = await arrearsByAge(ctx.db, asOf, city);
    expect(scoped.total).toEqual({ customers: expected.customers, outstanding: expected.outstanding, lateFee: expected.late_fee });
    const province = await arrearsByAge(ctx.db, asOf, '/');
    const everyone = (await sql<{ customers: number }>`SELECT count(DISTINCT customer_id)::int AS customers FROM payments_debt_as_of(${asOf}::date, NULL)`.execute(ctx.db)).rows[0]!;
    expect(province.total.customers).toBe(everyone.customers);
    expect(province.total.customers).toBeGreaterThanOrEqual(scoped.total.customers);
    expect(province.bands.reduce((n, b) => n + b.items, 0)).toBe((await sql<{ n: number }>`SELECT count(*)::int AS n FROM payments_debt_as_of(${asOf}::date, NULL)`.execute(ctx.db)).rows[0]!.n);
  });

  it.each(['2026-01-01', '2026-02-15', '2026-04-30'])('as of %s: the statement totals per account are the sums of its statement lines', async (asOf) => {
    const ids = who.map((c) => c.id);
    const totals = await sql<{ customer_id: number; open_items: number; outstanding: string; late_fee: string; total_due: string }>`
      SELECT customer_id, open_items, outstanding::text, late_fee::text, total_due::text FROM payments_statement_totals(${asOf}::date)
      WHERE customer_id = ANY (${ids}::bigint[]) ORDER BY customer_id`.execute(ctx.db);
    const lines = await sql<{ customer_id: number; open_items: number; outstanding: string; late_fee: string; total_due: string }>`
      SELECT customer_id, count(*)::int AS open_items, sum(outstanding)::numeric(14,2)::text AS outstanding, sum(late_fee)::numeric(14,2)::text AS late_fee,
             sum(outstanding + late_fee)::numeric(14,2)::text AS total_due
      FROM payments_debt_as_of(${asOf}::date, ${ids}::bigint[]) GROUP BY customer_id ORDER BY customer_id`.execute(ctx.db);
    expect(lines.rows.length).toBeGreaterThan(0);
    expect(totals.rows).toEqual(lines.rows);
  });

  it('the open receivables and their paid totals follow the allocations: payments, a reversal, money dated after the day, past days', async () => {
    // other customers than the tests above: each pays its first bill in full, some pay part, one payment is reversed
    const more = [...await customersOf(ctx, 'residential', 4, 6), ...await customersOf(ctx, 'non_residential', 4, 6)];
    for (const [i, c] of more.entries()) {
      await postBills(ctx, bill(c.id, '80.00', '2026-02-10', { issuedOn: '2026-01-20' }), bill(c.id, '30.00', '2026-03-10', { issuedOn: '2026-02-20' }));
      const p = await pay(ctx, c.number, i % 2 ? '80.00' : '95.50', '2026-02-05');
      if (i === 3) await reversePayment(ctx.db, ctx.clock, p.id, 'test', 'bounced');
      if (i === 5) await pay(ctx, c.number, '30.00', '2026-05-02'); // dated after 2026-04-30
    }
    // the totals kept on each receivable are the sums of its allocations
    const drift = await sql<{ id: number }>`
      SELECT r.id FROM receivable r
      LEFT JOIN (SELECT receivable_id, sum((principal * 100)::bigint) AS p, sum((late_fee * 100)::bigint) AS f, max(applied_on) AS last
                 FROM allocation GROUP BY receivable_id) a ON a.receivable_id = r.id
      WHERE r.principal_paid_fen <> coalesce(a.p, 0) OR r.fee_paid_fen <> coalesce(a.f, 0) OR r.last_applied_on IS DISTINCT FROM a.last
         OR (r.amount > 0 AND (r.settled_on IS NULL) <> (coalesce(a.p, 0) < (r.amount * 100)::bigint))`.execute(ctx.db);
    expect(drift.rows).toEqual([]);
    const settled = await sql<{ n: number }>`SELECT count(*)::int AS n FROM receivable WHERE settled_on IS NOT NULL`.execute(ctx.db);
    expect(settled.rows[0]!.n).toBeGreaterThanOrEqual(7);
    // the open debt of any day is what summing every allocation up to that day gives
    for (const asOf of ['2026-01-31', '2026-02-05', '2026-03-01', '2026-04-30', '2026-05-01', '2026-05-02']) {
      const reference = await sql<{ receivable_id: number; outstanding_fen: string; late_fee_paid_fen: string }>`
        SELECT r.id AS receivable_id, ((r.amount * 100)::bigint - coalesce(sum((a.principal * 100)::bigint), 0))::text AS outstanding_fen,
               coalesce(sum((a.late_fee * 100)::bigint), 0)::text AS late_fee_paid_fen
        FROM receivable r LEFT JOIN allocation a ON a.receivable_id = r.id AND a.applied_on <= ${asOf}::date
        WHERE r.amount > 0 AND r.issued_on <= ${asOf}::date
        GROUP BY r.id, r.amount HAVING (r.amount * 100)::bigint > coalesce(sum((a.principal * 100)::bigint), 0)
        ORDER BY r.id`.execute(ctx.db);
      const pass = await sql<{ receivable_id: number; outstanding_fen: string; late_fee_paid_fen: string }>`
        SELECT receivable_id, outstanding_fen::text, late_fee_paid_fen::text FROM payments_debt_fen(${asOf}::date, NULL, NULL, NULL)
        ORDER BY receivable_id`.execute(ctx.db);
      expect(pass.rows, asOf).toEqual(reference.rows);
    }
  });

  it('the fee in fen is the fee of the numeric rule, to the fen, for small, half-fen and huge amounts (the bigint guard)', async () => {
    // outstanding (fen) × factor (millionths): round half up, the minimum top-up, and amounts whose product leaves bigint
    const r = await sql<{ o: string; paid: string; k: string; fen: string; rule: string }>`
      SELECT o::text, paid::text, k::text, payments_fee_due_fen(o, paid, k, 100, 9000000000000000000 / greatest(k, 1))::text AS fen,
             (payments_fee_due(o * 0.01, paid * 0.01, k * 0.000001, 1.00) * 100)::bigint::text AS rule
      FROM unnest(ARRAY[1, 50, 99, 12345, 2000000, 100100, 12345678901, 99999999999999, 99999999999999, 100000]::bigint[],
                  ARRAY[0, 0, 40, 0, 0, 0, 0, 0, 0, 100]::bigint[],
                  ARRAY[1000, 500, 3000, 35000, 2500, 5000, 192000, 3000, 30000000, 0]::bigint[]) AS t(o, paid, k)`.execute(ctx.db);
    for (const x of r.rows) expect({ ...x, fen: x.fen }).toEqual({ ...x, fen: x.rule });
    // the minimum (1 yuan, 40 fen already paid → 60); 1001.00 × 0.005 = 5.005 → 5.01 (half up); not overdue → 0
    expect(r.rows.map((x) => x.fen)).toEqual(['100', '100', '60', '432', '5000', '501', '2370370349', '300000000000', '2999999999999970', '0']);
  });
});
