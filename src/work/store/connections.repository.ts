import { sql, type Transaction } from 'kysely';
import { AppError, businessDate, notFound, type Db } from '../../platform/index.ts';
import { addWorkingDays, workingDaysBetween } from '../domain/working-days.ts';
import { loadWorkingCalendar } from './calendar.repository.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Trx = Transaction<any>;

export type ConnectionType = 'residential' | 'lv_non_residential' | 'hv_single' | 'hv_dual';
export type StepStatus = 'pending' | 'waiting_customer' | 'in_progress' | 'done';

export interface ConnectionApplicationRow {
  id: number;
  external_ref: string;
  type: ConnectionType;
  status: 'in_progress' | 'completed' | 'cancelled';
  applicant_name: string;
  address: string;
  category: 'residential' | 'general' | 'large_industry' | 'agriculture';
  tariff_code: string;
  billing_cycle: string;
  capacity_kva: number;
  org_path: string;
  transformer_area_id: number | null;
  received_at: Date;
  completed_at: Date | null;
  customer_id: number | null;
  meter_id: number | null;
  created_by: string;
}

export interface ConnectionStepRow {
  application_id: number;
  seq: number;
  step: string;
  status: StepStatus;
  limit_working_days: number;
  started_on: string | null;
  due_on: string | null;
  completed_on: string | null;
  working_days_used: number | null;
  completed_by: string | null;
  note: string | null;
}

export interface ApplicationIntake {
  externalRef: string;
  type: ConnectionType;
  applicantName: string;
  address: string;
  category: ConnectionApplicationRow['category'];
  tariffCode: string;
  billingCycle: string;
  capacityKva: number;
  orgPath: string;
  transformerAreaId?: number;
  createdBy: string;
}

async function startStep(trx: Trx, applicationId: number, step: string, on: string, limit: number): Promise<void> {
  const cal = await loadWorkingCalendar(trx, on);
  await trx.updateTable('connection_step')
    .set({ status: 'in_progress', started_on: on, due_on: addWorkingDays(cal, on, limit) })
    .where('application_id', '=', applicationId).where('step', '=', step).execute();
}

/** Take an application (idempotent on its reference); its steps are laid out and the first one's clock starts. */
export async function receiveApplication(trx: Trx, at: Date, a: ApplicationIntake): Promise<{ id: number; created: boolean }> {
  const existing = await trx.selectFrom('connection_application').select('id').where('external_ref', '=', a.externalRef).executeTakeFirst();
  if (existing) return { id: Number(existing.id), created: false };
  const row = await trx.insertInto('connection_application').values({
    external_ref: a.externalRef, type: a.type, status: 'in_progress', applicant_name: a.applicantName, address: a.address, category: a.category,
    tariff_code: a.tariffCode, billing_cycle: a.billingCycle, capacity_kva: a.capacityKva, org_path: a.orgPath,
    transformer_area_id: a.transformerAreaId ?? null, received_at: at, created_by: a.createdBy,
  }).returning('id').executeTakeFirstOrThrow();
  const id = Number(row.id);
  await sql`
    INSERT INTO connection_step (application_id, seq, step, status, limit_working_days)
    SELECT ${id}, seq, step, 'pending', limit_working_days FROM connection_step_def WHERE type = ${a.type}`.execute(trx);
  const first = (await listSteps(trx, id))[0]!;
  await startStep(trx, id, first.step, businessDate(at), first.limit_working_days);
  return { id, created: true };
}

/** The end-to-end limit of an application type, in working days. */
export async function totalLimitWorkingDays(db: Db, type: ConnectionType): Promise<number> {
  const r = await db.selectFrom('connection_type').select('total_limit_working_days').where('type', '=', type).executeTakeFirstOrThrow();
  return Number(r.total_limit_working_days);
}

export async function findApplication(db: Db, id: number): Promise<ConnectionApplicationRow | undefined> {
  return db.selectFrom('connection_application').selectAll().where('id', '=', id).executeTakeFirst() as Promise<ConnectionApplicationRow | undefined>;
}

export async function listSteps(db: Db, applicationId: number): Promise<ConnectionStepRow[]> {
  return db.selectFrom('connection_step').selectAll().where('application_id', '=', applicationId).orderBy('seq').execute() as Promise<ConnectionStepRow[]>;
}

async function lockApplication(trx: Trx, id: number): Promise<ConnectionApplicationRow> {
  const a = (await trx.selectFrom('connection_application').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()) as ConnectionApplicationRow | undefined;
  if (!a) throw notFound('CONNECTION_UNKNOWN', `no application ${id}`);
  if (a.status !== 'in_progress') throw new AppError('CONNECTION_STEP_REFUSED', `application ${id} is ${a.status}`, 409);
  return a;
}

/**
 * Finish the running step: its working days are counted; the next step starts at once, or waits for the
 * customer's hand-in. Returns whether it was the last step (the caller then completes the application).
 */
export async function completeStep(trx: Trx, at: Date, c: { applicationId: number; step: string; actor: string; note?: string }): Promise<{ last: boolean; application: ConnectionApplicationRow }> {
  const application = await lockApplication(trx, c.applicationId);
  const steps = await listSteps(trx, c.applicationId);
  const s = steps.find((x) => x.step === c.step);
  if (!s) throw notFound('CONNECTION_STEP_UNKNOWN', `a ${application.type} application has no step ${c.step}`);
  if (s.status !== 'in_progress') throw new AppError('CONNECTION_STEP_REFUSED', `step ${c.step} is ${s.status}; only the running step can be completed`, 409);
  const today = businessDate(at);
  const cal = await loadWorkingCalendar(trx, s.started_on!);
  await trx.updateTable('connection_step')
    .set({ status: 'done', completed_on: today, working_days_used: workingDaysBetween(cal, s.started_on!, today), completed_by: c.actor, note: c.note ?? null })
    .where('application_id', '=', c.applicationId).where('step', '=', c.step).execute();
  const next = steps.find((x) => x.seq === s.seq + 1);
  if (!next) return { last: true, application };
  const defs = await sql<{ awaits_customer: boolean }>`SELECT awaits_customer FROM connection_step_def WHERE type = ${application.type} AND step = ${next.step}`.execute(trx);
  if (defs.rows[0]!.awaits_customer) {
    await trx.updateTable('connection_step').set({ status: 'waiting_customer' }).where('application_id', '=', c.applicationId).where('step', '=', next.step).execute();
  } else {
    await startStep(trx, c.applicationId, next.step, today, next.limit_working_days);
  }
  return { last: false, application };
}

/** The customer handed in what a waiting step needs (design papers, finished works): its clock starts. */
export async function customerHandedIn(trx: Trx, at: Date, applicationId: number, step: string): Promise<void> {
  const application = await lockApplication(trx, applicationId);
  const s = (await listSteps(trx, applicationId)).find((x) => x.step === step);
  if (!s) throw notFound('CONNECTION_STEP_UNKNOWN', `a ${application.type} application has no step ${step}`);
  if (s.status !== 'waiting_customer') throw new AppError('CONNECTION_STEP_REFUSED', `step ${step} is not waiting for the customer`, 409);
  await startStep(trx, applicationId, step, businessDate(at), s.limit_working_days);
}

export async function setApplicationArea(db: Db, applicationId: number, transformerAreaId: number): Promise<void> {
  await db.updateTable('connection_application').set({ transformer_area_id: transformerAreaId }).where('id', '=', applicationId).execute();
}

export async function markApplicationCompleted(db: Db, at: Date, applicationId: number, customerId: number, meterId: number): Promise<void> {
  await db.updateTable('connection_application')
    .set({ status: 'completed', completed_at: at, customer_id: customerId, meter_id: meterId })
    .where('id', '=', applicationId).execute();
}

export interface ApplicationQuery {
  scopePath: string;
  today: string;
  type?: ConnectionType;
  status?: ConnectionApplicationRow['status'];
  overdue?: boolean;
  limit: number;
  offset: number;
}

/**
 * Applications in scope with their running step; overdue = a running step past its due date, or an
 * application still running that has used more working days than its end-to-end limit.
 */
export async function listApplications(db: Db, q: ApplicationQuery) {
  let base = db
    .selectFrom('connection_application as a')
    .innerJoin('connection_type as ct', 'ct.type', 'a.type')
    .leftJoin('connection_step as s', (j) => j.onRef('s.application_id', '=', 'a.id').on('s.status', 'in', ['in_progress', 'waiting_customer']))
    .where('a.org_path', 'like', `${q.scopePath}%`);
  if (q.type) base = base.where('a.type', '=', q.type);
  if (q.status) base = base.where('a.status', '=', q.status);
  // working days used: those counted for the finished steps, and the running step's working days in (started_on, today]
  const used = sql<number>`(
    SELECT COALESCE(sum(CASE WHEN d.status = 'done' THEN d.working_days_used ELSE (
             SELECT count(*) FROM generate_series(d.started_on + 1, ${q.today}::date, interval '1 day') AS g(on_day)
             LEFT JOIN work_calendar w ON w.day = g.on_day::date
             WHERE COALESCE(w.working, extract(isodow FROM g.on_day) < 6)) END), 0)::int
    FROM connection_step d WHERE d.application_id = a.id AND d.status IN ('done', 'in_progress'))`;
  const late = sql<boolean>`((s.status = 'in_progress' AND s.due_on < ${q.today}::date)
    OR (a.status = 'in_progress' AND ${used} > ct.total_limit_working_days))`;
  if (q.overdue !== undefined) base = base.where(q.overdue ? late : sql<boolean>`NOT COALESCE(${late}, false)`);
  const [items, total] = await Promise.all([
    base.selectAll('a')
      .select([
        'ct.total_limit_working_days', 's.step as current_step', 's.status as current_step_status', 's.due_on as current_step_due_on',
        sql<boolean>`COALESCE(${late}, false)`.as('overdue'),
        used.as('working_days_used'),
      ])
      .orderBy(sql`s.due_on`).orderBy('a.id').limit(q.limit).offset(q.offset).execute(),
    base.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items, total: total.n as number };
}
