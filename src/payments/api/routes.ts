import type { FastifyPluginAsync } from 'fastify';
import { AppError, forbidden, isIsoDate, isProvinceWide, requirePermission, requireScope, today, type AppContext, type Principal } from '../../platform/index.ts';
import { loadCustomerFor, occupancyOf, type CustomerRow } from '../../customers/index.ts';
import { billIdsCoveringFrom } from '../../billing/index.ts';
import { csvText } from '../domain/csv.ts';
import { backdatingRejection, isRejection, PAYMENT_CHANNELS, validatePayment, type PaymentChannel } from '../domain/payment-input.ts';
import { loadBackdatingWindow } from '../store/date-policy.repository.ts';
import { getPayment, listPayments, paymentOrgPath, reversePayment, settleOutcome } from '../store/payments.repository.ts';
import { PaymentPostQueue } from '../store/post-queue.ts';
import { arrearsByAge, ledgerEntries, statementFor, type OccupancyCut } from '../store/statement.repository.ts';
import { importPayments } from '../store/import.repository.ts';
import { getReconciliation, listReconciliations, reconcileSettlement, reconciliationInScope } from '../store/reconciliation.repository.ts';

const page = { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, offset: { type: 'integer', minimum: 0, default: 0 } } as const;
const actorOf = (p: Principal) => `${p.kind}:${p.id}:${p.name}`;

/** Which channels a caller may post on: a channel integration its own; people the counter they work at. */
function allowedChannels(p: Principal): readonly PaymentChannel[] {
  switch (p.role) {
    case 'payment_channel': return PAYMENT_CHANNELS.filter((c) => c === p.name);
    case 'customer': return ['portal'];
    case 'grid_manager': return ['grid_manager'];
    case 'city_billing_clerk': case 'service_agent': return ['service_hall'];
    case 'admin': return PAYMENT_CHANNELS;
    default: return [];
  }
}

/**
 * The org scope a caller reconciles settlements in: province-wide staff (HQ or province level, as metering
 * judges it for quarantined readings) the whole ledger ('/', as the CLI), other staff their org subtree.
 */
function reconciliationScope(p: Principal): string {
  return isProvinceWide(p) ? '/' : p.orgPath;
}

function asOfParam(ctx: AppContext, asOf: string | undefined): string {
  if (asOf === undefined || asOf === '') return today(ctx.clock);
  if (!isIsoDate(asOf)) throw new AppError('REQUEST_INVALID', `asOf must be a date YYYY-MM-DD: ${asOf}`);
  return asOf;
}

/** A settlement file's name as the channel named it: a name, not a path. */
function settlementFileName(name: string): string {
  if (!name || name.length > 200 || /[/\\\u0000-\u001f]/.test(name) || name === '.' || name === '..') {
    throw new AppError('RECONCILIATION_FILE_NAME_INVALID', 'fileName is the settlement file\'s name without a folder: 1 to 200 characters, no / or \\');
  }
  return name;
}

/**
 * What of the account a portal user sees: after a move-in (the account carries on under the new occupant) only
 * its own occupancy's part; staff, and a portal without a move-in, the whole account.
 */
async function portalCut(ctx: AppContext, p: Principal | undefined, c: CustomerRow): Promise<OccupancyCut | undefined> {
  if (p?.kind !== 'customer') return undefined;
  const { since } = await occupancyOf(ctx.db, Number(c.id));
  return since === null ? undefined : { since, billIds: await billIdsCoveringFrom(ctx.db, Number(c.id), since) };
}

/** The payments API, mounted under /api/v1. */
export const paymentsRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  // concurrent postings share one statement and one commit (group commit); the embedded engine has one connection.
  // Two batches in flight on the server: one commits (waits for the WAL flush) while the next runs. More slots
  // make the batches smaller, and a batch has a fixed cost (about 1.3 ms of server CPU, then ~0.1 ms a posting):
  // on the 2-core bench machine 2 slots posted more than 4 (bench/payments-post.ts).
  const postQueue = new PaymentPostQueue(ctx.db, ctx.clock, 'api',
    ctx.database.engine === 'postgres' ? { concurrency: 2, maxBatch: 256 } : { concurrency: 1, maxBatch: 256 });

  app.post('/payments', {
    schema: {
      tags: ['payments'],
      body: {
        type: 'object', required: ['channel', 'reference', 'customerNumber', 'amount', 'currency'],
        properties: { channel: { type: 'string' }, reference: { type: 'string' }, customerNumber: { type: 'string' }, amount: { type: 'string', description: 'decimal string, e.g. "120.50"' }, currency: { type: 'string' }, paidOn: { type: ['string', 'null'], description: 'YYYY-MM-DD; today when left out' } },
      },
    },
  }, async (req, reply) => {
    const p = requirePermission(req.principal, 'payments:post');
    const day = today(ctx.clock);
    const v = validatePayment(req.body as Record<string, unknown>, day);
    if (isRejection(v)) throw new AppError(v.code, v.reason, 400);
    // the window is read only for a backdated payment: most are paid today
    const late = v.paidOn < day ? backdatingRejection(v, day, await loadBackdatingWindow(ctx.db)) : null;
    if (late) throw new AppError(late.code, late.reason, 400);
    if (!allowedChannels(p).includes(v.channel)) throw forbidden(`role ${p.role} may not post on channel ${v.channel}`);
    // people post inside their scope (a customer only for itself); channel integrations serve every customer
    if (p.kind !== 'system') {
      await loadCustomerFor(ctx, p, v.customerNumber, 'payments:post').catch((e: unknown) => {
        if (e instanceof AppError && e.code === 'CUSTOMER_UNKNOWN') throw new AppError('PAYMENT_CUSTOMER_UNKNOWN', e.message, 404);
        throw e;
      });
    }
    const { payment, duplicate } = settleOutcome(await postQueue.post(v, actorOf(p)), v);
    return reply.status(duplicate ? 200 : 201).send({ ...payment, duplicate });
  });

  app.get('/payments', {
    schema: { tags: ['payments'], querystring: { type: 'object', properties: { customerNumber: { type: 'string' }, channel: { type: 'string' }, from: { type: 'string', format: 'date' }, to: { type: 'string', format: 'date' }, ...page } } },
  }, async (req) => {
    const p = requirePermission(req.principal, 'payments:read');
    const q = req.query as { customerNumber?: string; channel?: string; from?: string; to?: string; limit: number; offset: number };
    const customerId = q.customerNumber ? (await loadCustomerFor(ctx, p, q.customerNumber, 'payments:read')).id : undefined;
    const r = await listPayments(ctx.db, { scopePath: p.orgPath, customerId, channel: q.channel, from: q.from, to: q.to, limit: q.limit, offset: q.offset });
    return { ...r, limit: q.limit, offset: q.offset };
  });

  app.get('/payments/arrears', {
    schema: { tags: ['payments'], querystring: { type: 'object', properties: { asOf: { type: 'string' } } } },
  }, async (req) => {
    const p = requirePermission(req.principal, 'payments:read');
    return arrearsByAge(ctx.db, asOfParam(ctx, (req.query as { asOf?: string }).asOf), p.orgPath);
  });

  app.get('/payments/:id', { schema: { tags: ['payments'], params: { type: 'object', properties: { id: { type: 'integer' } } } } }, async (req) => {
    const p = requirePermission(req.principal, 'payments:read');
    const { id } = req.params as { id: number };
    const payment = await getPayment(ctx.db, id);
    const path = await paymentOrgPath(ctx.db, id);
    if (!payment || !path) throw new AppError('PAYMENT_UNKNOWN', `no payment ${id}`, 404);
    requireScope(p, path);
    return payment;
  });

  app.post('/payments/:id/reversal', {
    schema: { tags: ['payments'], params: { type: 'object', properties: { id: { type: 'integer' } } }, body: { type: 'object', required: ['reason'], properties: { reason: { type: 'string', minLength: 1 } } } },
  }, async (req) => {
    const p = requirePermission(req.principal, 'payments:reverse');
    const { id } = req.params as { id: number };
    const path = await paymentOrgPath(ctx.db, id);
    if (!path) throw new AppError('PAYMENT_UNKNOWN', `no payment ${id}`, 404);
    requireScope(p, path);
    await reversePayment(ctx.db, ctx.clock, id, actorOf(p), (req.body as { reason: string }).reason);
    return getPayment(ctx.db, id);
  });

  app.get('/customers/:number/statement', {
    schema: { tags: ['payments'], querystring: { type: 'object', properties: { asOf: { type: 'string' } } } },
  }, async (req) => {
    const c = await loadCustomerFor(ctx, req.principal, (req.params as { number: string }).number, 'payments:read');
    const s = await statementFor(ctx.db, Number(c.id), asOfParam(ctx, (req.query as { asOf?: string }).asOf), await portalCut(ctx, req.principal, c));
    return { customerNumber: c.number, name: c.name, ...s };
  });

  app.get('/customers/:number/ledger', {
    schema: { tags: ['payments'], querystring: { type: 'object', properties: { from: { type: 'string', format: 'date' }, to: { type: 'string', format: 'date' }, ...page } } },
  }, async (req) => {
    const c = await loadCustomerFor(ctx, req.principal, (req.params as { number: string }).number, 'payments:read');
    const q = req.query as { from?: string; to?: string; limit: number; offset: number };
    return { ...(await ledgerEntries(ctx.db, Number(c.id), q, await portalCut(ctx, req.principal, c))), limit: q.limit, offset: q.offset };
  });

  app.post('/payments/imports', {
    schema: { tags: ['payments'], description: 'CSV body (text/csv): channel,reference,customer_number,amount,currency,paid_on' },
  }, async (req) => {
    const p = requirePermission(req.principal, 'payments:reconcile');
    return importPayments(ctx.db, ctx.clock, csvText(req.body, 'file'), actorOf(p), { scopePath: p.orgPath });
  });

  app.post('/payments/reconciliations', {
    schema: { tags: ['payments'], description: 'CSV body (text/csv): reference,customer_number,amount[,currency][,paid_on]', querystring: { type: 'object', required: ['channel', 'date'], properties: { channel: { type: 'string' }, date: { type: 'string' }, fileName: { type: 'string' } } } },
  }, async (req, reply) => {
    const p = requirePermission(req.principal, 'payments:reconcile');
    const csv = csvText(req.body, 'settlement file');
    const q = req.query as { channel: string; date: string; fileName?: string };
    const fileName = q.fileName === undefined ? `${q.channel}-${q.date}.csv` : settlementFileName(q.fileName);
    const r = await reconcileSettlement(ctx.db, ctx.clock, { channel: q.channel, date: q.date, fileName, csv, actor: actorOf(p), scopePath: reconciliationScope(p) });
    return reply.status(201).send(r);
  });

  app.get('/payments/reconciliations', {
    schema: { tags: ['payments'], querystring: { type: 'object', properties: { channel: { type: 'string' }, from: { type: 'string', format: 'date' }, to: { type: 'string', format: 'date' }, ...page } } },
  }, async (req) => {
    const p = requirePermission(req.principal, 'payments:reconcile');
    const q = req.query as { channel?: string; from?: string; to?: string; limit: number; offset: number };
    return { ...(await listReconciliations(ctx.db, { ...q, scopePath: reconciliationScope(p) })), limit: q.limit, offset: q.offset };
  });

  app.get('/payments/reconciliations/:id', { schema: { tags: ['payments'], params: { type: 'object', properties: { id: { type: 'integer' } } } } }, async (req) => {
    const p = requirePermission(req.principal, 'payments:reconcile');
    const r = await getReconciliation(ctx.db, (req.params as { id: number }).id);
    if (!reconciliationInScope(r.run, reconciliationScope(p))) throw forbidden(`reconciliation run ${r.run.id} covers ${r.run.scopePath}, outside your org scope`);
    return r;
  });
};
