import type { FastifyPluginAsync } from 'fastify';
import {
  AppError, addDays, audit, notFound, parseInstant, requireIsoDate, requirePermission, requireScope, today, type AppContext, type Principal,
} from '../../platform/index.ts';
import { findOrgByCode } from '../../org/index.ts';
import {
  findMeterByAssetNo, listMeterEvents, listMeters, meterCountsAt, meterScopePath, recordMeterEvents, registerMeterArrivals, type MeterEventRow,
} from '../store/meter-events.repository.ts';
import { METER_LIFECYCLE_STATES, type MeterState } from '../store/assets.repository.ts';

const actorOf = (p: Principal) => `${p.kind}:${p.id}`;

const eventDto = (e: MeterEventRow) => ({
  event: e.event, result: e.result, fromState: e.from_state, toState: e.to_state, at: e.at, actor: e.actor, place: e.place,
  orgPath: e.org_path, taskId: e.task_id === null ? null : Number(e.task_id), note: e.note,
});

async function orgPathFor(ctx: AppContext, p: Principal, code?: string): Promise<string> {
  if (!code) return p.orgPath;
  const org = await findOrgByCode(ctx.db, code);
  if (!org) throw notFound('ORG_UNKNOWN', `no org unit with code ${code}`);
  requireScope(p, org.path);
  return org.path;
}

const STATES = [...METER_LIFECYCLE_STATES];
const page = { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, offset: { type: 'integer', minimum: 0, default: 0 } };

/** Meter assets: arrivals, warehouse and verification events, scoped lists, the rotation-due list. */
export const assetsRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const list = async (p: Principal, q: { state?: MeterState; rotationDue?: boolean; limit: number; offset: number }) => {
    const r = await listMeters(ctx.db, { scopePath: p.orgPath, at: ctx.clock.now(), ...q });
    return { items: r.items.map((m) => ({ ...m, id: Number(m.id) })), total: r.total, limit: q.limit, offset: q.offset };
  };

  app.get('/meters', {
    schema: { tags: ['assets'], querystring: { type: 'object', properties: { state: { type: 'string', enum: STATES }, rotationDue: { type: 'boolean' }, ...page } } },
  }, async (req) => list(requirePermission(req.principal, 'assets:read'), req.query as never));

  app.get('/meters/rotation-due', {
    schema: { tags: ['assets'], querystring: { type: 'object', properties: page } },
  }, async (req) => list(requirePermission(req.principal, 'assets:read'), { ...(req.query as { limit: number; offset: number }), rotationDue: true }));

  /** Meters by lifecycle state at the end of a day (today: as they are now), in the caller's scope or below ?org=CODE. */
  app.get('/meters/state-counts', {
    schema: { tags: ['assets'], querystring: { type: 'object', properties: { day: { type: 'string' }, org: { type: 'string' } } } },
  }, async (req) => {
    const p = requirePermission(req.principal, 'assets:read');
    const q = req.query as { day?: string; org?: string };
    const day = requireIsoDate('ASSET_DATE_INVALID', 'day', q.day ?? today(ctx.clock));
    if (day > today(ctx.clock)) throw new AppError('ASSET_DATE_IN_FUTURE', `day ${day} is after today (${today(ctx.clock)})`);
    const scopePath = await orgPathFor(ctx, p, q.org);
    // the end of the day: every event of the day counts, today's up to now
    const at = parseInstant(addDays(day, 1));
    return { day, orgPath: scopePath, at, counts: await meterCountsAt(ctx.db, { scopePath, at }) };
  });

  app.get('/meters/:assetNo', { schema: { tags: ['assets'] } }, async (req) => {
    const p = requirePermission(req.principal, 'assets:read');
    const m = await findMeterByAssetNo(ctx.db, (req.params as { assetNo: string }).assetNo);
    if (!m) throw notFound('ASSET_UNKNOWN', 'no meter with this asset number');
    requireScope(p, await meterScopePath(ctx.db, m.id));
    return { ...m, id: Number(m.id), events: (await listMeterEvents(ctx.db, m.id)).map(eventDto) };
  });

  app.post('/meters', {
    schema: {
      tags: ['assets'],
      body: {
        type: 'object', required: ['assetNo', 'commAddress', 'meterType', 'manufacturedOn', 'place'],
        properties: {
          assetNo: { type: 'string', minLength: 6, maxLength: 32 }, commAddress: { type: 'string', pattern: '^[0-9]{12}$' },
          meterType: { type: 'string', enum: ['single_phase', 'three_phase', 'three_phase_ct'] }, costControl: { type: 'boolean' },
          manufacturedOn: { type: 'string', format: 'date' }, place: { type: 'string', minLength: 1, pattern: '\\S' }, orgCode: { type: 'string' },
        },
      },
    },
  }, async (req, reply) => {
    const p = requirePermission(req.principal, 'assets:write');
    const b = req.body as { assetNo: string; commAddress: string; meterType: 'single_phase'; costControl?: boolean; manufacturedOn: string; place: string; orgCode?: string };
    if (b.manufacturedOn > today(ctx.clock)) throw new AppError('ASSET_MANUFACTURED_IN_FUTURE', `manufacturedOn ${b.manufacturedOn} is after today (${today(ctx.clock)})`);
    const orgPath = await orgPathFor(ctx, p, b.orgCode);
    const [id] = await ctx.db.transaction().execute(async (trx) => {
      const ids = await registerMeterArrivals(trx, ctx.clock.now(), [{ ...b, orgPath, actor: actorOf(p) }]);
      await audit(trx, ctx.clock, { actor: actorOf(p), action: 'meter.arrived', subject: `meter:${b.assetNo}` });
      return ids;
    });
    reply.status(201);
    return { id, assetNo: b.assetNo, state: 'arrived' };
  });

  app.post('/meters/:assetNo/events', {
    schema: {
      tags: ['assets'],
      body: {
        type: 'object', required: ['event', 'place'],
        properties: {
          event: { type: 'string', enum: ['verified', 'in_stock', 'dispatched', 'installed', 'removed', 'scrapped'] },
          result: { type: 'string', enum: ['pass', 'fail'] }, place: { type: 'string', minLength: 1, pattern: '\\S' }, note: { type: 'string' }, orgCode: { type: 'string' },
        },
      },
    },
  }, async (req) => {
    const p = requirePermission(req.principal, 'assets:write');
    const b = req.body as { event: 'verified' | 'in_stock' | 'dispatched' | 'installed' | 'removed' | 'scrapped'; result?: 'pass' | 'fail'; place: string; note?: string; orgCode?: string };
    if (b.event === 'installed' || b.event === 'removed') {
      throw new AppError('ASSET_INSTALL_THROUGH_TASK', 'installing or removing a meter changes a service point and its readings: complete a meter-exchange task or a new connection instead', 409);
    }
    const m = await findMeterByAssetNo(ctx.db, (req.params as { assetNo: string }).assetNo);
    if (!m) throw notFound('ASSET_UNKNOWN', 'no meter with this asset number');
    requireScope(p, await meterScopePath(ctx.db, m.id));
    const orgPath = b.orgCode ? await orgPathFor(ctx, p, b.orgCode) : undefined;
    await ctx.db.transaction().execute(async (trx) => {
      await recordMeterEvents(trx, ctx.clock.now(), [{ meterId: m.id, event: b.event, result: b.result, place: b.place, note: b.note, orgPath, actor: actorOf(p) }]);
      await audit(trx, ctx.clock, { actor: actorOf(p), action: `meter.${b.event}`, subject: `meter:${m.asset_no}`, detail: { result: b.result } });
    });
    const after = (await findMeterByAssetNo(ctx.db, m.asset_no))!;
    return { assetNo: after.asset_no, state: after.state, events: (await listMeterEvents(ctx.db, m.id)).map(eventDto) };
  });
};
