import type { FastifyPluginAsync } from 'fastify';
import { AppError, audit, businessDate, notFound, requirePermission, requireScope, type AppContext, type Principal } from '../../platform/index.ts';
import { findOrgByCode, findOrgById } from '../../org/index.ts';
import { findTransformerAreaByCode } from '../../assets/index.ts';
import { findCycle, findTariff } from '../../billing/index.ts';
import { completeConnectionStep } from '../../flows/work-new-connection.ts';
import {
  customerHandedIn, findApplication, listApplications, listSteps, receiveApplication, totalLimitWorkingDays, type ConnectionApplicationRow, type ConnectionStepRow, type ConnectionType,
} from '../store/connections.repository.ts';
import { listCalendarDays, loadWorkingCalendar, upsertCalendarDays } from '../store/calendar.repository.ts';
import { workingDaysBetween } from '../domain/working-days.ts';

const actorOf = (p: Principal) => `${p.kind}:${p.id}`;
const TYPES = ['residential', 'lv_non_residential', 'hv_single', 'hv_dual'];
const page = { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, offset: { type: 'integer', minimum: 0, default: 0 } };
const idParam = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } };

async function loadInScope(ctx: AppContext, p: Principal, id: number): Promise<ConnectionApplicationRow> {
  const a = await findApplication(ctx.db, id);
  if (!a) throw notFound('CONNECTION_UNKNOWN', `no application ${id}`);
  requireScope(p, a.org_path);
  return a;
}

async function detail(ctx: AppContext, a: ConnectionApplicationRow) {
  const today = businessDate(ctx.clock.now());
  const steps = await listSteps(ctx.db, a.id);
  const running = steps.find((s) => s.status === 'in_progress');
  const cal = await loadWorkingCalendar(ctx.db, running?.started_on ?? today);
  const stepDto = (s: ConnectionStepRow) => ({
    step: s.step, seq: s.seq, status: s.status, limitWorkingDays: s.limit_working_days, startedOn: s.started_on, dueOn: s.due_on,
    completedOn: s.completed_on, workingDaysUsed: s.status === 'in_progress' ? workingDaysBetween(cal, s.started_on!, today) : s.working_days_used,
    overdue: s.status === 'in_progress' && s.due_on! < today, onTime: s.status === 'done' ? s.completed_on! <= s.due_on! : null,
    completedBy: s.completed_by, note: s.note,
  });
  const dtos = steps.map(stepDto);
  const totalLimit = await totalLimitWorkingDays(ctx.db, a.type);
  const used = dtos.reduce((n, s) => n + (s.workingDaysUsed ?? 0), 0);
  return {
    id: Number(a.id), externalRef: a.external_ref, type: a.type, status: a.status, applicantName: a.applicant_name, address: a.address,
    category: a.category, tariffCode: a.tariff_code, capacityKva: a.capacity_kva, orgPath: a.org_path, receivedAt: a.received_at,
    completedAt: a.completed_at, customerId: a.customer_id === null ? null : Number(a.customer_id), meterId: a.meter_id === null ? null : Number(a.meter_id),
    workingDaysUsed: used, totalLimitWorkingDays: totalLimit,
    // a step past its own limit, or the whole application past its end-to-end limit (steps may each be on time)
    overdue: dtos.some((s) => s.overdue) || (a.status === 'in_progress' && used > totalLimit),
    // once completed: whether it kept its end-to-end limit (what the KPI counts); null while it runs
    onTime: a.status === 'completed' ? used <= totalLimit : null,
    steps: dtos,
  };
}

/** New connections (业扩报装): intake, the step clock in working days, hand-ins, and the working-day calendar. */
export const connectionsRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.post('/connections', {
    schema: {
      tags: ['connections'],
      body: {
        type: 'object', required: ['externalRef', 'type', 'applicantName', 'address', 'category', 'tariffCode', 'capacityKva'],
        properties: {
          externalRef: { type: 'string', minLength: 1, maxLength: 64 }, type: { type: 'string', enum: TYPES },
          applicantName: { type: 'string', minLength: 1 }, address: { type: 'string', minLength: 1 },
          category: { type: 'string', enum: ['residential', 'general', 'large_industry', 'agriculture'] }, tariffCode: { type: 'string', minLength: 1 },
          billingCycle: { type: 'string', default: 'C01' }, capacityKva: { type: 'integer', minimum: 1, maximum: 1_000_000 },
          orgCode: { type: 'string' }, transformerAreaCode: { type: 'string' },
        },
      },
    },
  }, async (req, reply) => {
    const p = requirePermission(req.principal, 'customers:write');
    const b = req.body as {
      externalRef: string; type: ConnectionType; applicantName: string; address: string; category: ConnectionApplicationRow['category'];
      tariffCode: string; billingCycle: string; capacityKva: number; orgCode?: string; transformerAreaCode?: string;
    };
    if ((b.type === 'residential') !== (b.category === 'residential')) throw new AppError('CONNECTION_TYPE_MISMATCH', 'residential applications are for residential customers only');
    // the customer this application becomes is billed on this tariff and cycle: refuse them now, not at energising
    const tariff = await findTariff(ctx.db, b.tariffCode);
    if (!tariff) throw new AppError('CONNECTION_TARIFF_UNKNOWN', `no tariff ${b.tariffCode}; see GET /api/v1/tariffs`);
    if (tariff.category !== b.category) throw new AppError('CONNECTION_TARIFF_CATEGORY_MISMATCH', `tariff ${tariff.code} is for ${tariff.category} customers, the application is ${b.category}`);
    if (!(await findCycle(ctx.db, b.billingCycle))) throw new AppError('CONNECTION_CYCLE_UNKNOWN', `no billing cycle ${b.billingCycle}`);
    const area = b.transformerAreaCode ? await findTransformerAreaByCode(ctx.db, b.transformerAreaCode) : undefined;
    if (b.transformerAreaCode && !area) throw notFound('AREA_UNKNOWN', `no transformer area ${b.transformerAreaCode}`);
    const org = b.orgCode ? await findOrgByCode(ctx.db, b.orgCode) : undefined;
    if (b.orgCode && !org) throw notFound('ORG_UNKNOWN', `no org unit with code ${b.orgCode}`);
    const gridPath = area ? (await findOrgById(ctx.db, area.grid_id))?.path : undefined;
    const orgPath = gridPath ?? org?.path;
    if (!orgPath) throw new AppError('CONNECTION_ORG_REQUIRED', 'give the org code or the transformer area of the place');
    requireScope(p, orgPath);
    const { id, created } = await ctx.db.transaction().execute(async (trx) => {
      const r = await receiveApplication(trx, ctx.clock.now(), { ...b, orgPath, transformerAreaId: area?.id, createdBy: actorOf(p) });
      if (r.created) await audit(trx, ctx.clock, { actor: actorOf(p), action: 'connection.receive', subject: `connection:${r.id}`, detail: { type: b.type } });
      return r;
    });
    const application = (await findApplication(ctx.db, id))!;
    // the reference is unique across the province: a replay answers with the application it names, read
    // like GET /connections/:id, never another org's application
    if (!created) requireScope(p, application.org_path);
    reply.status(created ? 201 : 200);
    return detail(ctx, application);
  });

  app.get('/connections', {
    schema: {
      tags: ['connections'],
      querystring: { type: 'object', properties: { type: { type: 'string', enum: TYPES }, status: { type: 'string', enum: ['in_progress', 'completed', 'cancelled'] }, overdue: { type: 'boolean' }, ...page } },
    },
  }, async (req) => {
    const p = requirePermission(req.principal, 'orders:read');
    const q = req.query as { type?: ConnectionType; status?: 'in_progress'; overdue?: boolean; limit: number; offset: number };
    const r = await listApplications(ctx.db, { scopePath: p.orgPath, today: businessDate(ctx.clock.now()), ...q });
    return {
      items: r.items.map((a) => ({
        id: Number(a.id), externalRef: a.external_ref, type: a.type, status: a.status, applicantName: a.applicant_name, orgPath: a.org_path,
        receivedAt: a.received_at, currentStep: a.current_step, currentStepStatus: a.current_step_status, currentStepDueOn: a.current_step_due_on,
        overdue: a.overdue, onTime: a.status === 'completed' ? a.working_days_used <= a.total_limit_working_days : null,
        workingDaysUsed: a.working_days_used, totalLimitWorkingDays: a.total_limit_working_days,
      })),
      total: r.total, limit: q.limit, offset: q.offset,
    };
  });

  app.get('/connections/:id', { schema: { tags: ['connections'], params: idParam } }, async (req) => {
    const p = requirePermission(req.principal, 'orders:read');
    return detail(ctx, await loadInScope(ctx, p, (req.params as { id: number }).id));
  });

  const stepParams = { type: 'object', required: ['id', 'step'], properties: { id: { type: 'integer', minimum: 1 }, step: { type: 'string' } } };
  app.post('/connections/:id/steps/:step/complete', {
    schema: {
      tags: ['connections'], params: stepParams,
      body: { type: 'object', properties: { note: { type: 'string' }, transformerAreaCode: { type: 'string' }, meterAssetNo: { type: 'string' }, initialKwh: { type: 'string' } } },
    },
  }, async (req) => {
    const p = requirePermission(req.principal, 'customers:write');
    const { id, step } = req.params as { id: number; step: string };
    await loadInScope(ctx, p, id);
    const b = (req.body ?? {}) as { note?: string; transformerAreaCode?: string; meterAssetNo?: string; initialKwh?: string };
    // the customer is created in the area's grid: the caller must serve that place too
    const area = b.transformerAreaCode ? await findTransformerAreaByCode(ctx.db, b.transformerAreaCode) : undefined;
    if (area) requireScope(p, (await findOrgById(ctx.db, area.grid_id))!.path);
    const r = await completeConnectionStep(ctx, { applicationId: id, step, actor: actorOf(p), ...b });
    return { ...(await detail(ctx, (await findApplication(ctx.db, id))!)), customerNumber: r.customerNumber ?? null };
  });

  app.post('/connections/:id/steps/:step/hand-in', { schema: { tags: ['connections'], params: stepParams } }, async (req) => {
    const p = requirePermission(req.principal, 'customers:write');
    const { id, step } = req.params as { id: number; step: string };
    await loadInScope(ctx, p, id);
    await ctx.db.transaction().execute((trx) => customerHandedIn(trx, ctx.clock.now(), id, step));
    return detail(ctx, (await findApplication(ctx.db, id))!);
  });

  app.get('/calendar', {
    schema: { tags: ['connections'], querystring: { type: 'object', required: ['year'], properties: { year: { type: 'integer', minimum: 2000, maximum: 2100 } } } },
  }, async (req) => {
    requirePermission(req.principal, 'org:read');
    const { year } = req.query as { year: number };
    return { year, days: await listCalendarDays(ctx.db, `${year}-01-01`, `${year}-12-31`) };
  });

  app.put('/calendar', {
    schema: {
      tags: ['connections'],
      body: { type: 'object', required: ['days'], properties: { days: { type: 'array', items: { type: 'object', required: ['day', 'working', 'name'], properties: { day: { type: 'string', format: 'date' }, working: { type: 'boolean' }, name: { type: 'string' } } } } } },
    },
  }, async (req) => {
    const p = requirePermission(req.principal, 'admin');
    const { days } = req.body as { days: { day: string; working: boolean; name: string }[] };
    const seen = new Set<string>();
    for (const d of days) {
      if (seen.has(d.day)) throw new AppError('CALENDAR_DAY_DUPLICATE', `${d.day} appears twice; give each day once`);
      seen.add(d.day);
    }
    const outside = days.find((d) => d.day < '2000-01-01' || d.day > '2100-12-31');
    if (outside) throw new AppError('CALENDAR_DAY_OUT_OF_RANGE', `${outside.day} is outside the calendar (years 2000 to 2100)`);
    await upsertCalendarDays(ctx.db, days);
    await audit(ctx.db, ctx.clock, { actor: actorOf(p), action: 'calendar.upsert', subject: 'work_calendar', detail: { days: days.length } });
    return { updated: days.length };
  });
};
