import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';

/**
 * The agreed channels of every customer, in priority order, whose contact is not known to be
 * invalid (a customer with none has no row). One sort by (customer, priority) feeds array_agg in order: an ORDER BY inside the
 * aggregate would sort again per customer (PostgreSQL 15 does not reuse the input order).
 */
const AGREED_CHANNELS = sql`
  SELECT o.customer_id, array_agg(o.channel) AS channels
  FROM (SELECT a.customer_id, a.channel FROM channel_agreement a JOIN contact ct ON ct.id = a.contact_id
        WHERE a.withdrawn_at IS NULL AND ct.status <> 'invalid'
        ORDER BY a.customer_id, a.priority, a.channel) o
  GROUP BY o.customer_id`;

/**
 * The open debt of the run's day, computed once (payments_open_debt is the expensive part: late
 * fees) into a temp table on the run's pinned session; the run's statements join it by hash.
 * Each customer's case (its oldest open bill, and that bill's due date) is marked here, in the
 * one sort the snapshot needs anyway.
 */
export async function snapshotOpenDebt(db: Db, asOf: string): Promise<number> {
  // one run at a time (a second one waits): the chase decision inserts what is not there yet
  await sql`SELECT pg_advisory_lock(${RUN_LOCK})`.execute(db);
  // the run's sorts and hashes span every account: let them stay in memory on this session
  await sql`SET work_mem = '256MB'`.execute(db);
  await sql`DROP TABLE IF EXISTS dunning_open_debt`.execute(db);
  await sql`CREATE TEMP TABLE dunning_open_debt AS
    SELECT customer_id, bill_id, bill_no, period, due_date, outstanding, late_fee,
           row_number() OVER w = 1 AS is_case, first_value(due_date) OVER w AS case_due
    FROM payments_open_debt(${asOf}::date) WHERE outstanding > 0
    WINDOW w AS (PARTITION BY customer_id ORDER BY due_date, bill_id)`.execute(db);
  const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM dunning_open_debt`.execute(db);
  // a pooled session may still hold the channels of an earlier run that failed half-way
  await sql`DROP TABLE IF EXISTS dunning_agreed`.execute(db);
  // autovacuum never sees a temp table: without this the planner guesses its size
  await sql`ANALYZE dunning_open_debt`.execute(db);
  return r.rows[0]!.n;
}

/** The run's agreed channels (temp table dunning_agreed), computed on first use: once for the bill notices and the chase. */
async function ensureAgreedChannels(db: Db): Promise<void> {
  const r = await sql<{ t: string | null }>`SELECT to_regclass('pg_temp.dunning_agreed')::text AS t`.execute(db);
  if (r.rows[0]!.t) return;
  await sql`CREATE TEMP TABLE dunning_agreed AS ${AGREED_CHANNELS}`.execute(db);
  await sql`ANALYZE dunning_agreed`.execute(db);
}

export async function dropOpenDebtSnapshot(db: Db): Promise<void> {
  try {
    await sql`DROP TABLE IF EXISTS dunning_open_debt`.execute(db);
    await sql`DROP TABLE IF EXISTS dunning_agreed`.execute(db);
    await sql`RESET work_mem`.execute(db);
  } finally {
    await sql`SELECT pg_advisory_unlock(${RUN_LOCK})`.execute(db);
  }
}

/** Advisory lock key of the daily run ('dunn' in ASCII). */
const RUN_LOCK = 0x64756e6e;

/**
 * Runs a whole-province statement with nested loops off. These statements join every open case to
 * the outbox; with the outbox's statistics stale (empty when last analysed, then filled by the
 * previous run) the planner would otherwise pick a nested loop that rescans the outbox per case —
 * quadratic, and it grows while the same statement inserts.
 */
async function provinceWide<T>(db: Db, fn: () => Promise<T>): Promise<T> {
  await sql`SET enable_nestloop = off`.execute(db);
  try {
    return await fn();
  } finally {
    await sql`RESET enable_nestloop`.execute(db);
  }
}

export interface DecidedCount {
  step: string;
  status: string;
  n: number;
}



/**
 * The chase decision for every account in one statement: each customer's case is its oldest open
 * bill; the step due is the policy step whose window (from its offset to the next step's offset)
 * holds the days past that bill's due date. The amount is the case bill plus the other bills due
 * by then. The notice key (customer, bill, step) makes a rerun add nothing: the cases that already
 * have today's step are dropped by one hash anti-join with the outbox, so the insert is a plain one
 * (no per-row speculative insertion; runs are serialised by the run lock, and the unique key still
 * refuses a duplicate). A customer without an agreed channel gets the notice as 'no_channel'
 * (→ manual task).
 */
export async function decideChaseNotices(db: Db, asOf: string, at: Date): Promise<DecidedCount[]> {
  await ensureAgreedChannels(db);
  const r = await provinceWide(db, () => sql<DecidedCount>`
    WITH windows AS (
      SELECT segment, step, channel_mode, offset_days AS from_day,
             COALESCE(lead(offset_days) OVER (PARTITION BY segment ORDER BY offset_days) - 1, 2147483647) AS to_day
      FROM dunning_policy_step WHERE offset_days IS NOT NULL
    ), also_due AS (
      SELECT customer_id, sum(outstanding) AS outstanding, sum(late_fee) AS late_fee FROM dunning_open_debt
      WHERE NOT is_case AND due_date <= GREATEST(${asOf}::date, case_due) GROUP BY customer_id
    ), ins AS (
      INSERT INTO dunning_notice (customer_id, bill_id, step, segment, org_path, channel_mode, channels, status, bill_no, period,
                                  due_date, amount, late_fee, suspend_on, created_on, created_at, next_attempt_at)
      SELECT k.customer_id, k.bill_id, w.step, c.kind, c.org_path, w.channel_mode, COALESCE(ag.channels, '{}'),
             CASE WHEN ag.channels IS NULL THEN 'no_channel' ELSE 'pending' END,
             k.bill_no, k.period, k.due_date, k.outstanding + COALESCE(x.outstanding, 0), COALESCE(k.late_fee, 0) + COALESCE(x.late_fee, 0),
             CASE WHEN w.step = 'suspension_notice' THEN ${asOf}::date + p.suspension_notice_days END,
             ${asOf}::date, ${at}::timestamptz, ${at}::timestamptz
      FROM dunning_open_debt k
      JOIN customer c ON c.id = k.customer_id AND c.status <> 'closed'
      JOIN dunning_policy p ON p.segment = c.kind
      JOIN windows w ON w.segment = c.kind AND (${asOf}::date - k.due_date) BETWEEN w.from_day AND w.to_day
      LEFT JOIN also_due x ON x.customer_id = k.customer_id
      LEFT JOIN dunning_agreed ag ON ag.customer_id = k.customer_id
      WHERE k.is_case
        AND NOT EXISTS (SELECT 1 FROM dunning_notice n WHERE n.customer_id = k.customer_id AND n.bill_id = k.bill_id AND n.step = w.step)
      RETURNING step, status
    )
    SELECT step, status, count(*)::int AS n FROM ins GROUP BY step, status ORDER BY step, status`.execute(db));
  return r.rows;
}

/**
 * Bill notices for bills released within the policy window up to the end of `asOf` (Shanghai): a
 * range of the released-bills index, and a notice already given skipped by a probe of the notice
 * key (a day's releases are few: no anti-join over the whole outbox).
 */
export async function decideBillNotices(db: Db, asOf: string, at: Date): Promise<DecidedCount[]> {
  await ensureAgreedChannels(db);
  const r = await provinceWide(db, () => sql<DecidedCount>`
    WITH window_start AS (
      SELECT min((${asOf}::date - bill_notice_window_days)::timestamp AT TIME ZONE 'Asia/Shanghai') AS since FROM dunning_policy
    ), released AS (
      SELECT r.customer_id, r.bill_id, r.bill_no, r.period, r.due_date, r.amount, c.kind, c.org_path, s.channel_mode, ag.channels
      FROM v_billing_receivable r
      JOIN customer c ON c.id = r.customer_id
      JOIN dunning_policy p ON p.segment = c.kind
      JOIN dunning_policy_step s ON s.segment = c.kind AND s.step = 'bill_notice'
      LEFT JOIN dunning_agreed ag ON ag.customer_id = r.customer_id
      WHERE r.kind IN ('bill', 'rebill') AND r.amount > 0
        AND r.released_at < ((${asOf}::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')
        AND r.released_at >= (SELECT since FROM window_start)
        AND r.released_at >= ((${asOf}::date - p.bill_notice_window_days)::timestamp AT TIME ZONE 'Asia/Shanghai')
    ), ins AS (
      INSERT INTO dunning_notice (customer_id, bill_id, step, segment, org_path, channel_mode, channels, status, bill_no, period,
                                  due_date, amount, late_fee, created_on, created_at, next_attempt_at)
      SELECT r.customer_id, r.bill_id, 'bill_notice', r.kind, r.org_path, r.channel_mode, COALESCE(r.channels, '{}'),
             CASE WHEN r.channels IS NULL THEN 'no_channel' ELSE 'pending' END,
             r.bill_no, r.period, r.due_date, r.amount, 0, ${asOf}::date, ${at}::timestamptz, ${at}::timestamptz
      FROM released r
      ON CONFLICT ON CONSTRAINT dunning_notice_key DO NOTHING
      RETURNING step, status
    )
    SELECT step, status, count(*)::int AS n FROM ins GROUP BY step, status ORDER BY step, status`.execute(db));
  return r.rows;
}

/** Pending chase notices whose debt is no longer open: paid since they were decided. */
export async function cancelPaidNotices(db: Db, at: Date): Promise<number> {
  const r = await provinceWide(db, () => sql`
    UPDATE dunning_notice n
    SET status = 'cancelled', cancel_reason = 'paid', finished_at = ${at}::timestamptz, claimed_by = NULL, claimed_until = NULL
    FROM (
      SELECT p.id FROM dunning_notice p
      WHERE p.status = 'pending' AND p.step NOT IN ('bill_notice', 'reconnect')
        AND NOT EXISTS (SELECT 1 FROM dunning_open_debt d WHERE d.customer_id = p.customer_id AND d.bill_id = p.bill_id)
    ) paid
    WHERE n.id = paid.id`.execute(db));
  return Number(r.numAffectedRows ?? 0);
}
