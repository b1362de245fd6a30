/**
 * Where the chase hands over to people or to the meter: manual collection after notice 3 (or at
 * once without an agreed channel), suspension and reconnect, contact verification. Selections are
 * set-based; the flows in src/flows open the tasks and record the escalations.
 */
import { sql } from 'kysely';
import { plainUnlessStored, type Db } from '../../platform/index.ts';
import { inRange, WHOLE_PROVINCE, type CustomerRange } from '../../customers/index.ts';

export const manualCollectionKey = (customerId: number, billId: number) => `dunning:manual_collection:${customerId}:${billId}`;
export const contactVerificationKey = (contactId: number) => `dunning:contact_verification:${contactId}`;
export const disconnectKey = (customerId: number, billId: number) => `dunning:disconnect:${customerId}:${billId}`;
export const reconnectKey = (customerId: number, billId: number) => `dunning:reconnect:${customerId}:${billId}`;

/**
 * The debts due for a manual collection among the customers of `range`, one row each: their
 * overdue notice 3 and its grace passed (the grace counts from the day notice 3 was decided: a chase
 * that starts late sends notice 3 and gives it its days before a person calls, as DOMAIN.md's "after 3
 * automatic notices went unpaid" asks), or the chase passed notice 3 without sending it (the
 * suspension notice is decided, or recorded as not given: a run that starts late, or notice 3
 * superseded), or a chase step found no channel; still open (dunning_open_debt) and not escalated yet.
 */
export const manualCollectionsDue = (asOf: string, range: CustomerRange = WHOLE_PROVINCE) => sql`
  SELECT DISTINCT ON (n.customer_id, n.bill_id) n.customer_id, n.bill_id, n.bill_no, d.outstanding::text AS amount,
         CASE WHEN n.status = 'no_channel' THEN 'no_channel' WHEN n.step = 'suspension_notice' THEN 'past_notice_3' ELSE 'after_notice_3' END AS reason
  FROM dunning_notice n
  JOIN dunning_policy p ON p.segment = n.segment
  JOIN dunning_open_debt d ON d.customer_id = n.customer_id AND d.bill_id = n.bill_id
  WHERE ${inRange('n.customer_id', range)} AND ${inRange('d.customer_id', range)}
    AND NOT EXISTS (SELECT 1 FROM dunning_escalation e WHERE e.escalation_key = 'dunning:manual_collection:' || n.customer_id || ':' || n.bill_id)
    -- dunning_notice_escalation_idx's predicate, as written there: the notices it holds
    AND (n.step IN ('overdue_3', 'suspension_notice') OR (n.status = 'no_channel' AND n.step NOT IN ('bill_notice', 'reconnect')))
    AND ((n.step = 'overdue_3' AND n.created_on + p.escalation_grace_days <= ${asOf}::date) OR n.step = 'suspension_notice' OR n.status = 'no_channel')
  ORDER BY n.customer_id, n.bill_id, n.status = 'no_channel', n.step = 'suspension_notice'`;

/**
 * Selects the manual collections due (manualCollectionsDue) into the temp table dunning_manual_collection
 * (dropped at commit), for recordManualCollections to record in the same transaction.
 */
export async function selectManualCollectionsDue(trx: Db, asOf: string, range: CustomerRange = WHOLE_PROVINCE): Promise<void> {
  await sql`CREATE TEMP TABLE dunning_manual_collection ON COMMIT DROP AS ${manualCollectionsDue(asOf, range)}`.execute(trx);
  // autovacuum never sees a temp table: without this the planner guesses its size
  await sql`ANALYZE dunning_manual_collection`.execute(trx);
}

/** The bills of the manual collections selectManualCollectionsDue left in its temp table. */
export async function manualCollectionBills(trx: Db): Promise<number[]> {
  const r = await sql<{ bill_id: number }>`SELECT bill_id FROM dunning_manual_collection ORDER BY bill_id`.execute(trx);
  return r.rows.map((x) => Number(x.bill_id));
}

/** Takes the manual collections of these bills out of selectManualCollectionsDue's temp table: they are not recorded. */
export async function dropManualCollections(trx: Db, billIds: number[]): Promise<void> {
  if (!billIds.length) return;
  await sql`DELETE FROM dunning_manual_collection WHERE bill_id = ANY(${billIds}::bigint[])`.execute(trx);
}

/**
 * Records the escalations of the manual collections selectManualCollectionsDue left in its temp table
 * dunning_manual_collection, and leaves them there for the caller to open their tasks from
 * (manualCollectionTasks) in the same transaction — no round trip of the rows through the caller.
 * Returns how many it recorded.
 */
export async function recordManualCollections(trx: Db, asOf: string, at: Date): Promise<number> {
  // The keys were selected as not recorded, in this transaction: they go in plainly. A key recorded
  // since the selection (by a writer outside the run) makes the plain insert fail; it is then redone
  // leaving that key alone, and its row leaves the table, so its task is not opened twice.
  const insert = (skipRecorded: boolean) => sql`
    INSERT INTO dunning_escalation (escalation_key, kind, reason, customer_id, bill_id, handled_by, created_on, created_at)
    SELECT 'dunning:manual_collection:' || d.customer_id || ':' || d.bill_id, 'manual_collection', d.reason, d.customer_id, d.bill_id,
           'task', ${asOf}::date, ${at}::timestamptz
    FROM dunning_manual_collection d
    ORDER BY d.customer_id, d.bill_id
    ${skipRecorded ? sql`ON CONFLICT ON CONSTRAINT dunning_escalation_key DO NOTHING RETURNING customer_id, bill_id` : sql``}`;
  await plainUnlessStored(trx, () => insert(false).execute(trx), () => sql`
    WITH ins AS (${insert(true)})
    DELETE FROM dunning_manual_collection d
    WHERE NOT EXISTS (SELECT 1 FROM ins WHERE ins.customer_id = d.customer_id AND ins.bill_id = d.bill_id)`.execute(trx));
  const recorded = await sql<{ n: number }>`SELECT count(*)::int AS n FROM dunning_manual_collection`.execute(trx);
  return recorded.rows[0]!.n;
}

/**
 * The task specs (openTasksFrom's columns) of the manual collections recordManualCollections
 * left in its temp table: one per debt, for the grid's community manager.
 */
export const manualCollectionTasks = () => sql`
  SELECT 'manual_collection' AS kind, 'dunning:manual_collection:' || m.customer_id || ':' || m.bill_id AS key,
         CASE WHEN m.reason = 'no_channel' THEN '人工催费：无约定通知渠道，电费 ' || m.amount || ' 元（' || m.bill_no || '）'
              -- past notice 3: a suspension notice is decided, or was not given for want of a reminder given before it
              WHEN m.reason = 'past_notice_3' THEN '人工催费：逾期已过 3 次通知阶段仍未缴费，电费 ' || m.amount || ' 元（' || m.bill_no || '）'
              ELSE '人工催费：3 次自动通知后仍未缴费，电费 ' || m.amount || ' 元（' || m.bill_no || '）' END AS title,
         m.customer_id, NULL::bigint AS meter_id, NULL::integer AS area_id,
         jsonb_build_object('billId', m.bill_id, 'billNo', m.bill_no, 'outstanding', m.amount, 'reason', m.reason) AS payload,
         'dunning' AS created_by, NULL::timestamptz AS due_at
  FROM dunning_manual_collection m
  ORDER BY m.customer_id, m.bill_id`;

/**
 * The manual collections of `range` whose debt is no longer open on `asOf` (paid, credited or voided):
 * marked settled, and their keys returned for their tasks to be called off. Reads the run's
 * dunning_open_debt, so it belongs inside the daily run, after the snapshot.
 */
export async function settleManualCollections(db: Db, asOf: string, range: CustomerRange = WHOLE_PROVINCE): Promise<string[]> {
  const r = await sql<{ key: string }>`
    UPDATE dunning_escalation e SET settled_on = ${asOf}::date
    WHERE e.kind = 'manual_collection' AND e.settled_on IS NULL AND ${inRange('e.customer_id', range)}
      AND NOT EXISTS (SELECT 1 FROM dunning_open_debt d WHERE d.customer_id = e.customer_id AND d.bill_id = e.bill_id)
    RETURNING e.escalation_key AS key`.execute(db);
  return r.rows.map((x) => x.key);
}

export interface EscalationInput {
  key: string;
  kind: 'manual_collection' | 'contact_verification' | 'disconnect' | 'reconnect';
  reason: string;
  customer_id: number;
  bill_id?: number | null;
  contact_id?: number | null;
  handled_by: 'task' | 'remote';
}

export async function recordEscalations(db: Db, asOf: string, at: Date, rows: EscalationInput[]): Promise<number> {
  if (!rows.length) return 0;
  const r = await sql`
    INSERT INTO dunning_escalation (escalation_key, kind, reason, customer_id, bill_id, contact_id, handled_by, created_on, created_at)
    SELECT e.key, e.kind, e.reason, e.customer_id, e.bill_id, e.contact_id, e.handled_by, ${asOf}::date, ${at}::timestamptz
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
         AS e(key text, kind text, reason text, customer_id bigint, bill_id bigint, contact_id bigint, handled_by text)
    ON CONFLICT ON CONSTRAINT dunning_escalation_key DO NOTHING`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

export interface SuspensionDueRow {
  notice_id: number;
  customer_id: number;
  bill_id: number;
  bill_no: string;
  /** Every active meter of the customer is a cost-control meter and, where the policy asks, the call was answered. */
  remote: boolean;
  meters: { meter_id: number; comm_address: string }[];
}

/**
 * Suspension notices given (sent or delivered) whose notice period ran out while the debt is still
 * open. The notices given are found through dunning_notice_suspension_given_idx (the outbox's other
 * notices are not read).
 */
export const suspensionsDueQuery = (asOf: string) => sql<SuspensionDueRow>`
  SELECT n.id AS notice_id, n.customer_id, n.bill_id, n.bill_no,
         bool_and(m.cost_control) AND (NOT p.suspension_needs_call OR EXISTS (
           SELECT 1 FROM dunning_attempt a WHERE a.notice_id = n.id AND a.channel = 'voice' AND a.status = 'answered')) AS remote,
         json_agg(json_build_object('meter_id', m.id, 'comm_address', m.comm_address) ORDER BY m.id) AS meters
  FROM dunning_notice n
  JOIN dunning_policy p ON p.segment = n.segment
  JOIN dunning_open_debt d ON d.customer_id = n.customer_id AND d.bill_id = n.bill_id
  JOIN service_point sp ON sp.customer_id = n.customer_id AND sp.removed_on IS NULL
  JOIN meter m ON m.id = sp.meter_id
  LEFT JOIN dunning_suspension s ON s.customer_id = n.customer_id AND s.bill_id = n.bill_id
  WHERE n.step = 'suspension_notice' AND n.status IN ('sent', 'delivered') AND n.suspend_on <= ${asOf}::date AND s.customer_id IS NULL
  GROUP BY n.id, n.customer_id, n.bill_id, n.bill_no, p.suspension_needs_call`;

export async function suspensionsDue(db: Db, asOf: string): Promise<SuspensionDueRow[]> {
  const r = await suspensionsDueQuery(asOf).execute(db);
  return r.rows.map((x) => ({ ...x, notice_id: Number(x.notice_id), customer_id: Number(x.customer_id), bill_id: Number(x.bill_id) }));
}

export async function recordSuspensions(db: Db, at: Date, rows: SuspensionDueRow[]): Promise<void> {
  if (!rows.length) return;
  const data = rows.map((r) => ({ customer_id: r.customer_id, bill_id: r.bill_id, notice_id: r.notice_id, method: r.remote ? 'remote' : 'field' }));
  await sql`
    INSERT INTO dunning_suspension (customer_id, bill_id, notice_id, method, status, disconnect_requested_at)
    SELECT s.customer_id, s.bill_id, s.notice_id, s.method, 'disconnect_requested', ${at}::timestamptz
    FROM jsonb_to_recordset(${JSON.stringify(data)}::jsonb) AS s(customer_id bigint, bill_id bigint, notice_id bigint, method text)
    ON CONFLICT ON CONSTRAINT dunning_suspension_pkey DO NOTHING`.execute(db);
}

/** A supply suspension case, by its key. */
export interface SuspensionKey {
  customer_id: number;
  bill_id: number;
}

/** A suspension whose debt the ledger says is paid, and when the money that cleared it was posted. */
export interface PaidSuspension extends SuspensionKey {
  paid_at: Date;
}

export interface ReconnectDueRow extends PaidSuspension {
  method: 'remote' | 'field';
  /** paid_at + the segment's reconnect_within_hours: supply is back by then (复电 within 24 h of payment). */
  reconnect_by: Date;
  /** Meters whose disconnect command was already picked up (a pending one is cancelled instead). */
  meters: { meter_id: number; comm_address: string }[];
  /** Disconnect commands the meter did not take: each has a field job to cut in its place. */
  failed_disconnects: number[];
}

/**
 * The suspensions in force (disconnect requested, not reconnected): few rows, read through
 * dunning_suspension_open_idx. Whether their debt is paid is the ledger's to say.
 */
export async function suspensionsInForce(db: Db): Promise<SuspensionKey[]> {
  const r = await sql<SuspensionKey>`
    SELECT s.customer_id, s.bill_id FROM dunning_suspension s WHERE s.status = 'disconnect_requested'`.execute(db);
  return r.rows.map(toKey);
}

/**
 * The suspensions in force whose debt the daily run's open-debt snapshot no longer holds. Inside the
 * run only: dunning_open_debt is empty outside it, and every suspension would look paid.
 */
export async function suspensionsPaidInRun(db: Db): Promise<SuspensionKey[]> {
  const r = await sql<SuspensionKey>`
    SELECT s.customer_id, s.bill_id
    FROM dunning_suspension s
    LEFT JOIN dunning_open_debt d ON d.customer_id = s.customer_id AND d.bill_id = s.bill_id
    WHERE s.status = 'disconnect_requested' AND d.bill_id IS NULL`.execute(db);
  return r.rows.map(toKey);
}

const toKey = (x: SuspensionKey): SuspensionKey => ({ customer_id: Number(x.customer_id), bill_id: Number(x.bill_id) });

/** What reconnecting the paid suspensions takes (those still in force): how, by when, and which meters. */
export async function reconnectsDue(db: Db, paid: PaidSuspension[]): Promise<ReconnectDueRow[]> {
  if (!paid.length) return [];
  const r = await sql<ReconnectDueRow>`
    SELECT s.customer_id, s.bill_id, s.method, k.paid_at, k.paid_at + make_interval(hours => p.reconnect_within_hours) AS reconnect_by,
           COALESCE(d.meters, '[]') AS meters, COALESCE(d.failed, '{}') AS failed_disconnects
    FROM jsonb_to_recordset(${JSON.stringify(paid)}::jsonb) AS k(customer_id bigint, bill_id bigint, paid_at timestamptz)
    JOIN dunning_suspension s ON s.customer_id = k.customer_id AND s.bill_id = k.bill_id
    JOIN dunning_notice n ON n.id = s.notice_id
    JOIN dunning_policy p ON p.segment = n.segment
    -- the suspension's disconnect commands, read once: the meters they reached, and those that failed
    LEFT JOIN LATERAL (
      SELECT json_agg(json_build_object('meter_id', c.meter_id, 'comm_address', c.comm_address) ORDER BY c.meter_id)
               FILTER (WHERE c.status NOT IN ('cancelled', 'pending')) AS meters,
             array_agg(c.id ORDER BY c.id) FILTER (WHERE c.status = 'failed') AS failed
      FROM remote_switch_command c
      WHERE c.request_key LIKE 'disconnect:' || s.customer_id || ':' || s.bill_id || ':%') d ON true
    WHERE s.status = 'disconnect_requested'
    ORDER BY s.customer_id, s.bill_id`.execute(db);
  return r.rows.map((x) => ({ ...x, customer_id: Number(x.customer_id), bill_id: Number(x.bill_id), failed_disconnects: x.failed_disconnects.map(Number) }));
}

export async function markReconnectRequested(db: Db, at: Date, rows: PaidSuspension[]): Promise<void> {
  if (!rows.length) return;
  const data = rows.map((r) => ({ customer_id: r.customer_id, bill_id: r.bill_id, paid_at: r.paid_at }));
  // still in force only: a sweep and a run that both saw the payment keep the first one's times
  await sql`
    WITH k AS (SELECT * FROM jsonb_to_recordset(${JSON.stringify(data)}::jsonb) AS k(customer_id bigint, bill_id bigint, paid_at timestamptz)),
    susp AS (
      UPDATE dunning_suspension s SET status = 'reconnect_requested', reconnect_requested_at = ${at}::timestamptz, paid_at = k.paid_at
      FROM k WHERE s.customer_id = k.customer_id AND s.bill_id = k.bill_id AND s.status = 'disconnect_requested' RETURNING s.customer_id
    )
    UPDATE remote_switch_command c SET status = 'cancelled', finished_at = ${at}::timestamptz, detail = 'paid before the front-end sent it'
    FROM k WHERE c.request_key LIKE 'disconnect:' || k.customer_id || ':' || k.bill_id || ':%' AND c.status = 'pending'`.execute(db);
}

/** Reconnect notices (all agreed channels) telling the customer supply comes back. */
export async function createReconnectNotices(db: Db, asOf: string, at: Date, rows: ReconnectDueRow[]): Promise<void> {
  if (!rows.length) return;
  const data = rows.map((r) => ({ customer_id: r.customer_id, bill_id: r.bill_id }));
  await sql`
    INSERT INTO dunning_notice (customer_id, bill_id, step, segment, channel_mode, channels, status, bill_no, period,
                                due_date, amount, late_fee, created_on, created_at, next_attempt_at)
    SELECT n.customer_id, n.bill_id, 'reconnect', n.segment, s.channel_mode, n.channels,
           CASE WHEN cardinality(n.channels) = 0 THEN 'no_channel' ELSE 'pending' END,
           n.bill_no, n.period, n.due_date, n.amount, 0, ${asOf}::date, ${at}::timestamptz, ${at}::timestamptz
    FROM jsonb_to_recordset(${JSON.stringify(data)}::jsonb) AS k(customer_id bigint, bill_id bigint)
    JOIN dunning_notice n ON n.customer_id = k.customer_id AND n.bill_id = k.bill_id AND n.step = 'suspension_notice'
    JOIN dunning_policy_step s ON s.segment = n.segment AND s.step = 'reconnect'
    ON CONFLICT ON CONSTRAINT dunning_notice_key DO NOTHING`.execute(db);
}

export interface FailingContactRow {
  contact_id: number;
  customer_id: number;
  kind: string;
  value: string;
  failures: number;
}

/**
 * Contacts whose permanent delivery failures since their last success (within 90 days) reached the
 * policy threshold. Only a contact that failed lately can have reached it since the last check: the
 * contacts with a permanent failure among the attempts of the last week (a week covers the receipts
 * that come days after the send) have their attempts of the last 90 days counted; both are found
 * through dunning_attempt_queued_brin. A check that did not run for more than a week meets a contact
 * failing since then at its next failure.
 */
export const failingContactsQuery = (asOf: string) => sql<FailingContactRow>`
  WITH failed_lately AS (
    SELECT DISTINCT a.contact_id FROM dunning_attempt a
    WHERE a.contact_id IS NOT NULL AND a.status = 'failed' AND NOT a.retryable
      AND a.queued_at >= ((${asOf}::date - 7)::timestamp AT TIME ZONE 'Asia/Shanghai')
  ), recent AS (
    SELECT a.contact_id, a.customer_id, a.status, a.retryable, a.queued_at FROM dunning_attempt a
    WHERE a.contact_id IN (SELECT contact_id FROM failed_lately)
      AND a.queued_at >= ((${asOf}::date - 90)::timestamp AT TIME ZONE 'Asia/Shanghai')
  ), last_ok AS (
    SELECT contact_id, max(queued_at) AS at FROM recent WHERE status IN ('delivered', 'answered') GROUP BY contact_id
  )
  SELECT f.contact_id, f.customer_id, ct.kind, ct.value, count(*)::int AS failures
  FROM recent f
  LEFT JOIN last_ok o ON o.contact_id = f.contact_id
  JOIN customer c ON c.id = f.customer_id
  JOIN dunning_policy p ON p.segment = c.kind
  JOIN contact ct ON ct.id = f.contact_id
  LEFT JOIN dunning_escalation e ON e.escalation_key = 'dunning:contact_verification:' || f.contact_id
  WHERE f.status = 'failed' AND NOT f.retryable AND (o.at IS NULL OR f.queued_at > o.at) AND e.id IS NULL
  GROUP BY f.contact_id, f.customer_id, ct.kind, ct.value, p.contact_failure_threshold
  HAVING count(*) >= p.contact_failure_threshold`;

export async function failingContacts(db: Db, asOf: string): Promise<FailingContactRow[]> {
  // the block ranges written since the last check get their time bounds (the index skips the rest)
  await sql`SELECT brin_summarize_new_values('dunning_attempt_queued_brin'::regclass)`.execute(db);
  const r = await failingContactsQuery(asOf).execute(db);
  return r.rows.map((x) => ({ ...x, contact_id: Number(x.contact_id), customer_id: Number(x.customer_id) }));
}

/**
 * The contacts a notice reached among the attempts queued on `day` and the day before (a receipt
 * comes minutes or hours after the send): a delivery receipt or an answered call proves the contact.
 * Each attempt is read on two days only (through dunning_attempt_queued_brin); a receipt later than
 * that verifies its contact at the next notice that reaches it.
 */
export const contactsReachedQuery = (day: string) => sql`
  SELECT a.contact_id FROM dunning_attempt a
  WHERE a.contact_id IS NOT NULL AND a.status IN ('delivered', 'answered')
    AND a.queued_at >= ((${day}::date - 1)::timestamp AT TIME ZONE 'Asia/Shanghai')
    AND a.queued_at < ((${day}::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')`;
