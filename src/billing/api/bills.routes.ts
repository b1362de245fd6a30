import type { FastifyPluginAsync } from 'fastify';
import { sql } from 'kysely';
import { forbidden, notFound, requirePermission, requireScope, type AppContext, type Db, type Principal } from '../../platform/index.ts';
import { loadCustomerFor, occupancyOf } from '../../customers/index.ts';
import { lineLabel } from '../domain/labels.ts';
import { billHtml, billPdf } from '../document/bill-document.ts';
import { correctBill, releaseBill, voidBill, type Correction } from '../review.ts';
import {
  billCoversFrom, findBill, holdsOf, linesOf, listCustomerBills, listHeldBills, type BillHoldRow, type BillLineRow, type BillRow,
} from '../store/bills.repository.ts';

export function billToDto(b: BillRow, lines?: BillLineRow[], holds?: BillHoldRow[]) {
  return {
    id: b.id, billNo: b.bill_no, kind: b.kind, customerId: b.customer_id, runId: b.run_id, cycle: b.cycle_code, period: b.period,
    tariffCode: b.tariff_code, periodStart: b.period_start, periodEnd: b.period_end, consumptionKwh: b.consumption_kwh,
    registers: { sharp: b.sharp_kwh, peak: b.peak_kwh, flat: b.flat_kwh, valley: b.valley_kwh }, readingQuality: b.reading_quality,
    amount: b.amount, status: b.status, originalBillId: b.original_bill_id, reason: b.reason, issuedOn: b.issued_on, dueDate: b.due_date,
    releasedAt: b.released_at, releasedBy: b.released_by,
    ...(lines && { lines: lines.filter((l) => l.bill_id === b.id).map((l) => ({
      lineNo: l.line_no, component: l.component, register: l.register, tier: l.tier, label: lineLabel(l, 'zh'), labelEn: lineLabel(l, 'en'),
      segmentStart: l.segment_start, segmentEnd: l.segment_end, quantity: l.quantity, unitPrice: l.unit_price, amount: l.amount,
    })) }),
    ...(holds && { holds: holds.filter((h) => h.bill_id === b.id).map((h) => ({ rule: h.rule_code, detail: h.detail })) }),
  };
}

/**
 * Staff see bills in their org scope; a customer sees only its own released documents, and after a move-in
 * only those of its own occupancy: the account's earlier bills are the former occupant's.
 */
async function requireBillAccess(db: Db, p: Principal | undefined, b: BillRow, permission: 'billing:read' | 'billing:review' = 'billing:read'): Promise<Principal> {
  if (p?.kind === 'customer') {
    if (permission !== 'billing:read' || p.id !== Number(b.customer_id) || b.status !== 'released') throw forbidden('a customer may only see its own released bills');
    const { since } = await occupancyOf(db, p.id);
    if (since !== null && !billCoversFrom(b, since)) throw forbidden(`bill ${b.bill_no} is of the account's occupant before the move-in of ${since}`);
    return p;
  }
  const staff = requirePermission(p, permission);
  requireScope(staff, b.org_path);
  return staff;
}

const idParams = { type: 'object', properties: { id: { type: 'integer' } } };
const page = { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, offset: { type: 'integer', minimum: 0, default: 0 } };
const qty = { type: 'string', pattern: '^-?\\d{1,12}(\\.\\d{1,4})?$' };

export const billsRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const load = async (id: number) => {
    const b = await findBill(ctx.db, id);
    if (!b) throw notFound('BILLING_BILL_UNKNOWN', `no bill ${id}`);
    return b;
  };

  app.get('/customers/:number/bills', { schema: { tags: ['billing'], querystring: { type: 'object', properties: page } } }, async (req) => {
    const { number } = req.params as { number: string };
    const q = req.query as { limit: number; offset: number };
    const c = await loadCustomerFor(ctx, req.principal, number, 'billing:read');
    const portal = req.principal!.kind === 'customer';
    const coveringFrom = portal ? (await occupancyOf(ctx.db, Number(c.id))).since : null;
    const { items, total } = await listCustomerBills(ctx.db, c.id, { releasedOnly: portal, coveringFrom, limit: q.limit, offset: q.offset });
    const lines = await linesOf(ctx.db, items.map((b) => b.id));
    return { items: items.map((b) => billToDto(b, lines)), total, limit: q.limit, offset: q.offset };
  });

  app.get('/bills/:id', { schema: { tags: ['billing'], params: idParams } }, async (req) => {
    const b = await load((req.params as { id: number }).id);
    const p = await requireBillAccess(ctx.db, req.principal, b);
    const [lines, holds] = await Promise.all([linesOf(ctx.db, [b.id]), p.kind === 'customer' ? [] : holdsOf(ctx.db, [b.id])]);
    const actions = p.kind === 'customer' ? [] : (await sql<{ action: string; reason: string | null; actor: string; at: Date; old_amount: string | null; new_amount: string | null; credit_bill_id: number | null; rebill_id: number | null }>`
      SELECT action, reason, actor, at, old_amount, new_amount, credit_bill_id, rebill_id FROM bill_review_action WHERE bill_id = ${b.id} ORDER BY id`.execute(ctx.db)).rows;
    return { ...billToDto(b, lines, holds), reviewActions: actions };
  });

  app.get('/bills/:id/document', {
    schema: { tags: ['billing'], params: idParams, querystring: { type: 'object', properties: { format: { type: 'string', enum: ['html', 'pdf'], default: 'html' } } } },
  }, async (req, reply) => {
    const b = await load((req.params as { id: number }).id);
    await requireBillAccess(ctx.db, req.principal, b);
    const customer = (await sql<{ number: string; name: string; address: string }>`SELECT number, name, address FROM customer WHERE id = ${b.customer_id}`.execute(ctx.db)).rows[0]!;
    const view = { bill: b, lines: await linesOf(ctx.db, [b.id]), customer };
    if ((req.query as { format: string }).format === 'pdf') {
      return reply.type('application/pdf').header('content-disposition', `inline; filename="${b.bill_no}.pdf"`).send(await billPdf(view));
    }
    return reply.type('text/html; charset=utf-8').send(billHtml(view));
  });

  app.get('/billing/review', {
    schema: {
      tags: ['billing'],
      querystring: {
        type: 'object',
        properties: { ...page, rule: { type: 'string' }, cycle: { type: 'string' }, period: { type: 'string' }, sort: { type: 'string', enum: ['amount', 'created', 'customer'], default: 'amount' } },
      },
    },
  }, async (req) => {
    const p = requirePermission(req.principal, 'billing:read');
    const q = req.query as { limit: number; offset: number; rule?: string; cycle?: string; period?: string; sort: 'amount' | 'created' | 'customer' };
    const { items, total } = await listHeldBills(ctx.db, { scopePath: p.orgPath, ...q });
    const holds = await holdsOf(ctx.db, items.map((b) => b.id));
    return {
      items: items.map((b) => ({ ...billToDto(b, undefined, holds), customerNumber: b.customer_number, customerName: b.customer_name })),
      total, limit: q.limit, offset: q.offset,
    };
  });

  const reviewBody = (extra: Record<string, unknown> = {}, required: string[] = []) => ({
    type: 'object', required, properties: { reason: { type: 'string', maxLength: 500 }, ...extra }, additionalProperties: false,
  });

  app.post('/bills/:id/release', { schema: { tags: ['billing'], params: idParams, body: reviewBody() } }, async (req) => {
    const b = await load((req.params as { id: number }).id);
    const p = await requireBillAccess(ctx.db, req.principal, b, 'billing:review');
    const r = await releaseBill(ctx, b.id, `${p.kind}:${p.id}`, (req.body as { reason?: string } | undefined)?.reason);
    return billToDto(r.bill);
  });

  app.post('/bills/:id/correct', {
    schema: {
      tags: ['billing'], params: idParams,
      body: reviewBody({ totalKwh: qty, sharpKwh: qty, peakKwh: qty, flatKwh: qty, valleyKwh: qty, maxDemandKw: qty, reactiveKvarh: qty }, ['reason', 'totalKwh']),
    },
  }, async (req) => {
    const b = await load((req.params as { id: number }).id);
    const p = await requireBillAccess(ctx.db, req.principal, b, 'billing:review');
    const { reason, ...c } = req.body as Correction & { reason: string };
    const r = await correctBill(ctx, b.id, `${p.kind}:${p.id}`, reason, c);
    return { bill: billToDto(r.bill), creditBillId: r.creditBillId ?? null, rebillId: r.rebillId ?? null };
  });

  app.post('/bills/:id/void', { schema: { tags: ['billing'], params: idParams, body: reviewBody({}, ['reason']) } }, async (req) => {
    const b = await load((req.params as { id: number }).id);
    const p = await requireBillAccess(ctx.db, req.principal, b, 'billing:review');
    const r = await voidBill(ctx, b.id, `${p.kind}:${p.id}`, (req.body as { reason: string }).reason);
    return { bill: billToDto(r.bill), creditBillId: r.creditBillId ?? null };
  });

};
