import type { FastifyPluginAsync } from 'fastify';
import { AppError, notFound, requirePermission, requireProvinceWide, today, type AppContext } from '../../platform/index.ts';
import { addMonths, assertPeriod } from '../domain/period.ts';
import { lineLabel } from '../domain/labels.ts';
import { continueBillingRun, openBillingRun, runToDto } from '../runs.ts';
import { findRun } from '../store/run.repository.ts';
import { rateOne } from '../store/rating.ts';
import { findTariff, listTariffs, tariffInForce } from '../store/tariffs.repository.ts';
import { billsRoutes } from './bills.routes.ts';

const quantity = { anyOf: [{ type: 'string', pattern: '^\\d{1,12}(\\.\\d{1,4})?$' }, { type: 'number', minimum: 0 }] };
/** Exact sum of kWh decimals (up to 4 places) in 1/10000 kWh. */
function sumDecimals(values: string[]): string {
  const scaled = values.reduce((acc, v) => {
    const [i, f = ''] = v.split('.');
    return acc + BigInt(i!) * 10_000n + BigInt(f.padEnd(4, '0').slice(0, 4));
  }, 0n);
  return `${scaled / 10_000n}.${String(scaled % 10_000n).padStart(4, '0')}`;
}
function asDecimal(v: string | number | undefined | null): string | null {
  if (v === undefined || v === null) return null;
  const s = String(v);
  if (!/^\d{1,12}(\.\d{1,4})?$/.test(s)) throw new AppError('BILLING_QUOTE_INVALID', `not a quantity with at most 4 decimals: ${s}`);
  return s;
}

/**
 * A billing run bills every customer of its cycle across the province (one run per cycle and period, no org), and
 * its figures are the province's: only province-wide staff start or read one. A city clerk reviews and releases
 * the city's bills (GET /billing/review).
 */
const PROVINCE_RUN = 'a billing run bills every customer of its cycle in the province: review the bills of your scope instead';

/** The billing API, mounted under /api/v1. */
export const billingRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  // runs started by this process; the run key in the database guards against any other process
  const inFlight = new Map<number, Promise<unknown>>();

  app.post('/billing/runs', {
    schema: {
      tags: ['billing'],
      body: {
        type: 'object', required: ['cycle', 'period'],
        properties: {
          cycle: { type: 'string' }, period: { type: 'string' }, chunkSize: { type: 'integer', minimum: 100, maximum: 1_000_000 },
          wait: { type: 'boolean', default: false },
        },
      },
    },
  }, async (req, reply) => {
    const p = requirePermission(req.principal, 'billing:run');
    requireProvinceWide(p, PROVINCE_RUN);
    const body = req.body as { cycle: string; period: string; chunkSize?: number; wait: boolean };
    const run = await openBillingRun(ctx, { ...body, startedBy: `${p.kind}:${p.id}` });
    if (run.status === 'completed') return reply.code(200).send(runToDto(run));
    let work = inFlight.get(run.id);
    if (!work) {
      work = continueBillingRun(ctx, run).catch((e: unknown) => ctx.log.error({ err: e, runId: run.id }, 'billing run failed; start it again to resume'))
        .finally(() => inFlight.delete(run.id));
      inFlight.set(run.id, work);
    }
    if (body.wait) {
      await work;
      return reply.code(200).send(runToDto((await findRun(ctx.db, run.id))!));
    }
    return reply.code(202).send(runToDto(run));
  });

  app.get('/billing/runs/:id', { schema: { tags: ['billing'], params: { type: 'object', properties: { id: { type: 'integer' } } } } }, async (req) => {
    requireProvinceWide(requirePermission(req.principal, 'billing:read'), PROVINCE_RUN);
    const run = await findRun(ctx.db, (req.params as { id: number }).id);
    if (!run) throw notFound('BILLING_RUN_UNKNOWN', 'no such billing run');
    return runToDto(run);
  });

  app.get('/tariffs', { schema: { tags: ['billing'] } }, async (req) => {
    if (!req.principal) throw new AppError('AUTH_REQUIRED', 'sign in first', 401);
    return { items: await listTariffs(ctx.db) };
  });

  /** Bill estimate (电费试算): the same rating SQL as the billing run, for one consumption. */
  app.post('/tariffs/:code/quote', {
    schema: {
      tags: ['billing'],
      body: {
        type: 'object',
        properties: {
          kwh: quantity, ytdKwh: quantity, month: { type: 'string' },
          registers: { type: 'object', properties: { sharp: quantity, peak: quantity, flat: quantity, valley: quantity }, additionalProperties: false },
          capacityKva: quantity, maxDemandKw: quantity, reactiveKvarh: quantity,
        },
      },
    },
  }, async (req) => {
    if (!req.principal) throw new AppError('AUTH_REQUIRED', 'sign in first', 401);
    const { code } = req.params as { code: string };
    const b = req.body as { kwh?: string | number; ytdKwh?: string | number; month?: string; capacityKva?: string | number; maxDemandKw?: string | number; reactiveKvarh?: string | number; registers?: Record<'sharp' | 'peak' | 'flat' | 'valley', string | number | undefined> };
    const tariff = await findTariff(ctx.db, code);
    if (!tariff) throw notFound('BILLING_TARIFF_UNKNOWN', `no tariff ${code}`);
    const regs: Partial<Record<'sharp' | 'peak' | 'flat' | 'valley', string | number>> = b.registers ?? {};
    const regValues = (['sharp', 'peak', 'flat', 'valley'] as const).map((k) => asDecimal(regs[k]));
    const given = regValues.filter((v): v is string => v !== null);
    if (b.kwh === undefined && !given.length) throw new AppError('BILLING_QUOTE_NO_CONSUMPTION', 'give kwh, or kWh per register for a time-of-use tariff');
    const total = b.kwh !== undefined ? asDecimal(b.kwh)! : sumDecimals(given);
    const month = b.month ?? today(ctx.clock).slice(0, 7);
    assertPeriod(month);
    // as a billing run skips a customer whose tariff has no prices from the period's first day (NO_TARIFF),
    // a quote for such a month is refused rather than priced for only its last days
    if (!(await tariffInForce(ctx.db, code, `${month}-01`))) {
      throw new AppError('BILLING_TARIFF_NOT_EFFECTIVE', `tariff ${code} has no prices in force from the start of ${month}`);
    }
    const rated = await rateOne(ctx.db, {
      tariffCode: code, periodStart: `${month}-01`, periodEnd: `${addMonths(month, 1)}-01`, totalKwh: total,
      sharpKwh: regValues[0], peakKwh: regValues[1], flatKwh: regValues[2], valleyKwh: regValues[3],
      ytdKwh: asDecimal(b.ytdKwh) ?? '0', capacityKva: asDecimal(b.capacityKva), maxDemandKw: asDecimal(b.maxDemandKw), reactiveKvarh: asDecimal(b.reactiveKvarh),
    });
    return {
      tariff: code, month, kwh: total, amount: rated.amount,
      lines: rated.lines.map((l) => ({
        component: l.component, register: l.register, tier: l.tier, label: lineLabel(l, 'zh'), labelEn: lineLabel(l, 'en'),
        segmentStart: l.seg_start, segmentEnd: l.seg_end, quantity: l.quantity, unitPrice: l.unit_price, amount: l.amount,
      })),
    };
  });

  await app.register(billsRoutes, { ctx });
};
