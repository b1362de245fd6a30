import { sql } from 'kysely';
import type { AppContext } from '../../src/platform/index.ts';
import { postDebits, postPayment, type DebitRow, type PaymentChannel } from '../../src/payments/index.ts';

let nextBillId = 1_000_000;

/** A released bill for a customer, as billing would hand it over (credit notes: negative amount). */
export function bill(customerId: number, amount: string, dueDate: string, opts: Partial<DebitRow> = {}): DebitRow {
  const billId = ++nextBillId;
  return {
    billId, customerId, billNo: `B${billId}`, period: dueDate.slice(0, 7), kind: amount.startsWith('-') ? 'credit' : 'bill', amount,
    issuedOn: opts.issuedOn ?? dueDate, dueDate, releasedAt: new Date(`${opts.issuedOn ?? dueDate}T09:00:00+08:00`), ...opts,
  };
}

export async function postBills(ctx: AppContext, ...rows: DebitRow[]) {
  return postDebits(ctx.db, ctx.clock, rows);
}

let nextRef = 1;
export async function pay(ctx: AppContext, number: string, amount: string, paidOn: string, channel: PaymentChannel = 'bank_counter') {
  const r = await postPayment(ctx.db, ctx.clock, { channel, reference: `T${nextRef++}`, customerNumber: number, amount, paidOn }, 'test', 'api');
  return r.payment;
}

/** The first customers of a kind in the seeded province (id and number). */
export async function customersOf(ctx: AppContext, kind: 'residential' | 'non_residential', n: number, skip = 0): Promise<{ id: number; number: string }[]> {
  const r = await sql<{ id: number; number: string }>`SELECT id, number FROM customer WHERE kind = ${kind} ORDER BY id OFFSET ${skip} LIMIT ${n}`.execute(ctx.db);
  return r.rows.map((x) => ({ id: Number(x.id), number: x.number }));
}
