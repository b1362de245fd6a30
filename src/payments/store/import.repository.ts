import { sql } from 'kysely';
import { today, type Clock, type Db } from '../../platform/index.ts';
import { csvRecords } from '../domain/csv.ts';
import { backdatingRejection, isRejection, validatePayment, type PaymentInput } from '../domain/payment-input.ts';
import { loadBackdatingWindow } from './date-policy.repository.ts';
import { postPayments, type PaymentSource } from './payments.repository.ts';

export interface RowRejection {
  line: number;
  reference?: string;
  code: string;
  reason: string;
}

export interface BatchPostResult {
  line: number;
  status: 'posted' | 'duplicate' | 'conflict' | 'unknown_customer';
  paymentId: number | null;
}

/**
 * Post many payments in one set-based statement (payments_post_many), in file order; each row is exactly
 * once by (channel, reference); the same key twice in the batch is posted once.
 */
export async function postPaymentBatch(db: Db, clock: Clock, rows: { line: number; p: PaymentInput }[], actor: string, source: PaymentSource): Promise<BatchPostResult[]> {
  const out = await postPayments(db, clock.now(), rows.map((x) => ({ p: x.p, actor })), source);
  return out.map((o, i) => ({ line: rows[i]!.line, status: o.status, paymentId: o.payment ? o.payment.id : null }));
}

export const REJECTION_FOR_STATUS = {
  unknown_customer: { code: 'PAYMENT_CUSTOMER_UNKNOWN', reason: 'no such customer number' },
  conflict: { code: 'PAYMENT_REFERENCE_CONFLICT', reason: 'this channel reference was already posted with another customer or amount' },
} as const;

export interface ImportReport {
  rows: number;
  posted: number;
  duplicates: number;
  rejected: RowRejection[];
}

/**
 * Import a CSV of payments (header: channel,reference,customer_number,amount,currency,paid_on). Bad rows are
 * rejected with a code and reason; the good rows are posted; a re-import reports its rows as duplicates.
 */
/**
 * `scopePath`: the importer's org scope. A row for a customer outside it is rejected (PAYMENT_OUT_OF_SCOPE)
 * and the others are posted: a city's clerk posts the city's share of a bank's province-wide file.
 */
export async function importPayments(db: Db, clock: Clock, csv: string, actor: string, defaults: { channel?: string; scopePath?: string } = {}): Promise<ImportReport> {
  const { header, records } = csvRecords(csv);
  const rejected: RowRejection[] = [];
  for (const col of ['reference', 'customer_number', 'amount']) {
    if (!header.includes(col)) return { rows: records.length, posted: 0, duplicates: 0, rejected: [{ line: 1, code: 'IMPORT_HEADER_INVALID', reason: `missing column ${col}` }] };
  }
  const good: { line: number; p: PaymentInput }[] = [];
  const seen = new Set<string>();
  const day = today(clock);
  const window = await loadBackdatingWindow(db);
  for (const rec of records) {
    if (rec.problem || rec.width !== header.length) {
      rejected.push({ line: rec.line, code: 'IMPORT_ROW_MALFORMED', reason: rec.problem ?? `expected ${header.length} fields, found ${rec.width}` });
      continue;
    }
    const v = validatePayment({
      channel: rec.get('channel') || defaults.channel, reference: rec.get('reference'), customerNumber: rec.get('customer_number'),
      amount: rec.get('amount'), currency: rec.get('currency') || 'CNY', paidOn: rec.get('paid_on'),
    }, day);
    if (isRejection(v)) { rejected.push({ line: rec.line, reference: rec.get('reference'), code: v.code, reason: v.reason }); continue; }
    const late = backdatingRejection(v, day, window);
    if (late) { rejected.push({ line: rec.line, reference: v.reference, ...late }); continue; }
    const key = `${v.channel}\u0000${v.reference}`;
    if (seen.has(key)) { rejected.push({ line: rec.line, reference: v.reference, code: 'IMPORT_DUPLICATE_IN_FILE', reason: `reference ${v.reference} appears twice in the file` }); continue; }
    seen.add(key);
    good.push({ line: rec.line, p: v });
  }
  const outside = defaults.scopePath ? await customersOutside(db, defaults.scopePath, good.map((g) => g.p.customerNumber)) : new Set<string>();
  for (const g of good.filter((x) => outside.has(x.p.customerNumber))) {
    rejected.push({ line: g.line, reference: g.p.reference, code: 'PAYMENT_OUT_OF_SCOPE', reason: `customer ${g.p.customerNumber} is outside your org scope` });
  }
  const posting = good.filter((x) => !outside.has(x.p.customerNumber));
  const results = await postPaymentBatch(db, clock, posting, actor, 'import');
  const refs = new Map(posting.map((g) => [g.line, g.p.reference]));
  for (const r of results) {
    if (r.status === 'unknown_customer' || r.status === 'conflict') rejected.push({ line: r.line, reference: refs.get(r.line), ...REJECTION_FOR_STATUS[r.status] });
  }
  rejected.sort((a, b) => a.line - b.line);
  return {
    rows: records.length,
    posted: results.filter((r) => r.status === 'posted').length,
    duplicates: results.filter((r) => r.status === 'duplicate').length,
    rejected,
  };
}

/** Of these customer numbers, those of customers outside the org subtree `scopePath` (unknown numbers are not among them). */
async function customersOutside(db: Db, scopePath: string, numbers: string[]): Promise<Set<string>> {
  if (!numbers.length) return new Set();
  const r = await sql<{ number: string }>`
    SELECT number FROM customer WHERE number = ANY (${[...new Set(numbers)]}::text[]) AND org_path NOT LIKE ${`${scopePath}%`}`.execute(db);
  return new Set(r.rows.map((x) => x.number));
}
