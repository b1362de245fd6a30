import type { FastifyPluginAsync } from 'fastify';
import {
  AppError, requireIsoDate, addDays, audit, businessDate, can, maskContact, requirePermission, requireProvinceWide, type AppContext, type Principal,
} from '../../platform/index.ts';
import { loadCustomerFor, occupancyOf } from '../../customers/index.ts';
import { billIdsCoveringFrom } from '../../billing/index.ts';
import { runDunning } from '../../flows/dunning-run.ts';
import { channelCallbackRoutes } from '../channels/index.ts';
import { callbackChannelFor } from '../dispatch/registry.ts';
import { channelHealth, customerNotices, listEscalations, listNotices, type AttemptView, type NoticeView } from '../store/queries.repository.ts';

const page = {
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  offset: { type: 'integer', minimum: 0, default: 0 },
} as const;

function checkDate(name: string, v: string | undefined): void {
  if (v !== undefined) requireIsoDate('DUNNING_DATE_INVALID', name, v);
}

/**
 * An attempt with its recipient masked ('138******21'), also where the channel's answer quotes it (a refused
 * address, a malformed number; a mail server may quote an address in another case).
 */
function maskedAttempt(a: AttemptView): AttemptView {
  if (a.recipient === null) return a;
  const masked = maskContact(a.recipient);
  const quoted = new RegExp(a.recipient.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
  return { ...a, recipient: masked, detail: a.detail === null ? null : a.detail.replace(quoted, () => masked) };
}

/**
 * Notices as a caller may see them: phone numbers and emails in full only to the roles that contact customers
 * (contacts:unmasked) and to the customer itself, for its own contacts (not those of occupants before a move-in).
 */
function noticesFor(p: Principal, notices: NoticeView[], formerContactIds: Set<number> = new Set()): NoticeView[] {
  if (p.kind !== 'customer' && can(p, 'contacts:unmasked')) return notices;
  const hidden = (a: AttemptView) => p.kind !== 'customer' || a.contactId === null || formerContactIds.has(Number(a.contactId));
  return notices.map((n) => ({ ...n, attempts: n.attempts.map((a) => (hidden(a) ? maskedAttempt(a) : a)) }));
}

/** The dunning API, mounted under /api/v1. */
export const dunningRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  // Providers (IVR, cable operator, email service) call back unauthenticated but signed: the channel checks the signature.
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      route.config = { ...(route.config as object | undefined), public: true } as typeof route.config;
    });
    await scope.register(channelCallbackRoutes((kind) => callbackChannelFor(ctx, kind)));
  }, { prefix: '/channels' });

  app.get('/customers/:number/notices', {
    schema: { tags: ['dunning'], summary: "a customer's chase timeline: notices with every attempt and its delivery state", params: { type: 'object', properties: { number: { type: 'string' } } } },
  }, async (req) => {
    const p = req.principal!;
    const c = await loadCustomerFor(ctx, p, (req.params as { number: string }).number, 'dunning:read');
    if (p.kind !== 'customer') return { customerNumber: c.number, items: noticesFor(p, await customerNotices(ctx.db, Number(c.id))) };
    // the portal after a move-in: the notices about the new occupancy's bills only
    const { since, formerContactIds } = await occupancyOf(ctx.db, Number(c.id));
    const billIds = since === null ? undefined : await billIdsCoveringFrom(ctx.db, Number(c.id), since);
    return { customerNumber: c.number, items: noticesFor(p, await customerNotices(ctx.db, Number(c.id), billIds), formerContactIds) };
  });

  app.get('/dunning/notices', {
    schema: {
      tags: ['dunning'],
      querystring: {
        type: 'object',
        properties: {
          step: { type: 'string', enum: ['bill_notice', 'reminder', 'overdue_1', 'overdue_2', 'overdue_3', 'suspension_notice', 'reconnect'] },
          status: { type: 'string', enum: ['pending', 'sending', 'sent', 'delivered', 'failed', 'cancelled', 'no_channel'] },
          channel: { type: 'string', enum: ['sms', 'voice', 'email', 'catv'] },
          from: { type: 'string' }, to: { type: 'string' }, ...page,
        },
      },
    },
  }, async (req) => {
    const p = requirePermission(req.principal, 'dunning:read');
    const q = req.query as { step?: string; status?: string; channel?: string; from?: string; to?: string; limit: number; offset: number };
    checkDate('from', q.from);
    checkDate('to', q.to);
    const found = await listNotices(ctx.db, { scopePath: p.orgPath, ...q });
    return { ...found, items: noticesFor(p, found.items) };
  });

  app.get('/dunning/channel-health', {
    schema: {
      tags: ['dunning'],
      summary: 'sent / delivered / failed and median receipt latency per channel and org unit',
      querystring: {
        type: 'object',
        properties: { from: { type: 'string' }, to: { type: 'string' }, depth: { type: 'integer', minimum: 1, maximum: 8 } },
      },
    },
  }, async (req) => {
    const p = requirePermission(req.principal, 'dunning:read');
    const q = req.query as { from?: string; to?: string; depth?: number };
    checkDate('from', q.from);
    checkDate('to', q.to);
    const to = q.to ?? businessDate(ctx.clock.now());
    const from = q.from ?? addDays(to, -6);
    // default: one level below the caller's own org unit
    const depth = q.depth ?? p.orgPath.split('/').filter(Boolean).length + 1;
    return { from, to, depth, items: await channelHealth(ctx.db, { scopePath: p.orgPath, depth, from, to }) };
  });

  app.get('/dunning/escalations', {
    schema: {
      tags: ['dunning'],
      querystring: {
        type: 'object',
        properties: { kind: { type: 'string', enum: ['manual_collection', 'contact_verification', 'disconnect', 'reconnect'] }, customer: { type: 'string' }, ...page },
      },
    },
  }, async (req) => {
    const p = requirePermission(req.principal, 'dunning:read');
    const q = req.query as { kind?: string; customer?: string; limit: number; offset: number };
    const customerId = q.customer ? Number((await loadCustomerFor(ctx, p, q.customer, 'dunning:read')).id) : undefined;
    return listEscalations(ctx.db, { scopePath: p.orgPath, limit: q.limit, offset: q.offset, ...(q.kind ? { kind: q.kind } : {}), ...(customerId ? { customerId } : {}) });
  });

  app.post('/dunning/runs', {
    schema: { tags: ['dunning'], summary: 'run the daily dunning decision for a business date', body: { type: 'object', required: ['asOf'], properties: { asOf: { type: 'string' } } } },
  }, async (req) => {
    const p = requirePermission(req.principal, 'dunning:run');
    // the run decides for every account of the province (it takes no org): a city's accounts are chased by the province's daily run
    requireProvinceWide(p, 'a dunning run decides the notices of every account in the province');
    const { asOf } = req.body as { asOf: string };
    checkDate('asOf', asOf);
    // a run decides notices and escalations as of its day: one for a day still to come would chase early
    if (asOf > businessDate(ctx.clock.now())) throw new AppError('DUNNING_DATE_IN_FUTURE', `asOf ${asOf} is after today (${businessDate(ctx.clock.now())}); run the dunning for today or an earlier day`);
    const result = await runDunning(ctx, asOf);
    await audit(ctx.db, ctx.clock, { actor: `${p.kind}:${p.id}`, action: 'dunning.run', subject: asOf, detail: { ...result } });
    return result;
  });
};
