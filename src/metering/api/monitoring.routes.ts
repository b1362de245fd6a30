import type { FastifyPluginAsync } from 'fastify';
import { requireIsoDate, notFound, requirePermission, requireScope, today, type AppContext, type Principal } from '../../platform/index.ts';
import { findOrgByCode, findOrgById } from '../../org/index.ts';
import { readSuccessBreakdown, listUnreadMeters } from '../store/read-success.repository.ts';
import { reReadLoadByTeam } from '../store/reread.repository.ts';
import { listVeeFlags, type VeeRule } from '../store/vee.repository.ts';
import { loadMeteringPolicy } from '../store/policy.repository.ts';

const paging = { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, offset: { type: 'integer', minimum: 0, default: 0 } };

function dayOf(ctx: AppContext, v?: string): string {
  return requireIsoDate('REQUEST_DATE_INVALID', 'day', v ?? today(ctx.clock));
}

/** The org unit asked for (by code), or the caller's own; always inside the caller's scope. */
async function orgFor(ctx: AppContext, p: Principal, code?: string) {
  const org = code ? await findOrgByCode(ctx.db, code) : p.orgId ? await findOrgById(ctx.db, p.orgId) : undefined;
  if (!org) throw notFound('ORG_UNKNOWN', code ? `no org unit ${code}` : 'give org=<code>');
  requireScope(p, org.path);
  return org;
}

export const meteringMonitoringRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get('/metering/success', {
    schema: { tags: ['metering'], summary: 'Read success (采集成功率) of an org unit, its children and its teams for a day', querystring: { type: 'object', properties: { day: { type: 'string' }, org: { type: 'string' } } } },
  }, async (req) => {
    const p = requirePermission(req.principal, 'kpi:read');
    const q = req.query as { day?: string; org?: string };
    const org = await orgFor(ctx, p, q.org);
    return readSuccessBreakdown(ctx.db, dayOf(ctx, q.day), org);
  });

  app.get('/metering/unread', {
    schema: {
      tags: ['metering'], summary: 'Meters without a reading for the day, longest missing first',
      querystring: { type: 'object', properties: { day: { type: 'string' }, org: { type: 'string' }, area: { type: 'integer' }, team: { type: 'integer' }, ...paging } },
    },
  }, async (req) => {
    const p = requirePermission(req.principal, 'readings:read');
    const q = req.query as { day?: string; org?: string; area?: number; team?: number; limit: number; offset: number };
    const scopePath = q.org ? (await orgFor(ctx, p, q.org)).path : p.orgPath;
    const policy = await loadMeteringPolicy(ctx.db);
    const page = await listUnreadMeters(ctx.db, { day: dayOf(ctx, q.day), scopePath, areaId: q.area, teamId: q.team, lookbackDays: policy.lookbackDays, limit: q.limit, offset: q.offset });
    return { ...page, limit: q.limit, offset: q.offset };
  });

  app.get('/metering/reread-tasks', {
    schema: { tags: ['metering'], summary: 'Open re-read (补抄) cases per team with their age', querystring: { type: 'object', properties: { day: { type: 'string' } } } },
  }, async (req) => {
    const p = requirePermission(req.principal, 'tasks:read');
    const day = dayOf(ctx, (req.query as { day?: string }).day);
    return { day, teams: await reReadLoadByTeam(ctx.db, day, p.orgPath) };
  });

  app.get('/metering/vee-flags', {
    schema: {
      tags: ['metering'],
      querystring: { type: 'object', properties: { day: { type: 'string' }, rule: { type: 'string', enum: ['reverse', 'spike', 'stuck_register', 'zero_streak', 'tariff_sum', 'clock_error'] }, open: { type: 'boolean' }, ...paging } },
    },
  }, async (req) => {
    const p = requirePermission(req.principal, 'readings:read');
    const q = req.query as { day?: string; rule?: VeeRule; open?: boolean; limit: number; offset: number };
    const page = await listVeeFlags(ctx.db, { scopePath: p.orgPath, day: q.day ? dayOf(ctx, q.day) : undefined, rule: q.rule, open: q.open, limit: q.limit, offset: q.offset });
    return { ...page, limit: q.limit, offset: q.offset };
  });
};
