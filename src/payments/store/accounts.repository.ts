import { sql, type Transaction } from 'kysely';
import type { Db } from '../../platform/index.ts';

/** Open an account for every customer that has none (one set-based statement). Returns how many were opened. */
export async function openMissingAccounts(db: Db): Promise<number> {
  const r = await sql`INSERT INTO account (customer_id) SELECT c.id FROM customer c
    WHERE NOT EXISTS (SELECT 1 FROM account a WHERE a.customer_id = c.id) ON CONFLICT DO NOTHING`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

/**
 * Take FOR SHARE locks on the customers' accounts (opening missing ones) until the caller's transaction
 * ends. Dunning's dispatcher calls this in its claim transaction: a payment posting (FOR UPDATE on the same
 * row) then waits for the dispatch, or the dispatch for the payment, never both at once. Locks in id order.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function lockAccountsForShare(trx: Transaction<any>, customerIds: readonly number[]): Promise<void> {
  if (!customerIds.length) return;
  const ids = [...new Set(customerIds)].sort((a, b) => a - b);
  await sql`INSERT INTO account (customer_id) SELECT c FROM unnest(${ids}::bigint[]) AS c ON CONFLICT DO NOTHING`.execute(trx);
  await sql`SELECT a.customer_id FROM account a JOIN unnest(${ids}::bigint[]) AS c(id) ON c.id = a.customer_id
            ORDER BY a.customer_id FOR SHARE OF a`.execute(trx);
}

/** FOR UPDATE on the accounts (reversal, refund): serialises against postings and dunning dispatches. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function lockAccountsForUpdate(trx: Transaction<any>, customerIds: readonly number[]): Promise<void> {
  const ids = [...new Set(customerIds)].sort((a, b) => a - b);
  await sql`SELECT a.customer_id FROM account a JOIN unnest(${ids}::bigint[]) AS c(id) ON c.id = a.customer_id
            ORDER BY a.customer_id FOR UPDATE OF a`.execute(trx);
}
