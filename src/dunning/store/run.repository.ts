import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';

/**
 * The open debt of the run's day, computed once (payments_open_debt is the expensive part: late
 * fees) into a temp table on the run's pinned session; the run's statements join it by hash.
 */
export async function snapshotOpenDebt(db: Db, asOf: string): Promise<number> {
  // the run's sorts and hashes span every account: let them stay in memory on this session
  await sql`SET work_mem = '128MB'`.execute(db);
  await sql`DROP TABLE IF EXISTS dunning_open_debt`.execute(db);
  await sql`CREATE TEMP TABLE dunning_open_debt AS
    SELECT customer_id, bill_id, bill_no, period, due_date, outstanding, late_fee
    FROM payments_open_debt(${asOf}::date) WHERE outstanding > 0`.execute(db);
  await sql`ANALYZE dunning_open_debt`.execute(db);
  const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM dunning_open_debt`.execute(db);
  return r.rows[0]!.n;
}

export async function dropOpenDebtSnapshot(db: Db): Promise<void> {
  await sql`DROP TABLE IF EXISTS dunning_open_debt`.execute(db);
  await sql`RESET work_mem`.execute(db);
}

export interface DecidedCount {
  step: string;
  status: string;
  n: number;
}

// The agreed channels of each customer, in priority order, whose contact is not known to be invalid.
const AGREED_CHANNELS = sql`
  SELECT a.customer_id, array_agg(a.channel ORDER BY a.priority) AS channels
  FROM channel_agreement a JOIN contact ct ON ct.id = a.contact_id
  WHERE a.withdrawn_at IS NULL AND ct.status <> 'invalid'
  GROUP BY a.customer_id`;

/**
 * The chase decision for every account in one statement: each customer's case is its oldest open
 * bill; the step due is the policy step whose window (from its offset to the next step's offset)
 * holds the days past that bill's due date. The notice key (customer, bill, step) makes a rerun
 * add nothing. A customer without an agreed channel gets the notice as 'no_channel' (→ manual task).
 */
export async function decideChaseNotices(db: Db, asOf: string, at: Date): Promise<DecidedCount[]> {
  const r = await sql<DecidedCount>`
    WITH debt AS (
      SELECT d.customer_id, d.bill_id, d.bill_no, d.period, d.due_date, d.outstanding, d.late_fee,
             first_value(d.bill_id) OVER w AS case_bill, first_value(d.due_date) OVER w AS case_due
      FROM dunning_open_debt d
      WINDOW w AS (PARTITION BY d.customer_id ORDER BY d.due_date, d.bill_id)
    ), cases AS (
      SELECT customer_id, min(case_bill) AS bill_id, min(case_due) AS due_date,
             min(bill_no) FILTER (WHERE bill_id = case_bill) AS bill_no,
             min(period) FILTER (WHERE bill_id = case_bill) AS period,
             sum(outstanding) FILTER (WHERE due_date <= GREATEST(${asOf}::date, case_due)) AS amount,
             sum(late_fee) FILTER (WHERE due_date <= GREATEST(${asOf}::date, case_due)) AS late_fee
      FROM debt GROUP BY customer_id
    ), windows AS (
      SELECT segment, step, channel_mode, offset_days AS from_day,
             COALESCE(lead(offset_days) OVER (PARTITION BY segment ORDER BY offset_days) - 1, 2147483647) AS to_day
      FROM dunning_policy_step WHERE offset_days IS NOT NULL
    ), agreed AS (${AGREED_CHANNELS}), ins AS (
      INSERT INTO dunning_notice (customer_id, bill_id, step, segment, org_path, channel_mode, channels, status, bill_no, period,
                                  due_date, amount, late_fee, suspend_on, created_on, created_at, next_attempt_at)
      SELECT k.customer_id, k.bill_id, w.step, c.kind, c.org_path, w.channel_mode, COALESCE(ag.channels, '{}'),
             CASE WHEN ag.channels IS NULL THEN 'no_channel' ELSE 'pending' END,
             k.bill_no, k.period, k.due_date, k.amount, COALESCE(k.late_fee, 0),
             CASE WHEN w.step = 'suspension_notice' THEN ${asOf}::date + p.suspension_notice_days END,
             ${asOf}::date, ${at}::timestamptz, ${at}::timestamptz
      FROM cases k
      JOIN customer c ON c.id = k.customer_id AND c.status <> 'closed'
      JOIN dunning_policy p ON p.segment = c.kind
      JOIN windows w ON w.segment = c.kind AND (${asOf}::date - k.due_date) BETWEEN w.from_day AND w.to_day
      LEFT JOIN agreed ag ON ag.customer_id = k.customer_id
      -- most accounts already have today's step from an earlier run: skip them by hash anti-join
      WHERE NOT EXISTS (SELECT 1 FROM dunning_notice x WHERE x.customer_id = k.customer_id AND x.bill_id = k.bill_id AND x.step = w.step)
      ON CONFLICT ON CONSTRAINT dunning_notice_key DO NOTHING
      RETURNING step, status
    )
    SELECT step, status, count(*)::int AS n FROM ins GROUP BY step, status ORDER BY step, status`.execute(db);
  return r.rows;
}

/** Bill notices for bills released within the policy window up to the end of `asOf` (Shanghai). */
export async function decideBillNotices(db: Db, asOf: string, at: Date): Promise<DecidedCount[]> {
  const r = await sql<DecidedCount>`
    WITH agreed AS (${AGREED_CHANNELS}), ins AS (
      INSERT INTO dunning_notice (customer_id, bill_id, step, segment, org_path, channel_mode, channels, status, bill_no, period,
                                  due_date, amount, late_fee, created_on, created_at, next_attempt_at)
      SELECT r.customer_id, r.bill_id, 'bill_notice', c.kind, c.org_path, s.channel_mode, COALESCE(ag.channels, '{}'),
             CASE WHEN ag.channels IS NULL THEN 'no_channel' ELSE 'pending' END,
             r.bill_no, r.period, r.due_date, r.amount, 0, ${asOf}::date, ${at}::timestamptz, ${at}::timestamptz
      FROM v_billing_receivable r
      JOIN customer c ON c.id = r.customer_id
      JOIN dunning_policy p ON p.segment = c.kind
      JOIN dunning_policy_step s ON s.segment = c.kind AND s.step = 'bill_notice'
      LEFT JOIN agreed ag ON ag.customer_id = r.customer_id
      WHERE r.kind IN ('bill', 'rebill') AND r.amount > 0
        AND NOT EXISTS (SELECT 1 FROM dunning_notice x WHERE x.customer_id = r.customer_id AND x.bill_id = r.bill_id AND x.step = 'bill_notice')
        AND r.released_at < ((${asOf}::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')
        AND r.released_at >= ((${asOf}::date - p.bill_notice_window_days)::timestamp AT TIME ZONE 'Asia/Shanghai')
      ON CONFLICT ON CONSTRAINT dunning_notice_key DO NOTHING
      RETURNING step, status
    )
    SELECT step, status, count(*)::int AS n FROM ins GROUP BY step, status ORDER BY step, status`.execute(db);
  return r.rows;
}

/** Pending chase notices whose debt is no longer open: paid since they were decided. */
export async function cancelPaidNotices(db: Db, at: Date): Promise<number> {
  const r = await sql`
    UPDATE dunning_notice n
    SET status = 'cancelled', cancel_reason = 'paid', finished_at = ${at}::timestamptz, claimed_by = NULL, claimed_until = NULL
    FROM (
      SELECT p.id FROM dunning_notice p
      LEFT JOIN dunning_open_debt d ON d.customer_id = p.customer_id AND d.bill_id = p.bill_id
      WHERE p.status = 'pending' AND p.step NOT IN ('bill_notice', 'reconnect') AND d.bill_id IS NULL
    ) paid
    WHERE n.id = paid.id`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}
