import { sql } from 'kysely';
import { businessDate, conflict, notFound, type Clock, type Db } from '../../platform/index.ts';
import type { PaymentInput } from '../domain/payment-input.ts';
import { lockAccountsForUpdate } from './accounts.repository.ts';

export type PostStatus = 'posted' | 'duplicate' | 'conflict' | 'unknown_customer';
export type PaymentSource = 'api' | 'import' | 'reconciliation';

export interface PaymentRow {
  id: number;
  channel: string;
  reference: string;
  customer_id: number;
  amount: string;
  currency: string;
  received_on: string;
  posted_at: Date;
  posted_by: string;
  source: PaymentSource;
}

export interface Payment {
  id: number;
  channel: string;
  reference: string;
  customerId: number;
  customerNumber: string;
  amount: string;
  currency: string;
  paidOn: string;
  postedAt: string;
  postedBy: string;
  source: PaymentSource;
  reversed: { on: string; by: string; reason: string } | null;
  /** What the payment settled when it was posted (later prepaid settlements are listed in the ledger). */
  allocations: { billNo: string; billId: number | null; principal: string; lateFee: string }[];
  /** Part of the payment kept as prepaid balance at posting. */
  prepaid: string;
}

/** One row of payments_post_many: the status of an input row and the stored payment it maps to. */
interface PostManyRow {
  ord: number;
  status: PostStatus;
  payment_id: number | null;
  channel: string | null;
  reference: string | null;
  customer_id: number | null;
  customer_number: string | null;
  amount: string | null;
  currency: string | null;
  received_on: string | null;
  posted_at: Date | null;
  posted_by: string | null;
  source: PaymentSource | null;
  reversed_on: string | null;
  reversed_by: string | null;
  reversal_reason: string | null;
  allocations: { billNo: string; billId: number | null; principal: string; lateFee: string }[] | null;
  prepaid: string | null;
}

/** What one posting came to: the status and, unless the customer is unknown, the stored payment. */
export interface PostOutcome {
  status: PostStatus;
  payment: Payment | null;
}

function outcomeOf(row: PostManyRow): PostOutcome {
  if (row.payment_id === null) return { status: row.status, payment: null };
  return {
    status: row.status,
    payment: {
      id: Number(row.payment_id), channel: row.channel!, reference: row.reference!, customerId: Number(row.customer_id), customerNumber: row.customer_number!,
      amount: row.amount!, currency: row.currency!.trim(), paidOn: row.received_on!, postedAt: row.posted_at!.toISOString(), postedBy: row.posted_by!,
      source: row.source!, reversed: row.reversed_on ? { on: row.reversed_on, by: row.reversed_by!, reason: row.reversal_reason! } : null,
      allocations: (row.allocations ?? []).map((a) => ({ ...a, billId: a.billId === null ? null : Number(a.billId) })),
      prepaid: row.prepaid!,
    },
  };
}

/**
 * Post many payments in one statement and one transaction (payments_post_many), each exactly once per
 * (channel, reference); outcomes in input order. The same key twice in one call is posted once.
 */
export async function postPayments(db: Db, at: Date, rows: readonly { p: PaymentInput; actor: string }[], source: PaymentSource): Promise<PostOutcome[]> {
  if (!rows.length) return [];
  const r = await sql<PostManyRow>`
    SELECT * FROM payments_post_many(${rows.map((x) => x.p.channel)}::text[], ${rows.map((x) => x.p.reference)}::text[],
      ${rows.map((x) => x.p.customerNumber)}::text[], ${rows.map((x) => x.p.amount)}::numeric[], ${rows.map((x) => x.p.paidOn)}::date[],
      ${rows.map((x) => x.actor)}::text[], ${at}::timestamptz, ${source})`.execute(db);
  return r.rows.map(outcomeOf);
}

/** The API's answer for one posting: the payment, or the stable error of an unknown customer or a reused reference. */
export function settleOutcome(o: PostOutcome, p: PaymentInput): { payment: Payment; duplicate: boolean } {
  if (o.status === 'unknown_customer') throw notFound('PAYMENT_CUSTOMER_UNKNOWN', `no customer ${p.customerNumber}`);
  if (o.status === 'conflict') throw conflict('PAYMENT_REFERENCE_CONFLICT', `${p.channel} reference ${p.reference} was already posted with another customer or amount`);
  return { payment: o.payment!, duplicate: o.status === 'duplicate' };
}

/** Post one payment and return it; a repeat of the same posting returns the first one (duplicate = true). */
export async function postPayment(db: Db, clock: Clock, p: PaymentInput, actor: string, source: PaymentSource): Promise<{ payment: Payment; duplicate: boolean }> {
  const [o] = await postPayments(db, clock.now(), [{ p, actor }], source);
  return settleOutcome(o!, p);
}

export async function getPayment(db: Db, id: number): Promise<Payment | undefined> {
  const r = await sql<PaymentRow & { customer_number: string; org_path: string; reversed_on: string | null; reversed_by: string | null; reason: string | null; allocations: { billNo: string; billId: number | null; principal: string; lateFee: string }[] | null; prepaid: string }>`
    SELECT p.*, c.number AS customer_number, x.reversed_on, x.reversed_by, x.reason,
      (SELECT json_agg(json_build_object('billNo', r.ref_no, 'billId', r.bill_id, 'principal', a.principal::text, 'lateFee', a.late_fee::text) ORDER BY r.due_date, r.id)
         FROM allocation a JOIN receivable r ON r.id = a.receivable_id
        WHERE a.source_kind = 'payment' AND a.source_id = p.id AND a.applied_at = p.posted_at AND a.principal >= 0) AS allocations,
      (p.amount - (SELECT coalesce(sum(a.principal + a.late_fee), 0) FROM allocation a
        WHERE a.source_kind = 'payment' AND a.source_id = p.id AND a.applied_at = p.posted_at AND a.principal >= 0))::numeric(14,2)::text AS prepaid
    FROM payment p JOIN customer c ON c.id = p.customer_id LEFT JOIN payment_reversal x ON x.payment_id = p.id
    WHERE p.id = ${id}`.execute(db);
  const row = r.rows[0];
  if (!row) return undefined;
  return {
    id: Number(row.id), channel: row.channel, reference: row.reference, customerId: Number(row.customer_id), customerNumber: row.customer_number,
    amount: row.amount, currency: row.currency.trim(), paidOn: row.received_on, postedAt: row.posted_at.toISOString(), postedBy: row.posted_by, source: row.source,
    reversed: row.reversed_on ? { on: row.reversed_on, by: row.reversed_by!, reason: row.reason! } : null,
    allocations: row.allocations ?? [],
    prepaid: row.prepaid,
  };
}

export async function paymentOrgPath(db: Db, id: number): Promise<string | undefined> {
  const r = await sql<{ org_path: string }>`SELECT c.org_path FROM payment p JOIN customer c ON c.id = p.customer_id WHERE p.id = ${id}`.execute(db);
  return r.rows[0]?.org_path;
}

/**
 * Reverse a payment (bounced withholding, counter error): the money leaves the account, every allocation
 * it made (at posting or later from prepaid) is undone, so each bill is owed again and its late fee accrues
 * again from the due date; the fees charged with it are credited back. Then the account's other prepaid
 * money, if any, settles what was reopened, oldest debt first: dated the reversal day, with the late fee
 * accrued to the day that money and the debt first coexisted (the money was there all along; only the
 * reversed payment seemed to pay). What other payments already allocated stays where it went: a payment
 * keeps the bills it paid (their notices were cancelled and the customer was told they were paid).
 */
export async function reversePayment(db: Db, clock: Clock, paymentId: number, actor: string, reason: string): Promise<void> {
  const now = clock.now();
  const on = businessDate(now);
  await db.transaction().execute(async (trx) => {
    const p = await sql<{ customer_id: number; amount: string }>`SELECT customer_id, amount FROM payment WHERE id = ${paymentId}`.execute(trx);
    const pay = p.rows[0];
    if (!pay) throw notFound('PAYMENT_UNKNOWN', `no payment ${paymentId}`);
    await lockAccountsForUpdate(trx, [Number(pay.customer_id)]);
    const ins = await sql`INSERT INTO payment_reversal (payment_id, reversed_on, reversed_at, reversed_by, reason)
      VALUES (${paymentId}, ${on}::date, ${now}::timestamptz, ${actor}, ${reason}) ON CONFLICT DO NOTHING`.execute(trx);
    if (Number(ins.numAffectedRows ?? 0) === 0) throw conflict('PAYMENT_ALREADY_REVERSED', `payment ${paymentId} is already reversed`);
    await sql`
      WITH undo AS (
        SELECT customer_id, receivable_id, sum(principal) AS principal, sum(late_fee) AS late_fee
        FROM allocation WHERE source_kind = 'payment' AND source_id = ${paymentId}
        GROUP BY customer_id, receivable_id HAVING sum(principal) <> 0 OR sum(late_fee) <> 0
      ), neg AS (
        INSERT INTO allocation (customer_id, receivable_id, source_kind, source_id, principal, late_fee, applied_on, applied_at)
        SELECT customer_id, receivable_id, 'payment', ${paymentId}, -principal, -late_fee, ${on}::date, ${now}::timestamptz FROM undo
      )
      INSERT INTO ledger_entry (customer_id, kind, amount, entry_date, posted_at, receivable_id, payment_id, memo)
      SELECT customer_id, 'late_fee_reversal', -late_fee, ${on}::date, ${now}::timestamptz, receivable_id, ${paymentId}, ${reason} FROM undo WHERE late_fee <> 0`.execute(trx);
    await sql`INSERT INTO ledger_entry (customer_id, kind, amount, entry_date, posted_at, payment_id, memo)
      VALUES (${pay.customer_id}, 'payment_reversal', ${pay.amount}::numeric, ${on}::date, ${now}::timestamptz, ${paymentId}, ${reason})`.execute(trx);
    await sql`SELECT payments_settle(ARRAY[${pay.customer_id}]::bigint[], NULL, ${now}::timestamptz, ${on}::date)`.execute(trx);
    await sql`INSERT INTO audit_log (at, actor, action, subject, detail)
      VALUES (${now}::timestamptz, ${actor}, 'payment.reverse', ${`payment:${paymentId}`}, ${JSON.stringify({ reason })}::jsonb)`.execute(trx);
  });
}

export interface PaymentSearch {
  scopePath: string;
  customerId?: number;
  channel?: string;
  from?: string;
  to?: string;
  limit: number;
  offset: number;
}

export async function listPayments(db: Db, q: PaymentSearch) {
  const r = await sql<PaymentRow & { customer_number: string; reversed: boolean; total: number }>`
    SELECT p.*, c.number AS customer_number, EXISTS (SELECT 1 FROM payment_reversal x WHERE x.payment_id = p.id) AS reversed,
           count(*) OVER ()::int AS total
    FROM payment p JOIN customer c ON c.id = p.customer_id
    WHERE c.org_path LIKE ${`${q.scopePath}%`}
      AND (${q.customerId ?? null}::bigint IS NULL OR p.customer_id = ${q.customerId ?? null})
      AND (${q.channel ?? null}::text IS NULL OR p.channel = ${q.channel ?? null})
      AND (${q.from ?? null}::date IS NULL OR p.received_on >= ${q.from ?? null}::date)
      AND (${q.to ?? null}::date IS NULL OR p.received_on <= ${q.to ?? null}::date)
    ORDER BY p.received_on DESC, p.id DESC LIMIT ${q.limit} OFFSET ${q.offset}`.execute(db);
  return {
    total: r.rows[0]?.total ?? 0,
    items: r.rows.map((p) => ({
      id: Number(p.id), channel: p.channel, reference: p.reference, customerNumber: p.customer_number, amount: p.amount,
      paidOn: p.received_on, postedAt: p.posted_at.toISOString(), source: p.source, reversed: p.reversed,
    })),
  };
}
