import { sql } from 'kysely';
import { setBasedJoins, type Db } from '../../platform/index.ts';
import { inRange, WHOLE_PROVINCE, type CustomerRange } from '../../customers/index.ts';
import { isChaseNotice } from './outbox.repository.ts';

/**
 * The agreed channels of every customer, in priority order, whose contact is not known to be
 * invalid (a customer with none has no row). The agreements are read in (customer, priority)
 * order from channel_agreement_agreed_idx and aggregated as they come: no sort. The invalid
 * contacts are few, so they are a hashed filter on that scan (NOT IN a subquery: the contact id is
 * never null); a join with them would give up the index order and sort every agreement again.
 */
const agreedChannels = (range: CustomerRange) => sql`
  SELECT o.customer_id, array_agg(o.channel) AS channels
  FROM (SELECT a.customer_id, a.channel FROM channel_agreement a
        WHERE a.withdrawn_at IS NULL AND ${inRange('a.customer_id', range)}
          AND a.contact_id NOT IN (SELECT ct.id FROM contact ct WHERE ct.status = 'invalid')
        ORDER BY a.customer_id, a.priority, a.channel) o
  GROUP BY o.customer_id`;

/**
 * Starts a run on the session that holds it to the end: one run at a time (a second one waits; the chase
 * decision inserts what is not there yet), and the day's open debt emptied for the slices to fill.
 */
export async function beginDunningRun(db: Db): Promise<void> {
  await sql`SELECT pg_advisory_lock(${RUN_LOCK})`.execute(db);
  try {
    await setRunMemory(db);
    await sql`TRUNCATE dunning_open_debt`.execute(db);
  } catch (e) {
    await sql`SELECT pg_advisory_unlock(${RUN_LOCK})`.execute(db);
    throw e;
  }
}

export async function endDunningRun(db: Db): Promise<void> {
  try {
    await sql`TRUNCATE dunning_open_debt`.execute(db);
    await sql`RESET work_mem`.execute(db);
  } finally {
    await sql`SELECT pg_advisory_unlock(${RUN_LOCK})`.execute(db);
  }
}

/** `fn` on another connection of the run (a slice), with the run's memory setting for its duration. */
export async function withRunMemory<T>(db: Db, fn: () => Promise<T>): Promise<T> {
  await setRunMemory(db);
  try {
    return await fn();
  } finally {
    await sql`RESET work_mem`.execute(db);
  }
}

// the run's sorts and hashes span every account (or a slice's share): they stay in memory
const setRunMemory = (db: Db) => sql`SELECT set_config('work_mem', '256MB', false)`.execute(db);

/**
 * The open debt of the run's day for one slice of customers, computed once (payments_open_debt is the
 * expensive part: late fees) into dunning_open_debt; the run's statements join it by hash. Each
 * customer's case (its oldest open bill, and that bill's due date) is marked here, in the one sort the
 * snapshot needs anyway. Once every slice is in, analyzeOpenDebt.
 */
export async function snapshotOpenDebt(db: Db, asOf: string, range: CustomerRange = WHOLE_PROVINCE): Promise<number> {
  const r = await sql`INSERT INTO dunning_open_debt (customer_id, bill_id, bill_no, period, due_date, outstanding, late_fee, is_case, case_due)
    SELECT customer_id, bill_id, bill_no, period, due_date, outstanding, late_fee,
           row_number() OVER w = 1 AS is_case, first_value(due_date) OVER w AS case_due
    FROM payments_open_debt(${asOf}::date, ${range.lo}::bigint, ${range.hi}::bigint) WHERE outstanding > 0
    WINDOW w AS (PARTITION BY customer_id ORDER BY due_date, bill_id)`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

/** Statistics of the filled snapshot for the statements that join it (the run analyses it itself). */
export async function analyzeOpenDebt(db: Db): Promise<void> {
  await sql`ANALYZE dunning_open_debt`.execute(db);
}

/** Advisory lock key of the daily run ('dunn' in ASCII). */
const RUN_LOCK = 0x64756e6e;

/**
 * Runs a whole-province statement in a transaction of its own, with set-based joins only. These
 * statements join every open case to the outbox; with the outbox's statistics stale (empty when last
 * analysed, then filled by the previous run) the planner would otherwise pick a nested loop that
 * rescans the outbox per case, and it grows while the same statement inserts.
 */
function provinceWide<T>(db: Db, fn: (trx: Db) => Promise<T>, opts: { joinsAsWritten?: boolean } = {}): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await setBasedJoins(trx, opts);
    return fn(trx);
  });
}

export interface DecidedCount {
  step: string;
  status: string;
  n: number;
}

/** Join key of the bill-notice step (no number of days past a due date). */
const NO_DAY = sql.raw('(-2147483647)');

/**
 * Every notice the day adds, in one statement. The chase: each customer's case is its oldest open
 * bill; the step due is the policy step whose window (from its offset to the next step's offset)
 * holds the days past that bill's due date; the amount is the case bill plus the other bills due
 * by then; a customer without an agreed channel gets the notice as 'no_channel' (→ manual task).
 * The bill notices: bills released within the policy window up to the end of `asOf` (Shanghai).
 * Both kinds of candidate go through one join with the customers, one computation of the agreed
 * channels (no temp table: they are read once), one anti-join with the outbox on the notice key
 * (customer, bill, step), so a rerun adds nothing (runs are serialised by the run lock, and the
 * unique key still refuses a duplicate), and one plain insert.
 *
 * A closed account (moved out) is chased for what it still owes like any other, but gets no suspension
 * notice: the supply is no longer its own. Whether a reminder was given before a suspension notice is
 * checked when the dispatcher meets the notice (cancelSettled), per claimed batch.
 *
 * The joins run in the order written: each candidate carries its day key, the customers give it
 * its segment, and only then does it meet the steps, by one hash probe on (segment, day). Left to
 * itself the planner joined the steps first on the day alone (it could not know that the day key
 * is no filter), which doubled the candidates (one per segment) and sorted them twice, on disk,
 * before the customers' join threw half away (1M accounts: about a quarter of the statement). The
 * notices already there drop out before the agreed channels are joined: a rerun meets none.
 */
export async function decideNotices(db: Db, asOf: string, at: Date, range: CustomerRange = WHOLE_PROVINCE): Promise<DecidedCount[]> {
  const r = await provinceWide(db, (trx) => sql<DecidedCount>`
    WITH windows AS (
      SELECT segment, step, channel_mode, offset_days AS from_day,
             COALESCE(lead(offset_days) OVER (PARTITION BY segment ORDER BY offset_days) - 1, 2147483647) AS to_day
      FROM dunning_policy_step WHERE offset_days IS NOT NULL
    ), steps AS (
      -- the step due per segment and days past the due date, for the days the cases have (a few
      -- dozen), so each candidate finds its step by one hash probe instead of being tested against
      -- every step of its segment; the bill notice step has no day (NO_DAY)
      SELECT w.segment, dd.days AS day_key, w.step, w.channel_mode
      FROM (SELECT DISTINCT ${asOf}::date - due_date AS days FROM dunning_open_debt WHERE is_case AND ${inRange('customer_id', range)}) dd
      JOIN windows w ON dd.days BETWEEN w.from_day AND w.to_day
      UNION ALL
      SELECT segment, ${NO_DAY}, step, channel_mode FROM dunning_policy_step WHERE step = 'bill_notice'
    ), window_start AS (
      SELECT min((${asOf}::date - bill_notice_window_days)::timestamp AT TIME ZONE 'Asia/Shanghai') AS since FROM dunning_policy
    ), also_due AS (
      SELECT customer_id, sum(outstanding) AS outstanding, sum(late_fee) AS late_fee FROM dunning_open_debt
      WHERE NOT is_case AND due_date <= GREATEST(${asOf}::date, case_due) AND ${inRange('customer_id', range)} GROUP BY customer_id
    ), candidate AS (
      SELECT k.customer_id, k.bill_id, k.bill_no, k.period, k.due_date, k.outstanding + COALESCE(x.outstanding, 0) AS amount,
             COALESCE(k.late_fee, 0) + COALESCE(x.late_fee, 0) AS late_fee, NULL::timestamptz AS released_at,
             ${asOf}::date - k.due_date AS day_key
      FROM dunning_open_debt k LEFT JOIN also_due x ON x.customer_id = k.customer_id
      WHERE k.is_case AND ${inRange('k.customer_id', range)}
      UNION ALL
      SELECT r.customer_id, r.bill_id, r.bill_no, r.period, r.due_date, r.amount, 0, r.released_at, ${NO_DAY}
      FROM v_billing_receivable r
      WHERE r.kind IN ('bill', 'rebill') AND r.amount > 0 AND ${inRange('r.customer_id', range)}
        AND r.released_at < ((${asOf}::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')
        AND r.released_at >= (SELECT since FROM window_start)
    ), agreed AS (${agreedChannels(range)}
    ), decided AS (
      SELECT d.customer_id, d.bill_id, s.step, c.kind, s.channel_mode, d.bill_no, d.period, d.due_date, d.amount, d.late_fee,
             CASE WHEN s.step = 'suspension_notice' THEN ${asOf}::date + p.suspension_notice_days END AS suspend_on
      FROM candidate d
      JOIN customer c ON c.id = d.customer_id
      JOIN dunning_policy p ON p.segment = c.kind
      JOIN steps s ON s.segment = c.kind AND s.day_key = d.day_key
      WHERE ${inRange('c.id', range)}
        AND CASE WHEN d.released_at IS NULL THEN c.status <> 'closed' OR s.step <> 'suspension_notice'
                 ELSE d.released_at >= ((${asOf}::date - p.bill_notice_window_days)::timestamp AT TIME ZONE 'Asia/Shanghai') END
        AND NOT EXISTS (SELECT 1 FROM dunning_notice n WHERE n.customer_id = d.customer_id AND n.bill_id = d.bill_id AND n.step = s.step
                          AND ${inRange('n.customer_id', range)})
    ), ins AS (
      INSERT INTO dunning_notice (customer_id, bill_id, step, segment, channel_mode, channels, status, bill_no, period,
                                  due_date, amount, late_fee, suspend_on, created_on, created_at, next_attempt_at)
      SELECT d.customer_id, d.bill_id, d.step, d.kind, d.channel_mode, COALESCE(ag.channels, '{}'),
             CASE WHEN ag.channels IS NULL THEN 'no_channel' ELSE 'pending' END,
             d.bill_no, d.period, d.due_date, d.amount, d.late_fee, d.suspend_on, ${asOf}::date, ${at}::timestamptz, ${at}::timestamptz
      FROM decided d
      LEFT JOIN agreed ag ON ag.customer_id = d.customer_id
      RETURNING step, status
    )
    SELECT step, status, count(*)::int AS n FROM ins GROUP BY step, status ORDER BY step, status`.execute(trx), { joinsAsWritten: true });
  return r.rows;
}

/** Pending chase notices whose debt is no longer open: paid since they were decided. */
export async function cancelPaidNotices(db: Db, at: Date, range: CustomerRange = WHOLE_PROVINCE): Promise<number> {
  const r = await provinceWide(db, (trx) => sql`
    UPDATE dunning_notice n
    SET status = 'cancelled', cancel_reason = 'paid', finished_at = ${at}::timestamptz, claimed_by = NULL, claimed_until = NULL
    WHERE n.status = 'pending' AND ${isChaseNotice('n')} AND ${inRange('n.customer_id', range)}
      AND NOT EXISTS (SELECT 1 FROM dunning_open_debt d WHERE d.customer_id = n.customer_id AND d.bill_id = n.bill_id
                        AND ${inRange('d.customer_id', range)})`.execute(trx));
  return Number(r.numAffectedRows ?? 0);
}
