/** Read side of dunning: a customer's chase timeline, notice lists, channel health, escalations. */
import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';

export interface AttemptView {
  channel: string;
  attemptNo: number;
  /** The contact the attempt went to (null: a recipient no longer on file). */
  contactId: number | null;
  recipient: string | null;
  status: string;
  errorCode: string | null;
  detail: string | null;
  queuedAt: Date;
  sentAt: Date | null;
  reportedAt: Date | null;
}
export interface NoticeView {
  id: number;
  customerId: number;
  customerNumber: string;
  step: string;
  status: string;
  billNo: string;
  period: string | null;
  dueDate: string | null;
  amount: string;
  lateFee: string;
  channels: string[];
  channelMode: string;
  createdOn: string;
  nextAttemptAt: Date;
  finishedAt: Date | null;
  cancelReason: string | null;
  attempts: AttemptView[];
}

const NOTICE_SELECT = sql`
  SELECT n.id, n.customer_id AS "customerId", c.number AS "customerNumber", n.step, n.status, n.bill_no AS "billNo", n.period,
         n.due_date AS "dueDate", n.amount, n.late_fee AS "lateFee", n.channels, n.channel_mode AS "channelMode",
         n.created_on AS "createdOn", n.next_attempt_at AS "nextAttemptAt", n.finished_at AS "finishedAt", n.cancel_reason AS "cancelReason",
         COALESCE((SELECT json_agg(json_build_object('channel', a.channel, 'attemptNo', a.attempt_no, 'contactId', a.contact_id, 'recipient', a.recipient,
                    'status', a.status, 'errorCode', a.error_code, 'detail', a.detail, 'queuedAt', a.queued_at, 'sentAt', a.sent_at,
                    'reportedAt', a.reported_at) ORDER BY a.id)
                   FROM dunning_attempt a WHERE a.notice_id = n.id), '[]') AS attempts
  FROM dunning_notice n JOIN customer c ON c.id = n.customer_id`;

/**
 * The chase timeline of one customer, oldest first, every attempt with its delivery state; with `billIds`, only
 * the notices about those bills (the customer portal after a move-in: the bills of the new occupancy).
 */
export async function customerNotices(db: Db, customerId: number, billIds?: number[]): Promise<NoticeView[]> {
  const bills = billIds ? sql`AND n.bill_id = ANY (${billIds}::bigint[])` : sql``;
  const r = await sql<NoticeView>`${NOTICE_SELECT} WHERE n.customer_id = ${customerId} ${bills} ORDER BY n.created_at, n.id`.execute(db);
  return r.rows.map((n) => ({ ...n, id: Number(n.id), customerId: Number(n.customerId) }));
}

export interface NoticeFilter {
  scopePath: string;
  step?: string;
  status?: string;
  channel?: string;
  from?: string;
  to?: string;
  limit: number;
  offset: number;
}

export async function listNotices(db: Db, f: NoticeFilter): Promise<{ items: NoticeView[]; total: number }> {
  const where = sql`c.org_path LIKE ${`${f.scopePath}%`}
    AND (${f.step ?? null}::text IS NULL OR n.step = ${f.step ?? null})
    AND (${f.status ?? null}::text IS NULL OR n.status = ${f.status ?? null})
    AND (${f.channel ?? null}::text IS NULL OR EXISTS (SELECT 1 FROM dunning_attempt x WHERE x.notice_id = n.id AND x.channel = ${f.channel ?? null}))
    AND (${f.from ?? null}::date IS NULL OR n.created_on >= ${f.from ?? null}::date)
    AND (${f.to ?? null}::date IS NULL OR n.created_on <= ${f.to ?? null}::date)`;
  const [items, total] = await Promise.all([
    sql<NoticeView>`${NOTICE_SELECT} WHERE ${where} ORDER BY n.created_at DESC, n.id DESC LIMIT ${f.limit} OFFSET ${f.offset}`.execute(db),
    sql<{ n: number }>`SELECT count(*)::int AS n FROM dunning_notice n JOIN customer c ON c.id = n.customer_id WHERE ${where}`.execute(db),
  ]);
  return { items: items.rows.map((n) => ({ ...n, id: Number(n.id), customerId: Number(n.customerId) })), total: total.rows[0]!.n };
}

export interface ChannelHealthRow {
  orgPath: string;
  channel: string;
  attempts: number;
  sent: number;
  delivered: number;
  failed: number;
  pending: number;
  /** Median seconds from hand-over to the delivery receipt or call result. */
  medianLatencySeconds: number | null;
  deliveryRate: number | null;
}

/** Per channel and org unit at `depth` path segments (e.g. 4 = city under /SGCC/LN/), attempts queued in [from, to]. */
export async function channelHealth(db: Db, q: { scopePath: string; depth: number; from: string; to: string }): Promise<ChannelHealthRow[]> {
  const r = await sql<ChannelHealthRow>`
    WITH a AS (
      SELECT a.channel, a.status, a.sent_at, a.reported_at,
             array_to_string((string_to_array(c.org_path, '/'))[1:${q.depth + 1}], '/') || '/' AS org
      FROM dunning_attempt a JOIN dunning_notice n ON n.id = a.notice_id JOIN customer c ON c.id = n.customer_id
      WHERE c.org_path LIKE ${`${q.scopePath}%`}
        AND a.queued_at >= (${q.from}::date::timestamp AT TIME ZONE 'Asia/Shanghai')
        AND a.queued_at < ((${q.to}::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')
    )
    SELECT org AS "orgPath", channel, count(*)::int AS attempts,
           count(*) FILTER (WHERE status IN ('sent', 'delivered', 'answered', 'no_answer', 'busy'))::int AS sent,
           count(*) FILTER (WHERE status IN ('delivered', 'answered'))::int AS delivered,
           count(*) FILTER (WHERE status = 'failed')::int AS failed,
           count(*) FILTER (WHERE status = 'sending')::int AS pending,
           (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM reported_at - sent_at))
              FILTER (WHERE status IN ('delivered', 'answered') AND reported_at IS NOT NULL AND sent_at IS NOT NULL))::float8 AS "medianLatencySeconds",
           CASE WHEN count(*) FILTER (WHERE status <> 'sending') > 0
                THEN round(count(*) FILTER (WHERE status IN ('delivered', 'answered'))::numeric
                           / count(*) FILTER (WHERE status <> 'sending'), 4)::float8 END AS "deliveryRate"
    FROM a GROUP BY org, channel ORDER BY org, channel`.execute(db);
  return r.rows;
}

export interface EscalationView {
  id: number;
  kind: string;
  reason: string;
  customerId: number;
  customerNumber: string;
  billId: number | null;
  contactId: number | null;
  orgPath: string;
  handledBy: string;
  createdOn: string;
  createdAt: Date;
}

export async function listEscalations(
  db: Db,
  f: { scopePath: string; kind?: string; customerId?: number; limit: number; offset: number },
): Promise<{ items: EscalationView[]; total: number }> {
  // the org is the customer's (an escalation counts under the org that serves its customer now)
  const where = sql`c.org_path LIKE ${`${f.scopePath}%`}
    AND (${f.kind ?? null}::text IS NULL OR e.kind = ${f.kind ?? null})
    AND (${f.customerId ?? null}::bigint IS NULL OR e.customer_id = ${f.customerId ?? null})`;
  const [items, total] = await Promise.all([
    sql<EscalationView>`
      SELECT e.id, e.kind, e.reason, e.customer_id AS "customerId", c.number AS "customerNumber", e.bill_id AS "billId",
             e.contact_id AS "contactId", c.org_path AS "orgPath", e.handled_by AS "handledBy", e.created_on AS "createdOn", e.created_at AS "createdAt"
      FROM dunning_escalation e JOIN customer c ON c.id = e.customer_id
      WHERE ${where} ORDER BY e.created_at DESC, e.id DESC LIMIT ${f.limit} OFFSET ${f.offset}`.execute(db),
    sql<{ n: number }>`SELECT count(*)::int AS n FROM dunning_escalation e JOIN customer c ON c.id = e.customer_id WHERE ${where}`.execute(db),
  ]);
  return {
    items: items.rows.map((e) => ({ ...e, id: Number(e.id), customerId: Number(e.customerId), billId: e.billId === null ? null : Number(e.billId), contactId: e.contactId === null ? null : Number(e.contactId) })),
    total: total.rows[0]!.n,
  };
}
