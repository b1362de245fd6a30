import { sql } from 'kysely';
import type { AppContext } from '../platform/index.ts';
import { postDebitsFrom, type PostDebitsResult } from '../payments/index.ts';

/**
 * Post the bills and notes billing released (view v_billing_receivable) into the payments ledger.
 * Set-based and idempotent by bill id: what is already in the ledger is skipped, so it is safe to run
 * after every billing release or on a schedule. The view is read as a feed: from a day before the
 * latest release the last posting took (by the view's release-time index), not whole. Posting settles
 * the new bills from prepaid balances.
 */
export async function postReleasedBills(ctx: AppContext): Promise<PostDebitsResult> {
  const result = await postDebitsFrom(ctx.db, ctx.clock, sql`
    SELECT v.bill_id, v.customer_id, v.bill_no, v.period, v.kind, v.amount, v.issued_on, v.due_date, v.released_at
    FROM v_billing_receivable v`, { feed: 'billing' });
  ctx.log.info(result, 'released bills posted to the payments ledger');
  return result;
}
