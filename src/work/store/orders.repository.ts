import { sql, type Transaction } from 'kysely';
import { AppError, addDays, businessDate, notFound, parseInstant, type Db } from '../../platform/index.ts';
import { addWorkingDays } from '../domain/working-days.ts';
import { nextOrderStatus, validateSatisfaction, type AreaType, type ServiceOrderAction, type ServiceOrderKind, type ServiceOrderStatus } from '../domain/order-flow.ts';
import { loadWorkingCalendar } from './calendar.repository.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Trx = Transaction<any>;

export interface ServiceOrderRow {
  id: number;
  external_ref: string;
  kind: ServiceOrderKind;
  status: ServiceOrderStatus;
  area_type: AreaType | null;
  customer_id: number | null;
  caller_name: string;
  caller_phone: string;
  address: string;
  description: string;
  org_path: string;
  grid_id: number | null;
  parent_order_id: number | null;
  chase_count: number;
  received_at: Date;
  arrival_due_at: Date | null;
  arrived_at: Date | null;
  due_at: Date;
  resolved_at: Date | null;
  resolution: string | null;
  closed_at: Date | null;
  satisfaction: number | null;
  escalation_level: number;
  escalated_at: Date | null;
  escalated_to_path: string | null;
  created_by: string;
}

/** An order taken by the hotline, already resolved to the org (and grid) it is dispatched to. */
export interface ServiceOrderIntake {
  externalRef: string;
  kind: ServiceOrderKind;
  areaType?: AreaType;
  customerId?: number;
  callerName: string;
  callerPhone: string;
  address: string;
  description: string;
  orgPath: string;
  gridId?: number;
  parentOrderId?: number;
  createdBy: string;
}

/** Limits: repairs by area in minutes; other kinds to the end of the n-th working day after intake. */
async function dueTimes(db: Db, at: Date, kind: ServiceOrderKind, areaType?: AreaType): Promise<{ arrival: Date | null; due: Date }> {
  if (kind === 'fault_repair') {
    if (!areaType) throw new AppError('ORDER_AREA_REQUIRED', 'a fault repair needs the area type: urban, rural or remote', 400);
    const r = await sql<{ arrival_minutes: number; restore_minutes: number }>`
      SELECT arrival_minutes, restore_minutes FROM repair_time_limit WHERE area_type = ${areaType}`.execute(db);
    const lim = r.rows[0]!;
    return { arrival: new Date(at.getTime() + lim.arrival_minutes * 60_000), due: new Date(at.getTime() + lim.restore_minutes * 60_000) };
  }
  const k = await sql<{ limit_working_days: number }>`SELECT limit_working_days FROM service_order_kind WHERE kind = ${kind}`.execute(db);
  const days = k.rows[0]!.limit_working_days;
  const today = businessDate(at);
  const cal = await loadWorkingCalendar(db, today);
  return { arrival: null, due: parseInstant(addDays(addWorkingDays(cal, today, days), 1)) };
}

/** Take an order (idempotent on its external reference); a chaser counts against its parent. Returns the order id. */
export async function receiveServiceOrder(trx: Trx, at: Date, o: ServiceOrderIntake): Promise<{ id: number; created: boolean }> {
  const existing = await trx.selectFrom('service_order').select('id').where('external_ref', '=', o.externalRef).executeTakeFirst();
  if (existing) return { id: Number(existing.id), created: false };
  const { arrival, due } = await dueTimes(trx, at, o.kind, o.areaType);
  const row = await trx
    .insertInto('service_order')
    .values({
      external_ref: o.externalRef, kind: o.kind, status: 'dispatched', area_type: o.kind === 'fault_repair' ? o.areaType : null,
      customer_id: o.customerId ?? null, caller_name: o.callerName, caller_phone: o.callerPhone, address: o.address,
      description: o.description, org_path: o.orgPath, grid_id: o.gridId ?? null, parent_order_id: o.parentOrderId ?? null,
      received_at: at, arrival_due_at: arrival, due_at: due, created_by: o.createdBy,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const id = Number(row.id);
  await trx.insertInto('service_order_event').values({ order_id: id, at, actor: o.createdBy, action: 'receive', to_status: 'dispatched', note: `dispatched to ${o.orgPath}` }).execute();
  if (o.parentOrderId) {
    await trx.updateTable('service_order').set((eb) => ({ chase_count: eb('chase_count', '+', 1) })).where('id', '=', o.parentOrderId).execute();
    const parent = await findServiceOrder(trx, o.parentOrderId);
    await trx.insertInto('service_order_event').values({ order_id: o.parentOrderId, at, actor: o.createdBy, action: 'chase', from_status: parent!.status, to_status: parent!.status, note: `chaser ${o.externalRef}` }).execute();
  }
  return { id, created: true };
}

export async function findServiceOrder(db: Db, id: number): Promise<ServiceOrderRow | undefined> {
  return db.selectFrom('service_order').selectAll().where('id', '=', id).executeTakeFirst() as Promise<ServiceOrderRow | undefined>;
}

export async function listServiceOrderEvents(db: Db, orderId: number) {
  return db.selectFrom('service_order_event').selectAll().where('order_id', '=', orderId).orderBy('id').execute();
}

/** Move an order along (arrive, resolve, close with satisfaction) under a row lock, with its event. */
export async function transitionServiceOrder(
  trx: Trx,
  at: Date,
  t: { orderId: number; action: ServiceOrderAction; actor: string; note?: string; resolution?: string; satisfaction?: unknown },
): Promise<ServiceOrderRow> {
  const o = (await trx.selectFrom('service_order').selectAll().where('id', '=', t.orderId).forUpdate().executeTakeFirst()) as ServiceOrderRow | undefined;
  if (!o) throw notFound('ORDER_UNKNOWN', `no order ${t.orderId}`);
  const to = nextOrderStatus(o.kind, o.status, t.action);
  const set: Record<string, unknown> = { status: to };
  if (t.action === 'arrive') set.arrived_at = at;
  if (t.action === 'resolve') {
    if (!t.resolution?.trim()) throw new AppError('ORDER_RESOLUTION_REQUIRED', 'say how the order was resolved', 400);
    Object.assign(set, { resolved_at: at, resolution: t.resolution.trim() });
  }
  if (t.action === 'close') Object.assign(set, { closed_at: at, satisfaction: validateSatisfaction(t.satisfaction) });
  const updated = (await trx.updateTable('service_order').set(set).where('id', '=', o.id).returningAll().executeTakeFirstOrThrow()) as ServiceOrderRow;
  await trx.insertInto('service_order_event').values({ order_id: o.id, at, actor: t.actor, action: t.action, from_status: o.status, to_status: to, note: t.note ?? t.resolution ?? null }).execute();
  if (t.action === 'resolve') {
    // a chaser (催办) asks for the answer to its order: the answer to the order answers every chaser still running
    await sql`
      WITH answered AS (
        UPDATE service_order SET status = 'resolved', resolved_at = ${at}::timestamptz, resolution = ${`answered with order ${o.external_ref}: ${updated.resolution}`}
        WHERE parent_order_id = ${o.id} AND status = 'dispatched'
        RETURNING id)
      INSERT INTO service_order_event (order_id, at, actor, action, from_status, to_status, note)
      SELECT id, ${at}::timestamptz, ${t.actor}, 'resolve', 'dispatched', 'resolved', ${`order ${o.external_ref} resolved`} FROM answered`.execute(trx);
  }
  return updated;
}

/**
 * Escalate every running order whose limits have passed, in one statement: one missed limit (arrival,
 * or the answer) puts it under the county's supervision (level 1), two (a repair late on both) under the
 * city's. Idempotent: an order is escalated once per level. Returns how many orders were escalated.
 */
export async function escalateOverdueOrders(ctx: { db: Db }, at: Date): Promise<number> {
  const r = await sql<{ n: number }>`
    WITH late AS (
      SELECT id, status, escalation_level AS old_level, org_path,
             (CASE WHEN arrival_due_at IS NOT NULL AND COALESCE(arrived_at, ${at}::timestamptz) > arrival_due_at THEN 1 ELSE 0 END
              + CASE WHEN COALESCE(resolved_at, ${at}::timestamptz) > due_at THEN 1 ELSE 0 END) AS level
      FROM service_order
      WHERE status IN ('dispatched', 'arrived')),
    escalated AS (
      UPDATE service_order o SET escalation_level = l.level, escalated_at = ${at}::timestamptz,
             escalated_to_path = COALESCE(substring(l.org_path FROM CASE WHEN l.level = 1 THEN '^(/[^/]+/[^/]+/[^/]+/[^/]+/)' ELSE '^(/[^/]+/[^/]+/[^/]+/)' END), l.org_path)
      FROM late l WHERE o.id = l.id AND l.level > l.old_level AND o.escalation_level < l.level
      RETURNING o.id, l.status, o.escalation_level, o.escalated_to_path),
    trail AS (
      INSERT INTO service_order_event (order_id, at, actor, action, from_status, to_status, note)
      SELECT id, ${at}::timestamptz, 'system', 'escalate', status, status, 'level ' || escalation_level || ' to ' || escalated_to_path FROM escalated)
    SELECT count(*)::int AS n FROM escalated`.execute(ctx.db);
  return r.rows[0]!.n;
}

export interface ServiceOrderQuery {
  scopePath: string;
  at: Date;
  kind?: ServiceOrderKind;
  status?: ServiceOrderStatus[];
  overdue?: boolean;
  escalated?: boolean;
  limit: number;
  offset: number;
}

/** Orders dispatched inside the scope, or escalated to an org inside it; most urgent first. */
export async function listServiceOrders(db: Db, q: ServiceOrderQuery): Promise<{ items: ServiceOrderRow[]; total: number }> {
  // the next running limit of an order: arrival for a repair not yet on site, else the answer
  const nextDue = sql`CASE WHEN o.arrived_at IS NULL AND o.arrival_due_at IS NOT NULL THEN o.arrival_due_at ELSE o.due_at END`;
  let base = db.selectFrom('service_order as o').where('o.org_path', 'like', `${q.scopePath}%`);
  if (q.kind) base = base.where('o.kind', '=', q.kind);
  if (q.status?.length) base = base.where('o.status', 'in', q.status);
  if (q.escalated !== undefined) base = base.where('o.escalation_level', q.escalated ? '>' : '=', 0);
  if (q.overdue !== undefined) {
    const cond = sql<boolean>`(o.status IN ('dispatched', 'arrived') AND ${nextDue} < ${q.at}::timestamptz)`;
    base = base.where(q.overdue ? cond : sql<boolean>`NOT ${cond}`);
  }
  const [items, total] = await Promise.all([
    base.selectAll('o').orderBy(sql`o.closed_at IS NOT NULL`).orderBy(nextDue).orderBy('o.id').limit(q.limit).offset(q.offset).execute(),
    base.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items: items as ServiceOrderRow[], total: total.n as number };
}
