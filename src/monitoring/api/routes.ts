import type { FastifyPluginAsync } from 'fastify';
import {
  AppError, requireIsoDate, addDays, notFound, requirePermission, requireScope, today, type AppContext, type Principal,
} from '../../platform/index.ts';
import { findOrgByCode, findOrgById, type OrgUnitRow } from '../../org/index.ts';
import { KPIS, kpiDef, type KpiDef } from '../domain/kpis.ts';
import { computeKpis } from '../store/kpi-rollup.ts';
import { kpiChildren, kpiSeries, kpiTeams, latestKpiDay, type KpiSubjectRow } from '../store/kpi-queries.ts';

const MAX_RANGE_DAYS = 400;

/** The org asked for (?org=CODE) or the caller's own unit; always inside the caller's scope. */
async function orgFor(ctx: AppContext, p: Principal, code?: string): Promise<OrgUnitRow> {
  const org = code ? await findOrgByCode(ctx.db, code) : p.orgId !== null ? await findOrgById(ctx.db, p.orgId) : undefined;
  if (!org) throw notFound('ORG_UNKNOWN', code ? `no org unit with code ${code}` : 'give ?org=CODE');
  requireScope(p, org.path);
  return org;
}

function checkDate(name: string, v: string | undefined): void {
  if (v !== undefined) requireIsoDate('KPI_DATE_INVALID', name, v);
}

function kpiOrThrow(kpi: string) {
  const d = kpiDef(kpi);
  if (!d) throw new AppError('KPI_UNKNOWN', `no KPI ${kpi}; see GET /api/v1/kpis/definitions`);
  return d;
}

const orgDto = (o: OrgUnitRow) => ({ id: o.id, code: o.code, name: o.name, nameEn: o.name_en, level: o.level, parentId: o.parent_id, path: o.path });

const subjectDto = (s: KpiSubjectRow) => ({
  id: s.id, code: s.code, name: s.name, nameEn: s.name_en, level: s.level, value: s.value, numerator: s.numerator, denominator: s.denominator,
  kpis: Object.fromEntries(Object.entries(s.kpis ?? {}).map(([k, [value, numerator, denominator]]) => [k, { value, numerator, denominator }])),
});

const pageQuery = {
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
  offset: { type: 'integer', minimum: 0, default: 0 },
} as const;

/** The monitoring API (两中心): KPI history and drill-down, served from the daily rollup. */
export const monitoringRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get('/kpis/definitions', { schema: { tags: ['monitoring'] } }, async (req) => {
    requirePermission(req.principal, 'kpi:read');
    return { items: KPIS };
  });

  /** Daily history of the KPIs of one org unit (default: the caller's), from..to inclusive. */
  app.get('/kpis', {
    schema: { tags: ['monitoring'], querystring: { type: 'object', properties: { org: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, kpi: { type: 'string' } } } },
  }, async (req) => {
    const p = requirePermission(req.principal, 'kpi:read');
    const q = req.query as { org?: string; from?: string; to?: string; kpi?: string };
    checkDate('from', q.from);
    checkDate('to', q.to);
    const org = await orgFor(ctx, p, q.org);
    const to = q.to ?? (await latestKpiDay(ctx.db, today(ctx.clock))) ?? today(ctx.clock);
    const from = q.from ?? addDays(to, -29);
    if (from > to) throw new AppError('KPI_RANGE_INVALID', `from (${from}) is after to (${to})`);
    if (addDays(from, MAX_RANGE_DAYS) < to) throw new AppError('KPI_RANGE_TOO_LONG', `at most ${MAX_RANGE_DAYS} days per request`);
    const kpis = q.kpi ? q.kpi.split(',').map((k) => kpiOrThrow(k).kpi) : undefined;
    const rows = await kpiSeries(ctx.db, org.id, from, to, kpis);
    const series: Record<string, { day: string; value: string | null; numerator: string; denominator: string | null }[]> = {};
    for (const r of rows) (series[r.kpi] ??= []).push({ day: r.day, value: r.value, numerator: r.numerator, denominator: r.denominator });
    return { org: orgDto(org), from, to, series };
  });

  /** A worst-first drill-down below an org unit on a day: its child units, or its collection teams. */
  const drillDown = (url: string, list: (org: { id: number; path: string }, day: string, kpi: string, better: KpiDef['better'], limit: number, offset: number) => ReturnType<typeof kpiChildren>) =>
    app.get(url, {
      schema: { tags: ['monitoring'], querystring: { type: 'object', properties: { org: { type: 'string' }, day: { type: 'string' }, kpi: { type: 'string', default: 'read_success' }, ...pageQuery } } },
    }, async (req) => {
      const p = requirePermission(req.principal, 'kpi:read');
      const q = req.query as { org?: string; day?: string; kpi: string; limit: number; offset: number };
      checkDate('day', q.day);
      const def = kpiOrThrow(q.kpi);
      const org = await orgFor(ctx, p, q.org);
      const day = q.day ?? (await latestKpiDay(ctx.db, today(ctx.clock)));
      if (!day) return { org: orgDto(org), day: null, kpi: def.kpi, items: [], total: 0 };
      const { items, total } = await list(org, day, def.kpi, def.better, q.limit, q.offset);
      return { org: orgDto(org), day, kpi: def.kpi, items: items.map(subjectDto), total };
    });
  drillDown('/kpis/children', (org, day, kpi, better, limit, offset) => kpiChildren(ctx.db, org.id, day, kpi, better, limit, offset));
  drillDown('/kpis/teams', (org, day, kpi, better, limit, offset) => kpiTeams(ctx.db, org.path, day, kpi, better, limit, offset));

  /** Recompute one day on demand (the daily job does the same); replaces that day atomically. */
  app.post('/kpis/compute', {
    schema: { tags: ['monitoring'], body: { type: 'object', properties: { day: { type: 'string' } } } },
  }, async (req) => {
    requirePermission(req.principal, 'admin');
    const body = (req.body ?? {}) as { day?: string };
    checkDate('day', body.day);
    if (body.day !== undefined && body.day > today(ctx.clock)) throw new AppError('KPI_DATE_IN_FUTURE', `day ${body.day} is after today (${today(ctx.clock)}); KPIs are computed for days that are over or under way`);
    return computeKpis(ctx, body.day ?? today(ctx.clock));
  });
};
