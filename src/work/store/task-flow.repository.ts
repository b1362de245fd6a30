import { sql, type Transaction } from 'kysely';
import { AppError, businessDate, notFound, type Db } from '../../platform/index.ts';
import { checkTakesOver, checkWorksKind, CLOSED_STATUSES, nextTaskStatus, type Outcome, type TaskAction } from '../domain/task-flow.ts';
import type { TaskKind, TaskStatus } from './tasks.repository.ts';

export interface TaskRow {
  id: number;
  kind: TaskKind;
  idempotency_key: string;
  status: TaskStatus;
  title: string;
  org_path: string;
  team_id: number | null;
  assignee_staff_id: number | null;
  grid_id: number | null;
  customer_id: number | null;
  meter_id: number | null;
  transformer_area_id: number | null;
  payload: Record<string, unknown>;
  opened_at: Date;
  due_at: Date;
  closed_at: Date | null;
  outcome: Record<string, unknown> | null;
  created_by: string;
}

export interface TaskEventRow {
  id: number;
  task_id: number;
  at: Date;
  actor: string;
  action: string;
  from_status: TaskStatus | null;
  to_status: TaskStatus;
  from_assignee: number | null;
  to_assignee: number | null;
  note: string | null;
}

export async function findTask(db: Db, id: number): Promise<TaskRow | undefined> {
  return db.selectFrom('task').selectAll().where('id', '=', id).executeTakeFirst() as Promise<TaskRow | undefined>;
}

async function lockTask(trx: Transaction<any>, id: number): Promise<TaskRow> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const row = (await trx.selectFrom('task').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()) as TaskRow | undefined;
  if (!row) throw notFound('TASK_UNKNOWN', `no task ${id}`);
  return row;
}

export async function listTaskEvents(db: Db, taskId: number): Promise<TaskEventRow[]> {
  return db.selectFrom('task_event').selectAll().where('task_id', '=', taskId).orderBy('id').execute() as Promise<TaskEventRow[]>;
}

export interface Transition {
  taskId: number;
  action: TaskAction;
  actor: string;
  /** The staff member acting; accepting or starting an unassigned team task assigns it to them. */
  actorStaffId?: number;
  note?: string;
  /** Already validated for the task's kind (validateOutcome). */
  outcome?: Outcome;
}

/**
 * Move one task along its flow under a row lock and write the audit entry; the caller owns the
 * transaction so that any cross-context effect of the outcome commits or fails with it.
 */
export async function transitionTask(trx: Transaction<any>, at: Date, t: Transition): Promise<TaskRow> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const [result] = await transitionTasks(trx, at, [t]);
  if (result instanceof AppError) throw result;
  return result!;
}

/**
 * Apply transitions to many tasks at once, in list order (a task may take several, e.g. start then
 * complete): the tasks are locked in id order, each step is checked by the same flow rules, and the
 * tasks and their audit entries are written in two statements. A refused or unknown transition is
 * returned as its error in its place and changes nothing; the others go through.
 */
export async function transitionTasks(trx: Transaction<any>, at: Date, ts: readonly Transition[]): Promise<(TaskRow | AppError)[]> { // eslint-disable-line @typescript-eslint/no-explicit-any
  if (!ts.length) return [];
  const ids = [...new Set(ts.map((t) => t.taskId))].sort((a, b) => a - b);
  const locked = (await trx.selectFrom('task').selectAll().where('id', 'in', ids).orderBy('id').forUpdate().execute()) as TaskRow[];
  const state = new Map(locked.map((r) => [Number(r.id), { ...r }]));
  const touched = new Set<number>();
  const events: Omit<TaskEventRow, 'id'>[] = [];
  const results = ts.map((t): TaskRow | AppError => {
    const task = state.get(t.taskId);
    if (!task) return notFound('TASK_UNKNOWN', `no task ${t.taskId}`);
    let to: TaskStatus;
    try {
      to = nextTaskStatus(task.status, t.action);
    } catch (e) {
      if (e instanceof AppError) return e;
      throw e;
    }
    // taking an untaken task, by accepting it or by starting it at once, makes it the worker's
    const takes = (t.action === 'accept' || t.action === 'start') && task.assignee_staff_id === null && t.actorStaffId;
    const assignee = takes ? t.actorStaffId! : task.assignee_staff_id;
    events.push({
      task_id: task.id, at, actor: t.actor, action: t.action, from_status: task.status, to_status: to,
      from_assignee: task.assignee_staff_id, to_assignee: assignee, note: t.note ?? null,
    });
    Object.assign(task, { status: to, assignee_staff_id: assignee }, CLOSED_STATUSES.includes(to) ? { closed_at: at, outcome: t.outcome ?? {} } : {});
    touched.add(t.taskId);
    return { ...task };
  });
  const changed = [...touched].map((id) => state.get(id)!);
  if (changed.length) {
    await sql`
      UPDATE task t SET status = v.status, assignee_staff_id = v.assignee, closed_at = v.closed_at, outcome = v.outcome
      FROM unnest(${changed.map((r) => r.id)}::bigint[], ${changed.map((r) => r.status)}::text[], ${changed.map((r) => r.assignee_staff_id)}::int[],
                  ${changed.map((r) => r.closed_at)}::timestamptz[], ${changed.map((r) => (r.outcome === null ? null : JSON.stringify(r.outcome)))}::jsonb[])
           AS v(id, status, assignee, closed_at, outcome)
      WHERE t.id = v.id`.execute(trx);
    await sql`
      INSERT INTO task_event (task_id, at, actor, action, from_status, to_status, from_assignee, to_assignee, note)
      SELECT * FROM unnest(${events.map((e) => e.task_id)}::bigint[], ${events.map((e) => e.at)}::timestamptz[], ${events.map((e) => e.actor)}::text[],
                           ${events.map((e) => e.action)}::text[], ${events.map((e) => e.from_status)}::text[], ${events.map((e) => e.to_status)}::text[],
                           ${events.map((e) => e.from_assignee)}::int[], ${events.map((e) => e.to_assignee)}::int[], ${events.map((e) => e.note)}::text[])`.execute(trx);
  }
  return results;
}

export interface StaffRef {
  id: number;
  code?: string;
  role: string;
  org_id: number;
  org_path: string;
  team_id: number | null;
  active: boolean;
}

/** Hand an unfinished task to another staff member (a substitute for an absent manager, or a dispatcher's choice). */
export async function reassignTask(
  trx: Transaction<any>, // eslint-disable-line @typescript-eslint/no-explicit-any
  at: Date,
  r: { taskId: number; to: StaffRef; actor: string; note?: string },
): Promise<TaskRow> {
  const task = await lockTask(trx, r.taskId);
  if (CLOSED_STATUSES.includes(task.status)) throw new AppError('TASK_TRANSITION_REFUSED', `task ${task.id} is ${task.status}; a closed task cannot be reassigned`, 409);
  const { routed_to } = await trx.selectFrom('task_kind').select('routed_to').where('kind', '=', task.kind).executeTakeFirstOrThrow();
  checkWorksKind(r.to, task.kind, routed_to as string);
  checkTakesOver(r.to, task);
  const updated = (await trx
    .updateTable('task')
    .set({ assignee_staff_id: r.to.id })
    .where('id', '=', task.id)
    .returningAll()
    .executeTakeFirstOrThrow()) as TaskRow;
  await trx
    .insertInto('task_event')
    .values({
      task_id: task.id, at, actor: r.actor, action: 'reassign', from_status: task.status, to_status: task.status,
      from_assignee: task.assignee_staff_id, to_assignee: r.to.id, note: r.note ?? null,
    })
    .execute();
  return updated;
}

export interface AbsenceInput {
  staffId: number;
  fromDate: string;
  toDate: string;
  substituteStaffId?: number;
  reason: string;
  createdBy: string;
}

export async function recordAbsence(db: Db, a: AbsenceInput): Promise<number> {
  if (a.toDate < a.fromDate) throw new AppError('ABSENCE_DATES_INVALID', 'an absence ends on or after the day it starts');
  const r = await sql<{ id: number }>`
    INSERT INTO staff_absence (staff_id, from_date, to_date, substitute_staff_id, reason, created_by)
    VALUES (${a.staffId}, ${a.fromDate}::date, ${a.toDate}::date, ${a.substituteStaffId ?? null}, ${a.reason}, ${a.createdBy})
    ON CONFLICT ON CONSTRAINT staff_absence_staff_from_key DO UPDATE
      SET to_date = EXCLUDED.to_date, substitute_staff_id = EXCLUDED.substitute_staff_id, reason = EXCLUDED.reason
    RETURNING id`.execute(db);
  return Number(r.rows[0]!.id);
}

/**
 * Move every unfinished task of staff absent on the business date of `at` to a substitute, in one
 * statement: the absence's named substitute, else the first present colleague of the same team (a team
 * member's), or of the same role in the same grid, else in a sibling grid of the same station (a grid
 * manager's). A task held by someone no longer active is routed again as a new one would be: a team task
 * back to its team's untaken ones, a grid manager's to the grid's present manager, else to the
 * dispatcher's unassigned list. Idempotent; returns tasks moved.
 */
export async function reassignForAbsences(db: Db, at: Date): Promise<number> {
  const day = businessDate(at);
  const r = await sql<{ n: number }>`
    WITH absent AS (
      SELECT staff_id, substitute_staff_id FROM staff_absence WHERE ${day}::date BETWEEN from_date AND to_date),
    -- who cannot take work today: absent, or no longer active
    away AS (
      SELECT staff_id FROM absent UNION SELECT id FROM staff WHERE NOT active),
    moves AS (
      SELECT t.id, t.status, t.assignee_staff_id AS from_staff, s.active,
             CASE WHEN s.active THEN COALESCE(
               (SELECT a.substitute_staff_id FROM absent a JOIN staff ss ON ss.id = a.substitute_staff_id AND ss.active
                WHERE a.staff_id = s.id AND NOT EXISTS (SELECT 1 FROM absent x WHERE x.staff_id = a.substitute_staff_id) LIMIT 1), sub.id)
             WHEN k.routed_to = 'grid_manager' THEN (
               SELECT min(m.id) FROM staff m WHERE m.org_id = t.grid_id AND m.role = 'grid_manager' AND m.active
                 AND NOT EXISTS (SELECT 1 FROM away x WHERE x.staff_id = m.id)) END AS to_staff
      FROM task t
      JOIN staff s ON s.id = t.assignee_staff_id
      JOIN org_unit o ON o.id = s.org_id
      JOIN task_kind k ON k.kind = t.kind
      LEFT JOIN LATERAL (
        SELECT c.id FROM staff c JOIN org_unit co ON co.id = c.org_id
        WHERE s.active AND c.active AND c.role = s.role AND c.id <> s.id
          AND CASE WHEN s.team_id IS NOT NULL THEN c.team_id = s.team_id
                   ELSE c.org_id = s.org_id OR (o.level = 'grid' AND co.parent_id = o.parent_id) END
          AND NOT EXISTS (SELECT 1 FROM away x WHERE x.staff_id = c.id)
        ORDER BY c.org_id = s.org_id DESC, c.id
        LIMIT 1) sub ON true
      WHERE t.closed_at IS NULL AND EXISTS (SELECT 1 FROM away a WHERE a.staff_id = t.assignee_staff_id)),
    moved AS (
      UPDATE task t SET assignee_staff_id = m.to_staff
      FROM moves m WHERE t.id = m.id AND (m.to_staff IS NOT NULL OR NOT m.active) AND t.assignee_staff_id = m.from_staff AND t.closed_at IS NULL
      RETURNING t.id, m.status, m.from_staff, m.to_staff, m.active),
    trail AS (
      INSERT INTO task_event (task_id, at, actor, action, from_status, to_status, from_assignee, to_assignee, note)
      SELECT id, ${at}::timestamptz, 'system', 'reassign', status, status, from_staff, to_staff,
             CASE WHEN active THEN 'assignee absent' ELSE 'assignee inactive' END FROM moved)
    SELECT count(*)::int AS n FROM moved`.execute(db);
  return r.rows[0]!.n;
}

/** Replace a closed task's outcome with what its cross-context effects added (payment, contact ids). */
export async function setTaskOutcome(db: Db, taskId: number, outcome: Record<string, unknown>): Promise<void> {
  await setTaskOutcomes(db, [{ taskId, outcome }]);
}

export async function setTaskOutcomes(db: Db, rows: readonly { taskId: number; outcome: Record<string, unknown> }[]): Promise<void> {
  if (!rows.length) return;
  await sql`
    UPDATE task t SET outcome = v.outcome
    FROM unnest(${rows.map((r) => r.taskId)}::bigint[], ${rows.map((r) => JSON.stringify(r.outcome))}::jsonb[]) AS v(id, outcome)
    WHERE t.id = v.id`.execute(db);
}
