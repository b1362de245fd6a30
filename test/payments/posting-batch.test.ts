import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { importPayments, PaymentPostQueue, postPayment, postPayments, type PaymentInput } from '../../src/payments/index.ts';
import { bill, customersOf, postBills } from './builders.ts';

let ctx: TestContext;
let res: { id: number; number: string }[];
let biz: { id: number; number: string }[];

beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: '2026-03-01T10:00:00+08:00' });
  res = await customersOf(ctx, 'residential', 20);
  biz = await customersOf(ctx, 'non_residential', 4);
});
afterAll(async () => ctx?.drop());

const input = (customerNumber: string, reference: string, amount: string, paidOn = '2026-03-01'): PaymentInput =>
  ({ channel: 'bank_counter', reference, customerNumber, amount, paidOn });

/** What each payment of a customer settled, in posting order: bill number suffix-free, principal, fee. */
async function allocationsOf(customerId: number) {
  const r = await sql<{ reference: string; bill: number; principal: string; late_fee: string; applied_on: string }>`
    SELECT p.reference, dense_rank() OVER (ORDER BY r.due_date, r.id)::int AS bill, a.principal::text, a.late_fee::text, a.applied_on
    FROM allocation a JOIN payment p ON p.id = a.source_id AND a.source_kind = 'payment' JOIN receivable r ON r.id = a.receivable_id
    WHERE a.customer_id = ${customerId} ORDER BY p.id, r.due_date, r.id`.execute(ctx.db);
  return r.rows.map((x) => ({ ...x, reference: x.reference.replace(/^[A-Z]+-/, '') }));
}

async function ledgerOf(customerId: number) {
  // the bills come from one set-based insert (no order among them); the rest in posting order
  const r = await sql<{ kind: string; amount: string }>`SELECT kind, amount::text FROM ledger_entry WHERE customer_id = ${customerId}
    ORDER BY kind <> 'bill', CASE WHEN kind = 'bill' THEN amount END, id`.execute(ctx.db);
  return r.rows;
}

describe('posting many payments in one statement', () => {
  it('several payments of one customer in one batch settle exactly as when posted one after the other', async () => {
    // twins: the same two overdue bills (one non-residential pair crossing the year, one residential pair)
    for (const [one, two] of [[res[0]!, res[1]!], [biz[0]!, biz[1]!]] as const) {
      for (const c of [one, two]) {
        await postBills(ctx, bill(c.id, '120.00', '2025-12-20', { issuedOn: '2025-12-01' }), bill(c.id, '80.55', '2026-01-25', { issuedOn: '2026-01-05' }));
      }
      // one after the other
      for (const [i, [amount, on]] of [['50.00', '2026-02-10'], ['100.00', '2026-02-20'], ['70.00', '2026-02-20']].entries()) {
        await postPayment(ctx.db, ctx.clock, input(one.number, `SEQ-${one.id}-${i}`, amount!, on), 'test', 'api');
      }
      // in one batch, with a stranger in between
      const out = await postPayments(ctx.db, ctx.clock.now(), [
        { p: input(two.number, `BAT-${two.id}-0`, '50.00', '2026-02-10'), actor: 'test' },
        { p: input(res[2]!.number, `BAT-${two.id}-x`, '5.00'), actor: 'test' },
        { p: input(two.number, `BAT-${two.id}-1`, '100.00', '2026-02-20'), actor: 'test' },
        { p: input(two.number, `BAT-${two.id}-2`, '70.00', '2026-02-20'), actor: 'test' },
      ], 'api');
      expect(out.map((o) => o.status)).toEqual(['posted', 'posted', 'posted', 'posted']);
      const seq = await allocationsOf(one.id);
      expect(seq.length).toBeGreaterThan(2);
      expect((await allocationsOf(two.id)).map((a) => ({ ...a, reference: a.reference.replace(/^\d+-/, '') })))
        .toEqual(seq.map((a) => ({ ...a, reference: a.reference.replace(/^\d+-/, '') })));
      expect(await ledgerOf(two.id)).toEqual(await ledgerOf(one.id));
    }
  });

  it('the same key twice in a batch is one payment; other content is a conflict; unknown customers are reported', async () => {
    const c = res[3]!;
    const out = await postPayments(ctx.db, ctx.clock.now(), [
      { p: input(c.number, 'DUP-1', '10.00'), actor: 'test' },
      { p: input(c.number, 'DUP-1', '10.00'), actor: 'test' },
      { p: input(c.number, 'DUP-1', '11.00'), actor: 'test' },
      { p: input('2999999999', 'DUP-2', '10.00'), actor: 'test' },
      { p: input(res[4]!.number, 'DUP-1', '10.00'), actor: 'test' },
    ], 'api');
    expect(out.map((o) => o.status)).toEqual(['posted', 'duplicate', 'conflict', 'unknown_customer', 'conflict']);
    expect(new Set(out.slice(0, 3).map((o) => o.payment!.id)).size).toBe(1);
    expect(out[1]!.payment).toEqual(out[0]!.payment);
    expect(out[3]!.payment).toBeNull();
    const n = await sql<{ p: number; l: number; a: number }>`SELECT
      (SELECT count(*) FROM payment WHERE reference IN ('DUP-1', 'DUP-2'))::int AS p,
      (SELECT count(*) FROM ledger_entry WHERE kind = 'payment' AND memo = 'bank_counter DUP-1')::int AS l,
      (SELECT count(*) FROM audit_log WHERE action = 'payment.post' AND detail->>'reference' = 'DUP-1')::int AS a`.execute(ctx.db);
    expect(n.rows[0]).toEqual({ p: 1, l: 1, a: 1 });
  });

  it('concurrent posts of one reference on separate connections make one payment', async () => {
    const c = res[5]!;
    await postBills(ctx, bill(c.id, '33.30', '2026-03-10', { issuedOn: '2026-02-25' }));
    const p = input(c.number, 'RACE-SQL-1', '33.30');
    const answers = await Promise.all(Array.from({ length: 12 }, () => postPayment(ctx.db, ctx.clock, p, 'test', 'api')));
    expect(answers.filter((a) => !a.duplicate)).toHaveLength(1);
    expect(new Set(answers.map((a) => a.payment.id)).size).toBe(1);
    expect(answers.every((a) => a.payment.allocations.length === 1 && a.payment.prepaid === '0.00')).toBe(true);
    const n = await sql<{ p: number; a: number }>`SELECT (SELECT count(*) FROM payment WHERE reference = 'RACE-SQL-1')::int AS p,
      (SELECT count(*) FROM allocation WHERE customer_id = ${c.id})::int AS a`.execute(ctx.db);
    expect(n.rows[0]).toEqual({ p: 1, a: 1 });
  });

  it('the posting queue groups concurrent postings into batches and answers each caller with its own outcome', async () => {
    const q = new PaymentPostQueue(ctx.db, ctx.clock, 'api', { concurrency: 2, maxBatch: 4 });
    const who = res.slice(6, 16);
    const outs = await Promise.all([
      ...who.map((c, i) => q.post(input(c.number, `Q-${i}`, `${i + 1}.00`), 'test')),
      q.post(input(who[0]!.number, 'Q-0', '1.00'), 'test'),
      q.post(input('2999999999', 'Q-X', '1.00'), 'test'),
    ]);
    expect(outs.map((o) => o.status)).toEqual([...who.map(() => 'posted'), 'duplicate', 'unknown_customer']);
    expect(outs.slice(0, who.length).map((o) => [o.payment!.customerNumber, o.payment!.amount])).toEqual(who.map((c, i) => [c.number, `${i + 1}.00`]));
    expect(q.stats.postings).toBe(12);
    expect(q.stats.largestBatch).toBeLessThanOrEqual(4);
    expect(q.stats.batches).toBeLessThan(12);
  });

  it('the queue keeps a posting out of the batches in flight when they hold its customer or its reference', async () => {
    // one slot per posting: without the rule all five would run at once, the customer's four waiting on its account lock
    const q = new PaymentPostQueue(ctx.db, ctx.clock, 'api', { concurrency: 5, maxBatch: 1 });
    const c = res[18]!;
    const other = res[19]!;
    const outs = await Promise.all([
      q.post(input(c.number, 'HOLD-1', '3.00'), 'test'),
      q.post(input(c.number, 'HOLD-2', '4.00'), 'test'),
      q.post(input(other.number, 'HOLD-X', '5.00'), 'test'),
      q.post(input(other.number, 'HOLD-X', '5.00'), 'test'), // a retry while the first is in flight
      q.post(input(c.number, 'HOLD-3', '6.00'), 'test'),
    ]);
    expect(outs.map((o) => o.status)).toEqual(['posted', 'posted', 'posted', 'duplicate', 'posted']);
    expect(outs[3]!.payment!.id).toBe(outs[2]!.payment!.id);
    // a customer's payments are posted in arrival order
    const ids = [outs[0]!, outs[1]!, outs[4]!].map((o) => o.payment!.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(q.stats.batches).toBe(5);
  });

  it('a file import posts set-based with the same allocations as posting each row', async () => {
    const [a, b] = [res[16]!, res[17]!];
    for (const c of [a, b]) await postBills(ctx, bill(c.id, '60.00', '2026-01-31'), bill(c.id, '45.10', '2026-02-20', { issuedOn: '2026-02-01' }));
    const rows = [['40.00', '2026-02-05'], ['30.00', '2026-02-25'], ['50.00', '2026-03-01']] as const;
    for (const [i, [amount, on]] of rows.entries()) await postPayment(ctx.db, ctx.clock, input(a.number, `IMP-${a.id}-${i}`, amount, on), 'test', 'api');
    const csv = ['channel,reference,customer_number,amount,currency,paid_on',
      ...rows.map(([amount, on], i) => `bank_counter,IMP-${b.id}-${i},${b.number},${amount},CNY,${on}`)].join('\n');
    expect(await importPayments(ctx.db, ctx.clock, csv, 'test')).toMatchObject({ rows: 3, posted: 3, duplicates: 0, rejected: [] });
    const strip = (x: Awaited<ReturnType<typeof allocationsOf>>) => x.map((y) => ({ ...y, reference: y.reference.replace(/^\d+-/, '') }));
    expect(strip(await allocationsOf(b.id))).toEqual(strip(await allocationsOf(a.id)));
    expect(await ledgerOf(b.id)).toEqual(await ledgerOf(a.id));
  });
});
