import { sql, type RawBuilder } from 'kysely';
import type { Clock, Db } from '../../platform/index.ts';

/** A released bill or note to post as a ledger debit (or credit, when amount < 0). */
export interface DebitRow {
  billId: number;
  customerId: number;
  billNo: string;
  period: string | null;
  kind: 'bill' | 'credit' | 'rebill';
  /** numeric(14,2) as an exact string; negative for a credit note. */
  amount: string;
  issuedOn: string;
  dueDate: string;
  releasedAt: Date;
}

export interface PostDebitsResult {
  posted: number;
  /** Allocations made from prepaid money or credit notes while posting. */
  settled: number;
}

/**
 * Post debits from any relation with the columns (bill_id, customer_id, bill_no, period, kind, amount,
 * issued_on, due_date, released_at): idempotent by bill id, then settle the affected accounts from
 * prepaid money and credit notes. All set-based, in one transaction.
 *
 * `feed` names a relation that keeps every debit ever released (billing's released bills): the posting
 * then reads it from a day before the latest release it took last time (payments_debit_feed), and
 * moves that mark on. Postings of one feed take turns (the mark's row is locked).
 */
export async function postDebitsFrom(db: Db, clock: Clock, relation: RawBuilder<unknown>, opts: { feed?: string } = {}): Promise<PostDebitsResult> {
  const now = clock.now();
  const { feed } = opts;
  return db.transaction().execute(async (trx) => {
    if (feed) {
      await sql`INSERT INTO payments_debit_feed (feed, through) VALUES (${feed}, '-infinity') ON CONFLICT DO NOTHING`.execute(trx);
      await sql`SELECT 1 FROM payments_debit_feed WHERE feed = ${feed} FOR UPDATE`.execute(trx);
    }
    // the relation is read once
    await sql`CREATE TEMP TABLE payments_debit_source ON COMMIT DROP AS SELECT * FROM (${relation}) src
              ${feed ? sql`WHERE src.released_at > (SELECT through - interval '1 day' FROM payments_debit_feed WHERE feed = ${feed})` : sql``}`.execute(trx);
    await sql`CREATE TEMP TABLE IF NOT EXISTS payments_debit_batch (customer_id bigint) ON COMMIT DROP`.execute(trx);
    await sql`INSERT INTO account (customer_id, opened_at)
              SELECT DISTINCT src.customer_id, ${now}::timestamptz FROM payments_debit_source src ON CONFLICT DO NOTHING`.execute(trx);
    const ins = await sql<{ n: number }>`
      WITH ins AS (
        INSERT INTO receivable (customer_id, bill_id, kind, ref_no, period, amount, issued_on, due_date, posted_at)
        SELECT src.customer_id, src.bill_id, src.kind, src.bill_no, src.period, src.amount, src.issued_on, src.due_date, ${now}::timestamptz
        FROM payments_debit_source src
        WHERE NOT EXISTS (SELECT 1 FROM receivable r WHERE r.bill_id = src.bill_id)
        ON CONFLICT ON CONSTRAINT receivable_bill_key DO NOTHING
        RETURNING id, customer_id, kind, amount, issued_on
      ), entries AS (
        INSERT INTO ledger_entry (customer_id, kind, amount, entry_date, posted_at, receivable_id)
        SELECT customer_id, kind, amount, issued_on, ${now}::timestamptz, id FROM ins
      ), batch AS (
        INSERT INTO payments_debit_batch (customer_id) SELECT DISTINCT customer_id FROM ins
      )
      SELECT count(*)::int AS n FROM ins`.execute(trx);
    // settle only accounts that now have both open debt and unallocated money
    const posted = ins.rows[0]!.n;
    const settled = posted === 0 ? 0 : (await sql<{ n: number }>`
      SELECT payments_settle(array_agg(customer_id), NULL, ${now}::timestamptz) AS n FROM payments_debit_batch`.execute(trx)).rows[0]!.n;
    if (feed) {
      await sql`UPDATE payments_debit_feed SET through = GREATEST(through, (SELECT max(released_at) FROM payments_debit_source))
                WHERE feed = ${feed}`.execute(trx);
    }
    return { posted, settled };
  });
}

/** Post debits given as rows (tests, adjustments from files); same path as the billing flow. */
export async function postDebits(db: Db, clock: Clock, rows: readonly DebitRow[]): Promise<PostDebitsResult> {
  if (!rows.length) return { posted: 0, settled: 0 };
  const relation = sql`SELECT * FROM unnest(
      ${rows.map((r) => r.billId)}::bigint[], ${rows.map((r) => r.customerId)}::bigint[], ${rows.map((r) => r.billNo)}::text[],
      ${rows.map((r) => r.period)}::text[], ${rows.map((r) => r.kind)}::text[], ${rows.map((r) => r.amount)}::numeric[],
      ${rows.map((r) => r.issuedOn)}::date[], ${rows.map((r) => r.dueDate)}::date[], ${rows.map((r) => r.releasedAt.toISOString())}::timestamptz[])
    AS t(bill_id, customer_id, bill_no, period, kind, amount, issued_on, due_date, released_at)`;
  return postDebitsFrom(db, clock, relation);
}
