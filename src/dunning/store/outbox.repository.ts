/**
 * The notices outbox as the dispatcher sees it: claim due notices under a lease, record each
 * hand-over to a channel and each receipt, and settle a notice's state from its attempts.
 * Functions that lock rows take the caller's transaction.
 */
import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';

/**
 * Whether the notice in `alias` is a chase notice (催费): what the daily contact cap counts, what a
 * payment cancels. A bill notice and a reconnect notice inform; they are not dunning contacts.
 */
export const isChaseNotice = (alias: string) => sql.raw(`${alias}.step NOT IN ('bill_notice', 'reconnect')`);

export interface CandidateRow {
  id: number;
  customer_id: number;
}

/**
 * Notices whose dispatcher lease ran out (their dispatcher died), then due pending notices in
 * order, locked for this transaction; rows another dispatcher is claiming are skipped.
 */
export async function lockDueNotices(trx: Db, now: Date, limit: number): Promise<CandidateRow[]> {
  const orphaned = await sql<CandidateRow>`
    SELECT n.id, n.customer_id FROM dunning_notice n
    WHERE n.status = 'sending' AND (n.claimed_until IS NULL OR n.claimed_until < ${now}::timestamptz)
      AND n.next_attempt_at <= ${now}::timestamptz
    ORDER BY n.claimed_until NULLS FIRST
    LIMIT ${limit}
    FOR UPDATE SKIP LOCKED`.execute(trx);
  if (orphaned.rows.length >= limit) return orphaned.rows;
  const due = await sql<CandidateRow>`
    SELECT n.id, n.customer_id FROM dunning_notice n
    WHERE n.status = 'pending' AND n.next_attempt_at <= ${now}::timestamptz
    ORDER BY n.next_attempt_at, n.id
    LIMIT ${limit - orphaned.rows.length}
    FOR UPDATE SKIP LOCKED`.execute(trx);
  return [...orphaned.rows, ...due.rows];
}

/**
 * Locks, until the claim commits and in customer order, the contact row of each customer with a
 * notice here that the daily cap counts (a chase notice not dispatched before). SKIP LOCKED lets two
 * claims take different notices of one customer; each would count the customer's contacts of the day
 * without the other's uncommitted lease, and both would send. The later claim waits here instead, and
 * its count (planNotices: a later statement, so a later snapshot) sees what the earlier one leased.
 */
export async function lockContactCounts(trx: Db, ids: number[]): Promise<void> {
  if (!ids.length) return;
  // inserts the missing rows and locks the others, in one pass: a DO UPDATE locks every conflicting
  // row, also those its WHERE leaves unchanged (so none is written)
  await sql`
    INSERT INTO dunning_contact_lock AS l (customer_id)
    SELECT DISTINCT n.customer_id FROM dunning_notice n
    WHERE n.id = ANY(${ids}::bigint[]) AND ${isChaseNotice('n')} AND n.dispatched_on IS NULL
    ORDER BY n.customer_id
    ON CONFLICT ON CONSTRAINT dunning_contact_lock_pkey DO UPDATE SET customer_id = l.customer_id WHERE false`.execute(trx);
}

/**
 * Cancels the locked chase notices whose debt is no longer among the open bills ('paid'); those of a
 * debt whose later chase step is decided ('superseded': notices left waiting while the dispatcher was
 * down, or days replayed after an outage, are not sent late, one a day, after the step now due); and
 * the suspension notices that may not go out: the account closed since it was decided, so the supply
 * is no longer its own ('account_closed'), or no reminder nor overdue notice of the debt was given
 * before it ('no_reminder_given': DOMAIN.md suspends "after a reminder"; a chase that starts past day
 * 31, or whose notices all failed, leaves the debt to the grid manager, who has it as past_notice_3).
 * The caller reads the open bills after share-locking the accounts, so a payment either committed
 * before (and is seen here) or waits until the claim is committed. The other notices of the debt are
 * found by dunning_notice_key, for the claimed batch only.
 */
export async function cancelSettled(trx: Db, ids: number[], openBillIds: number[], now: Date): Promise<number[]> {
  if (!ids.length) return [];
  const r = await sql<{ id: number }>`
    WITH judged AS (
      SELECT n.id,
             CASE WHEN n.bill_id <> ALL(${openBillIds}::bigint[]) THEN 'paid'
                  -- a later chase step of the same debt is decided
                  WHEN EXISTS (SELECT 1 FROM dunning_notice later
                               JOIN dunning_policy_step ls ON ls.segment = later.segment AND ls.step = later.step
                               JOIN dunning_policy_step ns ON ns.segment = n.segment AND ns.step = n.step
                               WHERE later.customer_id = n.customer_id AND later.bill_id = n.bill_id AND ls.offset_days > ns.offset_days) THEN 'superseded'
                  WHEN n.step <> 'suspension_notice' THEN NULL
                  WHEN c.status = 'closed' THEN 'account_closed'
                  WHEN NOT EXISTS (SELECT 1 FROM dunning_notice g
                                   WHERE g.customer_id = n.customer_id AND g.bill_id = n.bill_id
                                     AND g.step IN ('reminder', 'overdue_1', 'overdue_2', 'overdue_3') AND g.status IN ('sent', 'delivered'))
                    THEN 'no_reminder_given'
             END AS reason
      FROM dunning_notice n JOIN customer c ON c.id = n.customer_id
      WHERE n.id = ANY(${ids}::bigint[]) AND ${isChaseNotice('n')}
    ), upd AS (
      UPDATE dunning_notice n SET status = 'cancelled', finished_at = ${now}::timestamptz, claimed_by = NULL, claimed_until = NULL, cancel_reason = j.reason
      FROM judged j WHERE n.id = j.id AND j.reason IS NOT NULL
      RETURNING n.id
    ), att AS (
      UPDATE dunning_attempt a SET status = 'cancelled' FROM upd WHERE a.notice_id = upd.id AND a.status = 'sending' RETURNING a.id
    )
    SELECT id FROM upd`.execute(trx);
  return r.rows.map((x) => Number(x.id));
}

export interface PlanNoticeRow {
  id: number;
  customer_id: number;
  segment: 'residential' | 'non_residential';
  step: string;
  counts_for_cap: boolean;
  /** Notices this customer may still get today (cap minus those already dispatched today). */
  room: number;
  /** Order among this batch's capped notices of the same customer. */
  rank: number;
}
export interface PlanChannelRow {
  notice_id: number;
  channel: string;
  /** The attempt left 'sending' by a dispatcher that died: resend under its key. */
  resume_key: string | null;
  next_attempt_no: number;
}

/**
 * For locked notices: which channels to use now, and what the daily contact cap leaves. The cap is on
 * dunning contacts: the electronic bill and the notice that supply is back are not chasing, neither
 * held by it nor counted in it.
 */
export async function planNotices(trx: Db, ids: number[], today: string): Promise<{ notices: PlanNoticeRow[]; channels: PlanChannelRow[] }> {
  if (!ids.length) return { notices: [], channels: [] };
  const notices = await sql<PlanNoticeRow>`
    SELECT c.id, c.customer_id, c.segment, c.step,
           (${isChaseNotice('c')} AND c.dispatched_on IS NULL) AS counts_for_cap,
           p.daily_contact_cap - (SELECT count(*)::int FROM dunning_notice o
                                  WHERE o.customer_id = c.customer_id AND o.dispatched_on = ${today}::date
                                    AND ${isChaseNotice('o')} AND o.id <> c.id) AS room,
           row_number() OVER (PARTITION BY c.customer_id, (${isChaseNotice('c')} AND c.dispatched_on IS NULL) ORDER BY c.id)::int AS rank
    FROM dunning_notice c JOIN dunning_policy p ON p.segment = c.segment
    WHERE c.id = ANY(${ids}::bigint[]) AND c.status IN ('pending', 'sending')`.execute(trx);
  const channels = await sql<PlanChannelRow>`
    WITH last AS (
      SELECT DISTINCT ON (a.notice_id, a.channel) a.notice_id, a.channel, a.status, a.retryable, a.attempt_no, a.message_key
      FROM dunning_attempt a WHERE a.notice_id = ANY(${ids}::bigint[])
      ORDER BY a.notice_id, a.channel, a.attempt_no DESC
    )
    SELECT c.id AS notice_id, ch.channel,
           CASE WHEN l.status = 'sending' THEN l.message_key END AS resume_key,
           COALESCE(l.attempt_no, 0) + 1 AS next_attempt_no
    FROM dunning_notice c
    JOIN dunning_policy p ON p.segment = c.segment
    CROSS JOIN LATERAL unnest(c.channels) WITH ORDINALITY AS ch(channel, ord)
    LEFT JOIN last l ON l.notice_id = c.id AND l.channel = ch.channel
    WHERE c.id = ANY(${ids}::bigint[]) AND c.status IN ('pending', 'sending')
      AND (c.channel_mode = 'all' OR ch.ord = c.channel_index)
      AND (l.status IS NULL OR l.status = 'sending'
           OR (l.status IN ('failed', 'no_answer', 'busy') AND l.retryable AND l.attempt_no < p.max_attempts_per_channel))
    ORDER BY c.id, ch.ord`.execute(trx);
  return { notices: notices.rows, channels: channels.rows };
}

/** Puts notices back in the queue until the given instants (quiet hours, daily cap). */
export async function deferNotices(trx: Db, deferrals: { id: number; until: Date }[]): Promise<void> {
  if (!deferrals.length) return;
  await sql`
    UPDATE dunning_notice n SET status = 'pending', next_attempt_at = d.until, claimed_by = NULL, claimed_until = NULL
    FROM jsonb_to_recordset(${JSON.stringify(deferrals)}::jsonb) AS d(id bigint, until timestamptz)
    WHERE n.id = d.id`.execute(trx);
}

export interface ClaimedMessageRow {
  message_key: string;
  notice_id: number;
  segment: string;
  channel: string;
  recipient: string;
  step: string;
  bill_no: string;
  period: string | null;
  due_date: string | null;
  amount: string;
  late_fee: string;
  suspend_on: string | null;
  /** The segment's commitment a reconnect notice states (复电 within this many hours of payment). */
  reconnect_within_hours: number;
  customer_number: string;
  customer_name: string;
}

/** A bill with money owed on the day of the claim (payments' open debt). */
export interface OpenBillInput {
  customer_id: number;
  due_date: string;
  outstanding: string;
  late_fee: string;
}

/**
 * Leases the notices to this dispatcher and writes their attempts ('sending') before anything is
 * sent: a dispatcher that dies leaves them for the next one, which resends under the same key.
 * A channel whose agreement was withdrawn since the decision fails at once (and fails over).
 * One statement: the lease, the new attempts, the resumed ones, and what the messages need.
 */
export async function leaseNotices(
  trx: Db,
  args: { ids: number[]; channels: PlanChannelRow[]; dispatcher: string; now: Date; leaseUntil: Date; today: string; openBills: OpenBillInput[] },
): Promise<{ messages: ClaimedMessageRow[]; failedAtOnce: number[] }> {
  const { ids, channels, dispatcher, now, leaseUntil, today, openBills } = args;
  if (!ids.length) return { messages: [], failedAtOnce: [] };
  const fresh = channels.filter((c) => !c.resume_key).map((c) => ({ notice_id: c.notice_id, channel: c.channel, attempt_no: c.next_attempt_no }));
  const resumed = channels.filter((c) => c.resume_key).map((c) => c.resume_key!);
  const r = await sql<ClaimedMessageRow & { status: string; attempt_id: number }>`
    WITH open_bill AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(openBills)}::jsonb) AS o(customer_id bigint, due_date date, outstanding numeric, late_fee numeric)
    ), owed AS (
      -- what a chase notice asks for today, as the run computes it (its bill and the others due by then): a
      -- part payment since the decision is not asked for again (null: the electronic bill, the reconnect)
      SELECT n.id, sum(o.outstanding) AS amount, sum(o.late_fee) AS late_fee
      FROM dunning_notice n
      LEFT JOIN open_bill o ON o.customer_id = n.customer_id AND o.due_date <= GREATEST(${today}::date, n.due_date)
                           AND ${isChaseNotice('n')}
      WHERE n.id = ANY(${ids}::bigint[])
      GROUP BY n.id
    ), leased AS (
      -- a suspension notice gives its full notice period from the day it goes out: one sent late moves the cut
      UPDATE dunning_notice n SET status = 'sending', claimed_by = ${dispatcher}, claimed_until = ${leaseUntil}::timestamptz,
             dispatched_on = COALESCE(n.dispatched_on, ${today}::date),
             suspend_on = CASE WHEN n.step = 'suspension_notice' THEN GREATEST(n.suspend_on, ${today}::date + p.suspension_notice_days)
                               ELSE n.suspend_on END,
             amount = COALESCE(w.amount, n.amount), late_fee = COALESCE(w.late_fee, n.late_fee)
      FROM dunning_policy p, owed w
      WHERE n.id = ANY(${ids}::bigint[]) AND p.segment = n.segment AND w.id = n.id
      RETURNING n.id, n.suspend_on, n.amount, n.late_fee, p.reconnect_within_hours
    ), ins AS (
      INSERT INTO dunning_attempt (notice_id, customer_id, channel, attempt_no, contact_id, recipient, message_key, status,
                                   error_code, queued_at, dispatcher)
      SELECT n.id, n.customer_id, f.channel, f.attempt_no, ct.id, ct.value, 'N' || n.id || '-' || f.channel || '-' || f.attempt_no,
             CASE WHEN ct.id IS NULL THEN 'failed' ELSE 'sending' END,
             CASE WHEN ct.id IS NULL THEN 'CHANNEL_NOT_AGREED' END, ${now}::timestamptz, ${dispatcher}
      FROM jsonb_to_recordset(${JSON.stringify(fresh)}::jsonb) AS f(notice_id bigint, channel text, attempt_no integer)
      JOIN dunning_notice n ON n.id = f.notice_id
      LEFT JOIN channel_agreement ag ON ag.customer_id = n.customer_id AND ag.channel = f.channel AND ag.withdrawn_at IS NULL
      LEFT JOIN contact ct ON ct.id = ag.contact_id AND ct.status <> 'invalid'
      ORDER BY n.id, f.channel
      ON CONFLICT ON CONSTRAINT dunning_attempt_notice_channel_no_key DO NOTHING
      RETURNING id, notice_id, message_key, channel, recipient, status
    ), res AS (
      UPDATE dunning_attempt SET dispatcher = ${dispatcher} WHERE message_key = ANY(${resumed}::text[])
      RETURNING id, notice_id, message_key, channel, recipient, status
    )
    SELECT a.id AS attempt_id, a.status, a.message_key, a.notice_id, n.segment, a.channel, a.recipient, n.step, n.bill_no, n.period, n.due_date,
           l.amount, l.late_fee, l.suspend_on, l.reconnect_within_hours, c.number AS customer_number, c.name AS customer_name
    FROM (SELECT * FROM ins UNION ALL SELECT * FROM res) a
    JOIN dunning_notice n ON n.id = a.notice_id JOIN leased l ON l.id = a.notice_id JOIN customer c ON c.id = n.customer_id
    ORDER BY a.id`.execute(trx);
  const messages: ClaimedMessageRow[] = [];
  const failed = new Set<number>();
  for (const { status, attempt_id: _, ...m } of r.rows) {
    if (status === 'sending') messages.push({ ...m, notice_id: Number(m.notice_id) });
    else failed.add(Number(m.notice_id));
  }
  return { messages, failedAtOnce: [...failed] };
}

export interface SendOutcome {
  message_key: string;
  accepted: boolean;
  provider_message_id?: string | null;
  error_code?: string | null;
  detail?: string | null;
  permanent?: boolean;
  /** The provider's Retry-After on a refusal: the channel takes the message again no sooner. */
  retry_after_ms?: number | null;
  /** A receipt (or callback) that came before this outcome was written: applied in the same write. */
  report?: { state: string; at: string; detail?: string | null } | null;
}

/**
 * Records the provider's answer to each hand-over, with any receipt that already came for it,
 * in one statement. A notice whose attempts here all went out (and has no other attempt in
 * flight) is settled right there — sent, or delivered when a receipt says so; the others
 * (a failure: retry, failover, give up; or an attempt still in flight) are returned for
 * settleNotices. Rows are locked in id order, as every multi-row write of the outbox does, so
 * concurrent writers queue instead of deadlocking.
 */
export async function recordSendOutcomes(db: Db, outcomes: SendOutcome[], now: Date): Promise<number[]> {
  if (!outcomes.length) return [];
  const rows = outcomes.map((o) => ({
    message_key: o.message_key, accepted: o.accepted, provider_message_id: o.provider_message_id ?? null, error_code: o.error_code ?? null,
    detail: o.detail ?? null, permanent: o.permanent ?? false, retry_after_ms: o.retry_after_ms ?? null, r_state: o.report?.state ?? null, r_at: o.report?.at ?? null, r_detail: o.report?.detail ?? null,
  }));
  const r = await sql<{ notice_id: number }>`
    WITH o AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
        AS o(message_key text, accepted boolean, provider_message_id text, error_code text, detail text, permanent boolean,
             retry_after_ms bigint, r_state text, r_at timestamptz, r_detail text)
    ), locked AS (
      SELECT a.id, o.* FROM dunning_attempt a JOIN o ON o.message_key = a.message_key
      WHERE a.status <> 'cancelled' ORDER BY a.id FOR UPDATE OF a
    ), upd AS (
      UPDATE dunning_attempt a SET
        status = COALESCE(l.r_state, CASE WHEN a.status <> 'sending' THEN a.status WHEN l.accepted THEN 'sent' ELSE 'failed' END),
        retryable = CASE WHEN l.r_state IS NOT NULL THEN l.r_state IN ('no_answer', 'busy')
                         WHEN a.status <> 'sending' THEN a.retryable ELSE NOT l.accepted AND NOT l.permanent END,
        provider_message_id = COALESCE(l.provider_message_id, a.provider_message_id),
        error_code = COALESCE(a.error_code, l.error_code),
        detail = COALESCE(l.r_detail, a.detail, l.detail),
        sent_at = CASE WHEN l.accepted THEN ${now}::timestamptz ELSE COALESCE(a.sent_at, l.r_at) END,
        retry_not_before = CASE WHEN a.status = 'sending' AND NOT l.accepted AND l.retry_after_ms IS NOT NULL
                                THEN ${now}::timestamptz + make_interval(secs => l.retry_after_ms / 1000.0) ELSE a.retry_not_before END,
        reported_at = COALESCE(l.r_at, a.reported_at)
      FROM locked l WHERE a.id = l.id
      RETURNING a.id, a.notice_id, a.status
    ), per_notice AS (
      SELECT u.notice_id, bool_or(u.status IN ('delivered', 'answered')) AS ok, bool_and(u.status IN ('sent', 'delivered', 'answered')) AS out,
             array_agg(u.id) AS ids
      FROM upd u GROUP BY u.notice_id
    ), settled AS (
      SELECT n.id, CASE WHEN p.ok THEN 'delivered' ELSE 'sent' END AS status
      FROM per_notice p JOIN dunning_notice n ON n.id = p.notice_id
      WHERE n.status NOT IN ('cancelled', 'no_channel', 'delivered')
        AND (p.ok OR (p.out AND NOT EXISTS (SELECT 1 FROM dunning_attempt x WHERE x.notice_id = p.notice_id AND x.status = 'sending' AND x.id <> ALL(p.ids))))
      ORDER BY n.id FOR UPDATE OF n
    ), nupd AS (
      UPDATE dunning_notice n SET status = s.status, claimed_by = NULL, claimed_until = NULL,
             finished_at = CASE WHEN s.status = 'delivered' THEN COALESCE(n.finished_at, ${now}::timestamptz) ELSE n.finished_at END
      FROM settled s WHERE n.id = s.id
      RETURNING n.id
    )
    SELECT p.notice_id FROM per_notice p WHERE p.notice_id NOT IN (SELECT id FROM nupd)`.execute(db);
  return r.rows.map((x) => Number(x.notice_id));
}

export interface ReportInput {
  message_key?: string | null;
  provider_message_id: string;
  state: string;
  at: string;
  detail?: string | null;
}

/**
 * Applies delivery receipts and callbacks in one statement. A delivered message (or answered call)
 * settles its notice as delivered right there — whatever its other attempts say, that is the
 * notice's state (see settleNotices) — so the common receipt costs no second pass. Returns the
 * notices whose report needs the full settle (failures: retry, failover, give up) and the reports
 * that matched nothing yet. Attempts, then notices, are locked in id order.
 */
export async function recordReports(db: Db, reports: ReportInput[], now: Date): Promise<{ noticeIds: number[]; unmatched: ReportInput[] }> {
  if (!reports.length) return { noticeIds: [], unmatched: [] };
  const r = await sql<{ notice_id: number; message_key: string; provider_message_id: string | null; status: string; changed: boolean }>`
    WITH rep AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(reports)}::jsonb)
        AS r(message_key text, provider_message_id text, state text, at timestamptz, detail text)
    ), target AS (
      SELECT a.id, r.state, r.at, r.detail, r.provider_message_id FROM rep r JOIN dunning_attempt a ON a.message_key = r.message_key
      WHERE a.status <> 'cancelled'
      UNION ALL
      SELECT a.id, r.state, r.at, r.detail, r.provider_message_id FROM rep r JOIN dunning_attempt a ON a.provider_message_id = r.provider_message_id
      WHERE r.message_key IS NULL AND a.status <> 'cancelled'
    ), locked AS (
      SELECT a.id FROM dunning_attempt a WHERE a.id IN (SELECT t.id FROM target t) ORDER BY a.id FOR UPDATE
    ), upd AS (
      -- a delivered or answered attempt stays so: a report after it (a provider's repeat, callbacks out of
      -- order) does not undo the proof; of one batch's reports for an attempt, a success wins, then the
      -- latest event; a failure older than the report already kept (callbacks out of order across
      -- batches) does not replace it
      UPDATE dunning_attempt a SET status = t.state, retryable = t.state IN ('no_answer', 'busy'), reported_at = t.at,
             detail = COALESCE(t.detail, a.detail), provider_message_id = COALESCE(a.provider_message_id, t.provider_message_id),
             sent_at = COALESCE(a.sent_at, t.at)
      FROM (SELECT DISTINCT ON (t.id) t.* FROM target t JOIN locked l ON l.id = t.id
            ORDER BY t.id, t.state IN ('delivered', 'answered') DESC, t.at DESC) t
      WHERE a.id = t.id AND (a.status NOT IN ('delivered', 'answered') OR t.state IN ('delivered', 'answered'))
        AND (t.state IN ('delivered', 'answered') OR a.reported_at IS NULL OR t.at >= a.reported_at)
      RETURNING a.id, a.notice_id, a.message_key, a.provider_message_id, a.status
    ), to_deliver AS (
      SELECT n.id FROM dunning_notice n
      WHERE n.id IN (SELECT u.notice_id FROM upd u WHERE u.status IN ('delivered', 'answered'))
        AND n.status NOT IN ('cancelled', 'no_channel', 'delivered')
      ORDER BY n.id FOR UPDATE OF n
    ), delivered AS (
      UPDATE dunning_notice n SET status = 'delivered', claimed_by = NULL, claimed_until = NULL,
             finished_at = COALESCE(n.finished_at, ${now}::timestamptz)
      FROM to_deliver d WHERE n.id = d.id
    )
    SELECT notice_id, message_key, provider_message_id, status, true AS changed FROM upd
    -- the reports a success or a later report already settled: matched, and nothing to settle
    UNION ALL
    SELECT a.notice_id, a.message_key, a.provider_message_id, a.status, false FROM dunning_attempt a
    WHERE a.id IN (SELECT id FROM locked) AND a.id NOT IN (SELECT id FROM upd)`.execute(db);
  const keys = new Set(r.rows.map((x) => x.message_key));
  const pids = new Set(r.rows.map((x) => x.provider_message_id));
  const unmatched = reports.filter((p) => (p.message_key ? !keys.has(p.message_key) : !pids.has(p.provider_message_id)));
  const toSettle = r.rows.filter((x) => x.changed && x.status !== 'delivered' && x.status !== 'answered').map((x) => Number(x.notice_id));
  return { noticeIds: [...new Set(toSettle)], unmatched };
}

/**
 * A notice's state from its attempts: delivered when any channel delivered (or the call was
 * answered); in flight while any attempt waits; otherwise retry the channel after the backoff (or the
 * provider's Retry-After, when later), fail over to the next agreed channel (a one-channel notice too,
 * when its channel was withdrawn), or give up.
 */
export async function settleNotices(db: Db, ids: number[], now: Date): Promise<void> {
  if (!ids.length) return;
  await sql`
    WITH n AS (
      SELECT * FROM dunning_notice WHERE id = ANY(${ids}::bigint[]) AND status NOT IN ('cancelled', 'no_channel')
      ORDER BY id FOR UPDATE
    ), agg AS (
      SELECT a.notice_id AS id, bool_or(a.status IN ('delivered', 'answered')) AS ok,
             bool_or(a.status = 'sending') AS waiting, bool_or(a.status = 'sent') AS sent
      FROM dunning_attempt a WHERE a.notice_id = ANY(${ids}::bigint[]) GROUP BY a.notice_id
    ), last AS (
      SELECT DISTINCT ON (a.notice_id, a.channel) a.notice_id, a.channel, a.status, a.retryable, a.attempt_no, a.error_code, a.retry_not_before
      FROM dunning_attempt a WHERE a.notice_id = ANY(${ids}::bigint[])
      ORDER BY a.notice_id, a.channel, a.attempt_no DESC
    ), next_channel AS (
      -- the notices that go on to the next agreed channel: failover ones, and a one-channel notice (the
      -- reminder) whose channel the customer withdrew since the decision: the preference is the next one now
      SELECT n.id FROM n
      WHERE n.channel_index < cardinality(n.channels)
        AND (n.channel_mode = 'failover'
             OR (n.channel_mode = 'preferred' AND EXISTS (
                   SELECT 1 FROM last l WHERE l.notice_id = n.id AND l.channel = n.channels[n.channel_index]
                     AND l.status = 'failed' AND l.error_code = 'CHANNEL_NOT_AGREED')))
    ), retry AS (
      SELECT n.id, min(l.attempt_no) AS failures, max(l.retry_not_before) AS not_before
      FROM n JOIN dunning_policy p ON p.segment = n.segment JOIN last l ON l.notice_id = n.id
      WHERE l.retryable AND l.status IN ('failed', 'no_answer', 'busy') AND l.attempt_no < p.max_attempts_per_channel
        AND (n.channel_mode = 'all' OR l.channel = n.channels[n.channel_index])
      GROUP BY n.id
    ), decided AS (
      SELECT n.id,
        CASE WHEN COALESCE(g.ok, false) THEN 'delivered'
             WHEN COALESCE(g.waiting, false) THEN n.status
             WHEN COALESCE(g.sent, false) THEN 'sent'
             WHEN r.id IS NOT NULL THEN 'pending'
             WHEN x.id IS NOT NULL THEN 'pending'
             ELSE 'failed' END AS status,
        CASE WHEN NOT COALESCE(g.ok OR g.waiting OR g.sent, false) AND r.id IS NULL AND x.id IS NOT NULL
             THEN n.channel_index + 1 ELSE n.channel_index END AS channel_index,
        -- the policy's backoff, or the provider's Retry-After when that is later (greatest ignores a null)
        CASE WHEN r.id IS NOT NULL THEN greatest(${now}::timestamptz + make_interval(secs => p.retry_backoff_seconds * 2 ^ (r.failures - 1)), r.not_before)
             ELSE ${now}::timestamptz END AS next_at
      FROM n LEFT JOIN agg g ON g.id = n.id JOIN dunning_policy p ON p.segment = n.segment LEFT JOIN retry r ON r.id = n.id
      LEFT JOIN next_channel x ON x.id = n.id
    )
    UPDATE dunning_notice t SET
      status = d.status,
      channel_index = d.channel_index,
      next_attempt_at = CASE WHEN d.status = 'pending' THEN d.next_at ELSE t.next_attempt_at END,
      claimed_by = CASE WHEN d.status = 'sending' THEN t.claimed_by END,
      claimed_until = CASE WHEN d.status = 'sending' THEN t.claimed_until END,
      finished_at = CASE WHEN d.status IN ('delivered', 'failed') THEN COALESCE(t.finished_at, ${now}::timestamptz)
                         WHEN d.status = 'pending' THEN NULL ELSE t.finished_at END
    FROM decided d WHERE t.id = d.id`.execute(db);
}
