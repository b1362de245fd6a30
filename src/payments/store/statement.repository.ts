import { sql } from 'kysely';
import { daysBetween, type Db } from '../../platform/index.ts';

export interface OpenDebtRow {
  customer_id: number;
  receivable_id: number;
  bill_id: number | null;
  kind: string;
  ref_no: string;
  period: string | null;
  issued_on: string;
  due_date: string;
  amount: string;
  outstanding: string;
  late_fee_paid: string;
  late_fee: string;
}

export interface StatementLine {
  billId: number | null;
  billNo: string;
  kind: string;
  period: string | null;
  issuedOn: string;
  dueDate: string;
  amount: string;
  outstanding: string;
  daysOverdue: number;
  lateFee: string;
  totalDue: string;
}

export interface Statement {
  customerId: number;
  asOf: string;
  lines: StatementLine[];
  outstanding: string;
  lateFee: string;
  /** Unallocated money on the account; it settles the next bills automatically. */
  prepaid: string;
  /** outstanding + late fee − nothing: prepaid never coexists with open debt after settlement. */
  totalDue: string;
  /** Ledger balance as of the date (> 0 owed, < 0 prepaid), late fees counted when charged. */
  ledgerBalance: string;
}

/** Open debt items with their late fee as of a date, for some customers (or all when null). */
export async function openDebt(db: Db, asOf: string, customerIds: number[] | null): Promise<OpenDebtRow[]> {
  const r = await sql<OpenDebtRow>`
    SELECT customer_id, receivable_id, bill_id, kind, ref_no, period, issued_on, due_date,
           amount::numeric(14,2)::text AS amount, outstanding::numeric(14,2)::text AS outstanding,
           late_fee_paid::numeric(14,2)::text AS late_fee_paid, late_fee::numeric(14,2)::text AS late_fee
    FROM payments_debt_as_of(${asOf}::date, ${customerIds}::bigint[])
    ORDER BY customer_id, due_date, receivable_id`.execute(db);
  return r.rows;
}

/** Unallocated money per customer as of a date: payments (not yet reversed that day) and credits, less allocations. */
export async function prepaidAsOf(db: Db, asOf: string, customerIds: number[]): Promise<Map<number, string>> {
  const r = await sql<{ customer_id: number; prepaid: string }>`
    WITH ids AS (SELECT unnest(${customerIds}::bigint[]) AS customer_id),
    money AS (
      SELECT p.customer_id, p.amount FROM payment p JOIN ids USING (customer_id)
      WHERE p.received_on <= ${asOf}::date
        AND NOT EXISTS (SELECT 1 FROM payment_reversal x WHERE x.payment_id = p.id AND x.reversed_on <= ${asOf}::date)
      UNION ALL
      SELECT r.customer_id, -r.amount FROM receivable r JOIN ids USING (customer_id) WHERE r.amount < 0 AND r.issued_on <= ${asOf}::date
      UNION ALL
      SELECT a.customer_id, -(a.principal + CASE WHEN a.source_kind = 'payment' THEN a.late_fee ELSE 0 END)
      FROM allocation a JOIN ids USING (customer_id) WHERE a.applied_on <= ${asOf}::date
        -- a reversed payment's own allocations leave with it
        AND NOT (a.source_kind = 'payment' AND EXISTS (SELECT 1 FROM payment_reversal x WHERE x.payment_id = a.source_id AND x.reversed_on <= ${asOf}::date))
    )
    SELECT ids.customer_id, coalesce(sum(m.amount), 0)::numeric(14,2)::text AS prepaid
    FROM ids LEFT JOIN money m USING (customer_id) GROUP BY ids.customer_id`.execute(db);
  return new Map(r.rows.map((x) => [Number(x.customer_id), x.prepaid]));
}

export async function ledgerBalanceAsOf(db: Db, customerId: number, asOf: string): Promise<string> {
  const r = await sql<{ b: string }>`SELECT coalesce(sum(amount), 0)::numeric(14,2)::text AS b FROM ledger_entry
    WHERE customer_id = ${customerId} AND entry_date <= ${asOf}::date`.execute(db);
  return r.rows[0]!.b;
}

/**
 * The part of an account one occupancy holds, for the customer portal after a move-in (the account carries on
 * under the new occupant): the items of the occupancy's bills (billing judges which: those covering a day from
 * the move-in on), other items (adjustments, refunds) issued from `since` on, and the money received from then.
 */
export interface OccupancyCut {
  since: string;
  billIds: number[];
}

/** Whether a receivable (debt or credit item) is of the occupancy. */
function itemOfOccupancy(cut: OccupancyCut, r: { bill_id: number | null; issued_on: string }): boolean {
  return r.bill_id !== null ? cut.billIds.includes(Number(r.bill_id)) : r.issued_on >= cut.since;
}

/** The same rule in SQL over ledger_entry e and its receivable r (LEFT JOIN): payment entries by their date. */
function entryOfOccupancy(cut: OccupancyCut) {
  return sql`(CASE WHEN r.id IS NULL THEN e.entry_date >= ${cut.since}::date
                   WHEN r.bill_id IS NULL THEN r.issued_on >= ${cut.since}::date
                   ELSE r.bill_id = ANY (${cut.billIds}::bigint[]) END)`;
}

/** The ledger balance of the occupancy's entries as of a date. */
async function occupancyBalanceAsOf(db: Db, customerId: number, asOf: string, cut: OccupancyCut): Promise<string> {
  const r = await sql<{ b: string }>`SELECT coalesce(sum(e.amount), 0)::numeric(14,2)::text AS b
    FROM ledger_entry e LEFT JOIN receivable r ON r.id = e.receivable_id
    WHERE e.customer_id = ${customerId} AND e.entry_date <= ${asOf}::date AND ${entryOfOccupancy(cut)}`.execute(db);
  return r.rows[0]!.b;
}

/**
 * Each open item with days overdue, late fee and total due; prepaid balance; ledger balance. With a cut (the
 * portal after a move-in) the lines, their totals and the ledger balance are the occupancy's; prepaid stays the
 * account's: that money settles the occupancy's next bills.
 */
export async function statementFor(db: Db, customerId: number, asOf: string, cut?: OccupancyCut): Promise<Statement> {
  const [debt, prepaid, balance] = await Promise.all([
    openDebt(db, asOf, [customerId]),
    prepaidAsOf(db, asOf, [customerId]),
    cut ? occupancyBalanceAsOf(db, customerId, asOf, cut) : ledgerBalanceAsOf(db, customerId, asOf),
  ]);
  const rows = cut ? debt.filter((r) => itemOfOccupancy(cut, r)) : debt;
  const totals = await sql<{ outstanding: string; late_fee: string; total: string }>`
    SELECT coalesce(sum(o), 0)::numeric(14,2)::text AS outstanding, coalesce(sum(f), 0)::numeric(14,2)::text AS late_fee,
           coalesce(sum(o + f), 0)::numeric(14,2)::text AS total
    FROM unnest(${rows.map((r) => r.outstanding)}::numeric[], ${rows.map((r) => r.late_fee)}::numeric[]) AS t(o, f)`.execute(db);
  const lineTotals = await sql<{ t: string }>`SELECT (o + f)::numeric(14,2)::text AS t
    FROM unnest(${rows.map((r) => r.outstanding)}::numeric[], ${rows.map((r) => r.late_fee)}::numeric[]) WITH ORDINALITY AS t(o, f, i) ORDER BY i`.execute(db);
  return {
    customerId,
    asOf,
    lines: rows.map((r, i) => ({
      billId: r.bill_id === null ? null : Number(r.bill_id), billNo: r.ref_no, kind: r.kind, period: r.period, issuedOn: r.issued_on, dueDate: r.due_date,
      amount: r.amount, outstanding: r.outstanding, daysOverdue: Math.max(0, daysBetween(r.due_date, asOf)), lateFee: r.late_fee, totalDue: lineTotals.rows[i]!.t,
    })),
    outstanding: totals.rows[0]!.outstanding,
    lateFee: totals.rows[0]!.late_fee,
    prepaid: prepaid.get(customerId) ?? '0.00',
    totalDue: totals.rows[0]!.total,
    ledgerBalance: balance,
  };
}

export interface LedgerEntry {
  id: number;
  kind: string;
  amount: string;
  entryDate: string;
  postedAt: string;
  billNo: string | null;
  paymentId: number | null;
  memo: string | null;
  /** Running balance after this entry (> 0 owed, < 0 prepaid). */
  balance: string;
}

/** The account's journal with its running balance; with a cut (the portal after a move-in) the occupancy's entries and balance. */
export async function ledgerEntries(
  db: Db, customerId: number, q: { from?: string; to?: string; limit: number; offset: number }, cut?: OccupancyCut,
): Promise<{ items: LedgerEntry[]; total: number }> {
  const r = await sql<{ id: number; kind: string; amount: string; entry_date: string; posted_at: Date; ref_no: string | null; payment_id: number | null; memo: string | null; balance: string; total: number }>`
    WITH l AS (
      SELECT e.*, r.ref_no, sum(e.amount) OVER (ORDER BY e.entry_date, e.id)::numeric(14,2)::text AS balance
      FROM ledger_entry e LEFT JOIN receivable r ON r.id = e.receivable_id
      WHERE e.customer_id = ${customerId} AND (${q.to ?? null}::date IS NULL OR e.entry_date <= ${q.to ?? null}::date)
        ${cut ? sql`AND ${entryOfOccupancy(cut)}` : sql``}
    )
    SELECT l.*, count(*) OVER ()::int AS total FROM l
    WHERE ${q.from ?? null}::date IS NULL OR l.entry_date >= ${q.from ?? null}::date
    ORDER BY l.entry_date, l.id LIMIT ${q.limit} OFFSET ${q.offset}`.execute(db);
  return {
    total: r.rows[0]?.total ?? 0,
    items: r.rows.map((e) => ({
      id: Number(e.id), kind: e.kind, amount: e.amount, entryDate: e.entry_date, postedAt: e.posted_at.toISOString(), billNo: e.ref_no,
      paymentId: e.payment_id === null ? null : Number(e.payment_id), memo: e.memo, balance: e.balance,
    })),
  };
}

export interface ArrearsBand {
  band: 'not_due' | '1-30' | '31-60' | '61-90' | '91-180' | '181-365' | '>365';
  items: number;
  customers: number;
  outstanding: string;
  lateFee: string;
}

/** Arrears by age band (days past due) as of a date, for an org scope: one set-based pass. */
export async function arrearsByAge(db: Db, asOf: string, scopePath: string): Promise<{ asOf: string; bands: ArrearsBand[]; total: { customers: number; outstanding: string; lateFee: string } }> {
  // the whole province needs no scope join (every org path starts with '/')
  const scoped = scopePath !== '/';
  // ROLLUP: one pass gives every band and the scope total (band NULL). The items come in integer fen
  // (payments_debt_fen): the sums are bigint sums, converted to yuan once per band, exact. A province is
  // millions of rows, so the pass gets the memory to aggregate them without spilling to disk.
  const order: ArrearsBand['band'][] = ['not_due', '1-30', '31-60', '61-90', '91-180', '181-365', '>365'];
  const r = await db.transaction().execute(async (trx) => {
    await sql`SET LOCAL work_mem = '256MB'`.execute(trx);
    return sql<{ band: number | null; items: number; customers: number; outstanding: string; late_fee: string }>`
    WITH d AS (
      SELECT d.customer_id, d.outstanding_fen, d.late_fee_fen,
             CASE WHEN ${asOf}::date - d.due_date <= 0 THEN 0 WHEN ${asOf}::date - d.due_date <= 30 THEN 1
                  WHEN ${asOf}::date - d.due_date <= 60 THEN 2 WHEN ${asOf}::date - d.due_date <= 90 THEN 3
                  WHEN ${asOf}::date - d.due_date <= 180 THEN 4 WHEN ${asOf}::date - d.due_date <= 365 THEN 5 ELSE 6 END AS band
      FROM payments_debt_fen(${asOf}::date, NULL) d
      ${scoped ? sql`WHERE d.customer_id IN (SELECT c.id FROM customer c WHERE c.org_path LIKE ${`${scopePath}%`})` : sql``}
    )
    SELECT band, count(*)::int AS items, count(DISTINCT customer_id)::int AS customers,
           (coalesce(sum(outstanding_fen), 0) * 0.01)::numeric(14,2)::text AS outstanding, (coalesce(sum(late_fee_fen), 0) * 0.01)::numeric(14,2)::text AS late_fee
    FROM d GROUP BY ROLLUP (band)`.execute(trx);
  });
  const tot = r.rows.find((x) => x.band === null);
  const byBand = new Map(r.rows.filter((x) => x.band !== null).map((x) => [order[x.band!]!, x]));
  return {
    asOf,
    bands: order.map((band) => {
      const x = byBand.get(band);
      return { band, items: x?.items ?? 0, customers: x?.customers ?? 0, outstanding: x?.outstanding ?? '0.00', lateFee: x?.late_fee ?? '0.00' };
    }),
    total: { customers: tot?.customers ?? 0, outstanding: tot?.outstanding ?? '0.00', lateFee: tot?.late_fee ?? '0.00' },
  };
}

/** Contract row of payments_open_debt (dunning): a bill with money owed and its late fee to the as-of date. */
export interface OpenBill {
  customerId: number;
  billId: number;
  billNo: string;
  period: string | null;
  dueDate: string;
  outstanding: string;
  lateFee: string;
}

/** TS wrapper of the SQL function payments_open_debt(as_of), optionally for some customers only. */
export async function openBillsAsOf(db: Db, asOf: string, customerIds?: number[]): Promise<OpenBill[]> {
  const rows = await openDebt(db, asOf, customerIds ?? null);
  return rows.filter((r) => r.bill_id !== null).map((r) => ({
    customerId: Number(r.customer_id), billId: Number(r.bill_id), billNo: r.ref_no, period: r.period, dueDate: r.due_date,
    outstanding: r.outstanding, lateFee: r.late_fee,
  }));
}

/** A bill with nothing owed, and when the money that settled it was posted. */
export interface PaidBill {
  customerId: number;
  billId: number;
  paidAt: Date;
}

/**
 * Of the bills `billIds`, those paid in full as of `asOf` (settled: no longer among payments_open_debt's
 * bills), each with the posting time of its latest allocation up to that day. That allocation is the
 * one that settled it: nothing is allocated to a settled bill, and a reversal reopens it until money
 * settles it again. Read by the bills' keys, so a handful of bills costs a handful of index reads.
 */
export async function paidBills(db: Db, asOf: string, billIds: number[]): Promise<PaidBill[]> {
  if (!billIds.length) return [];
  const r = await sql<{ customer_id: number; bill_id: number; paid_at: Date }>`
    SELECT r.customer_id, r.bill_id, max(a.applied_at) AS paid_at
    FROM receivable r
    JOIN allocation a ON a.receivable_id = r.id AND a.applied_on <= ${asOf}::date
    WHERE r.bill_id = ANY (${billIds}::bigint[]) AND r.settled_on <= ${asOf}::date
    GROUP BY r.customer_id, r.bill_id`.execute(db);
  return r.rows.map((x) => ({ customerId: Number(x.customer_id), billId: Number(x.bill_id), paidAt: x.paid_at }));
}
