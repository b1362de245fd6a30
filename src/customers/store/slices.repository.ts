import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';

/**
 * A slice of the province by customer id, [lo, hi); null is no bound. A province-wide pass (the daily
 * dunning run, the simulation's payers) is computed in slices, one connection each at the same time: all
 * of a customer's rows (debts, notices, its case) fall in one slice, so the slices never meet the same rows.
 */
export interface CustomerRange {
  lo: number | null;
  hi: number | null;
}

export const WHOLE_PROVINCE: CustomerRange = { lo: null, hi: null };

/** The SQL condition that `column` (a customer id) is in the range. */
export function inRange(column: string, r: CustomerRange) {
  const c = sql.ref(column);
  if (r.lo === null && r.hi === null) return sql`true`;
  if (r.lo === null) return sql`${c} < ${r.hi}`;
  if (r.hi === null) return sql`${c} >= ${r.lo}`;
  return sql`(${c} >= ${r.lo} AND ${c} < ${r.hi})`;
}

/** `n` slices of about as many customer ids each (ids are handed out in sequence), open at both ends. */
export async function customerSlices(db: Db, n: number): Promise<CustomerRange[]> {
  const r = (await sql<{ lo: string | null; hi: string | null }>`SELECT min(id)::text AS lo, max(id)::text AS hi FROM customer`.execute(db)).rows[0];
  if (n <= 1 || !r?.lo || !r.hi) return [WHOLE_PROVINCE];
  const lo = Number(r.lo);
  const step = Math.max(1, Math.ceil((Number(r.hi) - lo + 1) / n));
  return Array.from({ length: n }, (_, k) => ({ lo: k === 0 ? null : lo + k * step, hi: k === n - 1 ? null : lo + (k + 1) * step }));
}
