import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';

export interface BillRow {
  id: number;
  bill_no: string;
  kind: 'bill' | 'credit' | 'rebill';
  customer_id: number;
  run_id: number | null;
  cycle_code: string;
  period: string;
  org_path: string;
  tariff_code: string;
  period_start: string;
  period_end: string;
  consumption_kwh: string;
  sharp_kwh: string | null;
  peak_kwh: string | null;
  flat_kwh: string | null;
  valley_kwh: string | null;
  ytd_kwh: string;
  capacity_kva: string | null;
  max_demand_kw: string | null;
  reactive_kvarh: string | null;
  reading_quality: string | null;
  amount: string;
  status: 'held' | 'released' | 'voided';
  original_bill_id: number | null;
  reason: string | null;
  issued_on: string | null;
  due_date: string | null;
  released_at: Date | null;
  released_by: string | null;
  created_at: Date;
}

export interface BillLineRow {
  bill_id: number;
  line_no: number;
  component: string;
  register: string;
  tier: number;
  tariff_version_id: number | null;
  segment_start: string;
  segment_end: string;
  quantity: string;
  unit_price: string;
  amount: string;
}

export interface BillHoldRow {
  bill_id: number;
  rule_code: string;
  detail: string;
}

export async function findBill(db: Db, id: number): Promise<BillRow | undefined> {
  return (await sql<BillRow>`SELECT * FROM bill WHERE id = ${id}`.execute(db)).rows[0];
}

export async function linesOf(db: Db, billIds: number[]): Promise<BillLineRow[]> {
  if (!billIds.length) return [];
  return (await sql<BillLineRow>`
    SELECT bill_id, line_no, component, register, tier, tariff_version_id, segment_start, segment_end, quantity, unit_price, amount
    FROM bill_line WHERE bill_id IN (${sql.join(billIds)}) ORDER BY bill_id, line_no`.execute(db)).rows;
}

export async function holdsOf(db: Db, billIds: number[]): Promise<BillHoldRow[]> {
  if (!billIds.length) return [];
  return (await sql<BillHoldRow>`SELECT * FROM bill_hold WHERE bill_id IN (${sql.join(billIds)}) ORDER BY bill_id, rule_code`.execute(db)).rows;
}

/**
 * Whether a bill is of an occupancy that began on `since` (a move-in's effective date): its period ends after that
 * day, so it covers at least one day of the occupancy. Credit notes and rebills carry their original's period.
 */
export function billCoversFrom(b: Pick<BillRow, 'period_end'>, since: string): boolean {
  return b.period_end > since;
}

/** The customer's documents of an occupancy that began on `since`, as billCoversFrom judges them. */
export async function billIdsCoveringFrom(db: Db, customerId: number, since: string): Promise<number[]> {
  const r = await sql<{ id: number }>`SELECT id FROM bill WHERE customer_id = ${customerId} AND period_end > ${since}::date ORDER BY id`.execute(db);
  return r.rows.map((x) => Number(x.id));
}

/**
 * A customer's documents, newest period first; customers only ever see released ones, and after a move-in only
 * those of their own occupancy (`coveringFrom`: see billCoversFrom).
 */
export async function listCustomerBills(
  db: Db, customerId: number, opts: { releasedOnly: boolean; coveringFrom?: string | null; limit: number; offset: number },
): Promise<{ items: BillRow[]; total: number }> {
  const where = sql`customer_id = ${customerId} ${opts.releasedOnly ? sql`AND status = 'released'` : sql``}
    ${opts.coveringFrom ? sql`AND period_end > ${opts.coveringFrom}::date` : sql``}`;
  const [items, total] = await Promise.all([
    sql<BillRow>`SELECT * FROM bill WHERE ${where} ORDER BY period DESC, id DESC LIMIT ${opts.limit} OFFSET ${opts.offset}`.execute(db),
    sql<{ n: number }>`SELECT count(*)::int AS n FROM bill WHERE ${where}`.execute(db),
  ]);
  return { items: items.rows, total: total.rows[0]!.n };
}

export interface HeldFilter {
  scopePath: string;
  rule?: string;
  cycle?: string;
  period?: string;
  sort: 'amount' | 'created' | 'customer';
  limit: number;
  offset: number;
}

/** Held bills in an org scope with their reasons, for the review (核) queue. */
export async function listHeldBills(db: Db, f: HeldFilter): Promise<{ items: (BillRow & { customer_number: string; customer_name: string })[]; total: number }> {
  const where = sql`b.status = 'held' AND b.org_path LIKE ${`${f.scopePath}%`}
    ${f.cycle ? sql`AND b.cycle_code = ${f.cycle}` : sql``}
    ${f.period ? sql`AND b.period = ${f.period}` : sql``}
    ${f.rule ? sql`AND EXISTS (SELECT 1 FROM bill_hold h WHERE h.bill_id = b.id AND h.rule_code = ${f.rule})` : sql``}`;
  const order = f.sort === 'amount' ? sql`b.amount DESC, b.id` : f.sort === 'customer' ? sql`b.customer_id, b.id` : sql`b.created_at, b.id`;
  const [items, total] = await Promise.all([
    sql<BillRow & { customer_number: string; customer_name: string }>`
      SELECT b.*, c.number AS customer_number, c.name AS customer_name
      FROM bill b JOIN customer c ON c.id = b.customer_id
      WHERE ${where} ORDER BY ${order} LIMIT ${f.limit} OFFSET ${f.offset}`.execute(db),
    sql<{ n: number }>`SELECT count(*)::int AS n FROM bill b WHERE ${where}`.execute(db),
  ]);
  return { items: items.rows, total: total.rows[0]!.n };
}
