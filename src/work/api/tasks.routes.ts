import type { FastifyPluginAsync } from 'fastify';
import {
  AppError, audit, can, forbidden, maskContact, notFound, requirePermission, requireScope, type AppContext, type Principal,
} from '../../platform/index.ts';
import { findOrgByCode, findStaffByCode, findStaffById, listTeams } from '../../org/index.ts';
import { completeTaskWithOutcome } from '../../flows/work-task-outcome.ts';
import { checkTakesOver, validateCannotComplete, type TaskAction } from '../domain/task-flow.ts';
import {
  findTask, listTaskEvents, reassignForAbsences, reassignTask, recordAbsence, transitionTask, type TaskRow,
} from '../store/task-flow.repository.ts';
import { listTasks, type TaskListRow } from '../store/task-queries.repository.ts';
import type { TaskKind, TaskStatus } from '../store/tasks.repository.ts';

const KINDS = ['re_read', 'manual_collection', 'contact_verification', 'business_change', 'consultation', 'area_inspection', 'disconnect', 'reconnect', 'meter_exchange'];
const STATUSES = ['open', 'accepted', 'in_progress', 'done', 'cannot_complete', 'cancelled'];
const OPEN: TaskStatus[] = ['open', 'accepted', 'in_progress'];
const actorOf = (p: Principal) => `${p.kind}:${p.id}`;

export function taskDto(t: TaskRow | TaskListRow, at: Date, unmasked: boolean) {
  const l = t as Partial<TaskListRow>;
  const open = t.closed_at === null;
  return {
    id: Number(t.id), kind: t.kind, status: t.status, title: t.title, orgPath: t.org_path,
    teamId: t.team_id, teamCode: l.team_code ?? null, gridId: t.grid_id, gridCode: l.grid_code ?? null,
    assigneeStaffId: t.assignee_staff_id, assigneeName: l.assignee_name ?? null,
    openedAt: t.opened_at, dueAt: t.due_at, closedAt: t.closed_at,
    overdue: open && t.due_at.getTime() < at.getTime(),
    remainingMinutes: open ? Math.floor((t.due_at.getTime() - at.getTime()) / 60_000) : null,
    customer: t.customer_id === null ? null : {
      id: Number(t.customer_id), number: l.customer_number ?? null, name: l.customer_name ?? null, address: l.customer_address ?? null,
      mobile: l.customer_mobile ? (unmasked ? l.customer_mobile : maskContact(l.customer_mobile)) : null,
    },
    amountOwed: l.amount_owed ?? null,
    meterId: t.meter_id === null ? null : Number(t.meter_id),
    payload: t.payload, outcome: t.outcome,
  };
}

/**
 * Who may move a task: its assignee, a member of its team, or a desk role (admin, service agent) in scope.
 * Only a worker of the task takes it by accepting or starting it; a desk role acting on it leaves it where it is.
 */
async function requireWorker(ctx: AppContext, p: Principal | undefined, task: TaskRow) {
  const who = requirePermission(p, 'tasks:work');
  requireScope(who, task.org_path);
  const staff = who.kind === 'staff' ? await findStaffById(ctx.db, who.id) : undefined;
  const mine = task.assignee_staff_id === who.id || (task.team_id !== null && staff?.team_id === task.team_id);
  if (!mine && who.role !== 'admin' && who.role !== 'service_agent') throw forbidden('this task is assigned to someone else');
  return { who, staffId: mine ? staff?.id : undefined };
}

async function loadTask(ctx: AppContext, id: number): Promise<TaskRow> {
  const t = await findTask(ctx.db, id);
  if (!t) throw notFound('TASK_UNKNOWN', `no task ${id}`);
  return t;
}

const page = { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, offset: { type: 'integer', minimum: 0, default: 0 } };
const idParam = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } };
const noteBody = { type: 'object', properties: { note: { type: 'string', maxLength: 2000 } } };

export const tasksRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  /** The signed-in worker's inbox (工单池): their tasks and their team's untaken ones, soonest due first. */
  app.get('/me/tasks', {
    schema: { tags: ['tasks'], querystring: { type: 'object', properties: { all: { type: 'boolean', default: false }, ...page } } },
  }, async (req) => {
    const p = requirePermission(req.principal, 'tasks:read');
    const q = req.query as { all: boolean; limit: number; offset: number };
    const staff = p.kind === 'staff' ? await findStaffById(ctx.db, p.id) : undefined;
    if (!staff) throw forbidden('the workbench is for staff');
    const at = ctx.clock.now();
    const r = await listTasks(ctx.db, {
      scopePath: '/', at, status: q.all ? undefined : OPEN, workbenchOf: { staffId: staff.id, teamId: staff.team_id }, limit: q.limit, offset: q.offset,
    });
    const unmasked = can(p, 'contacts:unmasked');
    return { items: r.items.map((t) => taskDto(t, at, unmasked)), total: r.total, limit: q.limit, offset: q.offset };
  });

  app.get('/tasks', {
    schema: {
      tags: ['tasks'],
      querystring: {
        type: 'object',
        properties: {
          kind: { type: 'string', enum: KINDS }, status: { type: 'array', items: { type: 'string', enum: STATUSES } },
          overdue: { type: 'boolean' }, unassigned: { type: 'boolean' }, team: { type: 'string' }, grid: { type: 'string' }, ...page,
        },
      },
    },
  }, async (req) => {
    const p = requirePermission(req.principal, 'tasks:read');
    const q = req.query as { kind?: TaskKind; status?: TaskStatus[]; overdue?: boolean; unassigned?: boolean; team?: string; grid?: string; limit: number; offset: number };
    let gridId: number | undefined;
    if (q.grid) {
      const g = await findOrgByCode(ctx.db, q.grid);
      if (!g) throw notFound('ORG_UNKNOWN', `no grid ${q.grid}`);
      gridId = g.id;
    }
    let teamId: number | undefined;
    if (q.team) {
      const t = (await listTeams(ctx.db, p.orgPath)).find((x) => x.code === q.team);
      if (!t) throw notFound('TEAM_UNKNOWN', `no team ${q.team} in your scope`);
      teamId = t.id;
    }
    const at = ctx.clock.now();
    const r = await listTasks(ctx.db, { scopePath: p.orgPath, at, kind: q.kind, status: q.status, overdue: q.overdue, unassigned: q.unassigned, teamId, gridId, limit: q.limit, offset: q.offset });
    const unmasked = can(p, 'contacts:unmasked');
    return { items: r.items.map((t) => taskDto(t, at, unmasked)), total: r.total, limit: q.limit, offset: q.offset };
  });

  app.get('/tasks/:id', { schema: { tags: ['tasks'], params: idParam } }, async (req) => {
    const p = requirePermission(req.principal, 'tasks:read');
    const t = await loadTask(ctx, (req.params as { id: number }).id);
    requireScope(p, t.org_path);
    const events = await listTaskEvents(ctx.db, t.id);
    return {
      ...taskDto(t, ctx.clock.now(), can(p, 'contacts:unmasked')),
      events: events.map((e) => ({ at: e.at, actor: e.actor, action: e.action, fromStatus: e.from_status, toStatus: e.to_status, fromAssignee: e.from_assignee, toAssignee: e.to_assignee, note: e.note })),
    };
  });

  const move = (action: Exclude<TaskAction, 'complete' | 'cannot_complete'>) => async (req: { principal?: Principal; params: unknown; body: unknown }) => {
    const task = await loadTask(ctx, (req.params as { id: number }).id);
    const { who, staffId } = action === 'cancel'
      ? { who: requirePermission(req.principal, 'tasks:assign'), staffId: undefined }
      : await requireWorker(ctx, req.principal, task);
    requireScope(who, task.org_path);
    const note = (req.body as { note?: string } | undefined)?.note;
    const t = await ctx.db.transaction().execute((trx) => transitionTask(trx, ctx.clock.now(), { taskId: task.id, action, actor: actorOf(who), actorStaffId: staffId, note }));
    return taskDto(t, ctx.clock.now(), can(who, 'contacts:unmasked'));
  };
  app.post('/tasks/:id/accept', { schema: { tags: ['tasks'], params: idParam, body: noteBody } }, move('accept'));
  app.post('/tasks/:id/start', { schema: { tags: ['tasks'], params: idParam, body: noteBody } }, move('start'));
  app.post('/tasks/:id/cancel', { schema: { tags: ['tasks'], params: idParam, body: noteBody } }, move('cancel'));

  app.post('/tasks/:id/complete', {
    schema: { tags: ['tasks'], params: idParam, body: { type: 'object', required: ['outcome'], properties: { outcome: { type: 'object' }, note: { type: 'string' } } } },
  }, async (req) => {
    const task = await loadTask(ctx, (req.params as { id: number }).id);
    const { who, staffId } = await requireWorker(ctx, req.principal, task);
    const b = req.body as { outcome: Record<string, unknown>; note?: string };
    const t = await completeTaskWithOutcome(ctx, { actor: actorOf(who), staffId }, task.id, b);
    return taskDto(t, ctx.clock.now(), can(who, 'contacts:unmasked'));
  });

  app.post('/tasks/:id/cannot-complete', {
    schema: { tags: ['tasks'], params: idParam, body: { type: 'object', required: ['reason'], properties: { reason: { type: 'string' }, note: { type: 'string' } } } },
  }, async (req) => {
    const task = await loadTask(ctx, (req.params as { id: number }).id);
    const { who, staffId } = await requireWorker(ctx, req.principal, task);
    const b = req.body as { reason: string; note?: string };
    const outcome = validateCannotComplete(b);
    const t = await ctx.db.transaction().execute((trx) =>
      transitionTask(trx, ctx.clock.now(), { taskId: task.id, action: 'cannot_complete', actor: actorOf(who), actorStaffId: staffId, note: b.note, outcome }));
    return taskDto(t, ctx.clock.now(), can(who, 'contacts:unmasked'));
  });

  app.post('/tasks/:id/reassign', {
    schema: { tags: ['tasks'], params: idParam, body: { type: 'object', required: ['staffCode'], properties: { staffCode: { type: 'string' }, note: { type: 'string' } } } },
  }, async (req) => {
    const p = requirePermission(req.principal, 'tasks:assign');
    const task = await loadTask(ctx, (req.params as { id: number }).id);
    requireScope(p, task.org_path);
    const b = req.body as { staffCode: string; note?: string };
    const to = await findStaffByCode(ctx.db, b.staffCode);
    if (!to) throw notFound('STAFF_UNKNOWN', `no staff member ${b.staffCode}`);
    requireScope(p, to.org_path);
    const t = await ctx.db.transaction().execute(async (trx) => {
      const r = await reassignTask(trx, ctx.clock.now(), { taskId: task.id, to, actor: actorOf(p), note: b.note });
      await audit(trx, ctx.clock, { actor: actorOf(p), action: 'task.reassign', subject: `task:${task.id}`, detail: { to: to.code } });
      return r;
    });
    return taskDto(t, ctx.clock.now(), can(p, 'contacts:unmasked'));
  });

  /** Record an absence and at once move the absent person's open tasks to a substitute. */
  app.post('/staff-absences', {
    schema: {
      tags: ['tasks'],
      body: {
        type: 'object', required: ['staffCode', 'fromDate', 'toDate', 'reason'],
        properties: {
          staffCode: { type: 'string' }, fromDate: { type: 'string', format: 'date' }, toDate: { type: 'string', format: 'date' },
          substituteStaffCode: { type: 'string' }, reason: { type: 'string', minLength: 1 },
        },
      },
    },
  }, async (req, reply) => {
    const p = requirePermission(req.principal, 'tasks:assign');
    const b = req.body as { staffCode: string; fromDate: string; toDate: string; substituteStaffCode?: string; reason: string };
    const staff = await findStaffByCode(ctx.db, b.staffCode);
    if (!staff) throw notFound('STAFF_UNKNOWN', `no staff member ${b.staffCode}`);
    requireScope(p, staff.org_path);
    const sub = b.substituteStaffCode ? await findStaffByCode(ctx.db, b.substituteStaffCode) : undefined;
    if (b.substituteStaffCode && !sub) throw notFound('STAFF_UNKNOWN', `no staff member ${b.substituteStaffCode}`);
    if (sub) {
      // the named substitute takes over every open task of the absent person: the same rules as a reassignment
      requireScope(p, sub.org_path);
      if (sub.id === staff.id) throw new AppError('ABSENCE_SUBSTITUTE_SELF', 'a substitute is someone else');
      if (sub.role !== staff.role) throw new AppError('ABSENCE_SUBSTITUTE_ROLE', `a substitute for a ${staff.role} is a ${staff.role}, not a ${sub.role}`, 409);
      checkTakesOver(sub, staff);
    }
    const id = await recordAbsence(ctx.db, { staffId: staff.id, fromDate: b.fromDate, toDate: b.toDate, substituteStaffId: sub?.id, reason: b.reason, createdBy: actorOf(p) });
    const moved = await reassignForAbsences(ctx.db, ctx.clock.now());
    reply.status(201);
    return { id, tasksReassigned: moved };
  });
};
