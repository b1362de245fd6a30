import type { FastifyPluginAsync } from 'fastify';
import {
  addDays, AppError, requireIsoDate, audit, daysBetween, forbidden, isProvinceWide, requirePermission, requireScope, today, type AppContext, type Principal,
} from '../../platform/index.ts';
import { occupancyOf } from '../../customers/index.ts';
import { ingestReadings } from '../ingest/ingest.ts';
import { listMeterReadings, listQuarantine } from '../store/queries.repository.ts';
import {
  checkRegisterValues, customerMeterSince, editReading, findMeterScope, listReadingCorrections, listReadingEdits, type MeterScope,
} from '../store/edits.repository.ts';
import { loadMeteringPolicy } from '../store/policy.repository.ts';
import { enterManualReading } from '../../flows/metering-reread.ts';

const MAX_BATCH = 100_000;
const registerProps = { total: { type: 'string' }, sharp: { type: 'string' }, peak: { type: 'string' }, flat: { type: 'string' }, valley: { type: 'string' } };
const paging = { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, offset: { type: 'integer', minimum: 0, default: 0 } };


const checkDate = (name: string, v: string) => requireIsoDate('REQUEST_DATE_INVALID', name, v);

/**
 * Staff in scope, or the customer the meter serves. A customer sees the meter from the day its service
 * point was installed or its occupancy began, whichever is later (`since`): a re-used meter's earlier
 * days, and the days before a move-in (which keeps the account and its meter), are a previous occupant's.
 */
async function meterFor(ctx: AppContext, p: Principal | undefined, address: string, permission: 'readings:read' | 'readings:write'): Promise<MeterScope & { since?: string }> {
  if (p?.kind === 'customer' && permission === 'readings:read') {
    const m = await findMeterScope(ctx.db, address);
    if (m.customerId !== p.id) throw forbidden('a customer may only see its own meter');
    const [installed, occupancy] = await Promise.all([customerMeterSince(ctx.db, m.meterId, p.id), occupancyOf(ctx.db, p.id)]);
    const since = [installed, occupancy.since ?? undefined].filter((d): d is string => d !== undefined).sort().at(-1);
    return { ...m, since };
  }
  const staff = requirePermission(p, permission);
  const m = await findMeterScope(ctx.db, address);
  requireScope(staff, m.orgPath ?? '');
  return m;
}

export const readingsRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.post('/readings', {
    schema: { tags: ['metering'], summary: 'Ingest a batch of raw readings (array, or { readings: [...] }); bad rows are quarantined' },
  }, async (req) => {
    const p = requirePermission(req.principal, 'readings:write');
    const body = req.body as unknown;
    const rows = Array.isArray(body) ? body : (body as { readings?: unknown })?.readings;
    if (!Array.isArray(rows)) throw new AppError('READINGS_BATCH_INVALID', 'send an array of readings or { "readings": [...] }');
    if (rows.length > MAX_BATCH) throw new AppError('READINGS_BATCH_TOO_LARGE', `at most ${MAX_BATCH} rows per batch; use file ingest for more`, 413);
    return ingestReadings(ctx, 'api', rows, { origin: `api:${p.kind}:${p.id}`, scopePath: p.orgPath });
  });

  app.get('/readings/quarantine', {
    schema: { tags: ['metering'], querystring: { type: 'object', properties: { reason: { type: 'string' }, source: { type: 'string' }, ...paging } } },
  }, async (req) => {
    const p = requirePermission(req.principal, 'readings:read');
    const q = req.query as { reason?: string; source?: string; limit: number; offset: number };
    const page = await listQuarantine(ctx.db, { scopePath: p.orgPath, includeUnscoped: isProvinceWide(p), ...q });
    return { ...page, limit: q.limit, offset: q.offset };
  });

  app.get('/meters/:address/readings', {
    schema: { tags: ['metering'], querystring: { type: 'object', properties: { from: { type: 'string' }, to: { type: 'string' } } } },
  }, async (req) => {
    const { address } = req.params as { address: string };
    const q = req.query as { from?: string; to?: string };
    const m = await meterFor(ctx, req.principal, address, 'readings:read');
    const to = checkDate('to', q.to ?? today(ctx.clock));
    const from = checkDate('from', q.from ?? addDays(to, -30));
    if (daysBetween(from, to) < 0 || daysBetween(from, to) > 400) throw new AppError('REQUEST_RANGE_INVALID', 'from must be before to, at most 400 days apart');
    const items = m.since && to < m.since ? [] : await listMeterReadings(ctx.db, m.meterId, m.since && from < m.since ? m.since : from, to);
    // the first day's use is measured from the day before, when the meter was someone else's
    return { meter: m.commAddress, from, to, items: items.map((x) => (x.date === m.since ? { ...x, usedKwh: null } : x)) };
  });

  app.post('/meters/:address/manual-reading', {
    schema: {
      tags: ['metering'], summary: 'Enter an on-site re-read (补抄); closes the meter re-read task',
      body: { type: 'object', required: ['date'], properties: { date: { type: 'string' }, ...registerProps } },
    },
  }, async (req) => {
    const p = requirePermission(req.principal, 'readings:write');
    const { address } = req.params as { address: string };
    const b = req.body as { date: string; total?: string; sharp?: string; peak?: string; flat?: string; valley?: string };
    const { date, ...values } = b;
    // the same age limit as every other reading (ingest quarantines older ones as date_too_old)
    const oldest = addDays(today(ctx.clock), -(await loadMeteringPolicy(ctx.db)).maxReadingAgeDays);
    if (checkDate('date', date) < oldest) throw new AppError('READING_DATE_TOO_OLD', `${date} is before ${oldest}, the oldest day a reading is accepted for`);
    return enterManualReading(ctx, { meter: address, date, values: stringValues(values), enteredBy: `${p.kind}:${p.id}`, scopePath: p.orgPath });
  });

  app.post('/meters/:address/readings/:date/edit', {
    schema: {
      tags: ['metering'], summary: 'Correct a stored reading; the original is kept in the edit history',
      body: { type: 'object', required: ['reason'], properties: { reason: { type: 'string', minLength: 3 }, ...registerProps } },
    },
  }, async (req) => {
    const { address, date } = req.params as { address: string; date: string };
    const m = await meterFor(ctx, req.principal, address, 'readings:write');
    const p = req.principal!;
    const { reason, ...values } = req.body as { reason: string; total?: string };
    const checked = checkRegisterValues(stringValues(values));
    const editedBy = `${p.kind}:${p.id}`;
    const at = ctx.clock.now();
    return ctx.db.transaction().execute(async (trx) => {
      const r = await editReading(trx, at, { meterId: m.meterId, date: checkDate('date', date), values: checked, reason, editedBy });
      await audit(trx, ctx.clock, { actor: editedBy, action: 'reading.edit', subject: `meter:${m.commAddress}`, detail: { date, reason, original: r.original, edited: r.edited } });
      return { meter: m.commAddress, date, ...r };
    });
  });

  app.get('/meters/:address/readings/:date/edits', {
    schema: { tags: ['metering'], summary: "A meter-day's history: manual edits (items) and the values later readings replaced (corrections)" },
  }, async (req) => {
    const { address, date } = req.params as { address: string; date: string };
    const m = await meterFor(ctx, req.principal, address, 'readings:read');
    const day = checkDate('date', date);
    if (m.since && day < m.since) throw forbidden(`a customer sees its meter from ${m.since}, when it moved in`);
    // edits carry a person and a reason; corrections are what arrived before (a head-end's resend, an estimate, a re-read)
    return { items: await listReadingEdits(ctx.db, m.meterId, day), corrections: await listReadingCorrections(ctx.db, m.meterId, day) };
  });
};

function stringValues(v: Record<string, string | number | undefined>) {
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, String(x)]));
}
