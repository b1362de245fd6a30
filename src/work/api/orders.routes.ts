import type { FastifyPluginAsync } from 'fastify';
import { AppError, audit, can, forbidden, maskContact, notFound, requirePermission, requireScope, type AppContext, type Principal } from '../../platform/index.ts';
import { findOrgByCode } from '../../org/index.ts';
import { findCustomerByNumber } from '../../customers/index.ts';
import { ORDER_KINDS, orderClock, type AreaType, type ServiceOrderAction, type ServiceOrderKind, type ServiceOrderStatus } from '../domain/order-flow.ts';
import {
  escalateOverdueOrders, findServiceOrder, listServiceOrderEvents, listServiceOrders, receiveServiceOrder, transitionServiceOrder,
  type ServiceOrderRow,
} from '../store/orders.repository.ts';

const actorOf = (p: Principal) => `${p.kind}:${p.id}`;

export function orderDto(o: ServiceOrderRow, at: Date, unmasked: boolean) {
  return {
    id: Number(o.id), externalRef: o.external_ref, kind: o.kind, status: o.status, areaType: o.area_type,
    customerId: o.customer_id === null ? null : Number(o.customer_id), callerName: o.caller_name,
    callerPhone: unmasked ? o.caller_phone : maskContact(o.caller_phone), address: o.address, description: o.description,
    orgPath: o.org_path, gridId: o.grid_id, parentOrderId: o.parent_order_id === null ? null : Number(o.parent_order_id), chaseCount: o.chase_count,
    receivedAt: o.received_at, arrivalDueAt: o.arrival_due_at, arrivedAt: o.arrived_at, dueAt: o.due_at, resolvedAt: o.resolved_at,
    resolution: o.resolution, closedAt: o.closed_at, satisfaction: o.satisfaction,
    escalationLevel: o.escalation_level, escalatedAt: o.escalated_at, escalatedToPath: o.escalated_to_path,
    ...orderClock(o, at),
  };
}

/** The crew or agent handling a dispatched order: order writers, and grid managers and teams in scope. */
function requireHandler(p: Principal | undefined, o: ServiceOrderRow): Principal {
  if (!p) return requirePermission(p, 'orders:write');
  if (!can(p, 'orders:write') && p.role !== 'grid_manager' && p.role !== 'collection_team') throw forbidden(`role ${p.role} does not handle orders`);
  requireScope(p, o.org_path);
  return p;
}

const page = { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, offset: { type: 'integer', minimum: 0, default: 0 } };
const idParam = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } };

/** 95598 work orders: intake, dispatch, the time-limit clock, escalation and closing with satisfaction. */
export const ordersRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.post('/orders', {
    schema: {
      tags: ['orders'],
      body: {
        type: 'object', required: ['externalRef', 'kind', 'callerName', 'callerPhone', 'description'],
        properties: {
          externalRef: { type: 'string', minLength: 1, maxLength: 64 }, kind: { type: 'string', enum: ORDER_KINDS },
          areaType: { type: 'string', enum: ['urban', 'rural', 'remote'] }, customerNumber: { type: 'string' }, orgCode: { type: 'string' },
          callerName: { type: 'string', minLength: 1 }, callerPhone: { type: 'string', minLength: 5 }, address: { type: 'string' },
          description: { type: 'string', minLength: 1 }, parentOrderId: { type: 'integer', minimum: 1 },
        },
      },
    },
  }, async (req, reply) => {
    const p = requirePermission(req.principal, 'orders:write');
    const b = req.body as {
      externalRef: string; kind: ServiceOrderKind; areaType?: AreaType; customerNumber?: string; orgCode?: string;
      callerName: string; callerPhone: string; address?: string; description: string; parentOrderId?: number;
    };
    // dispatch: a chaser goes where its order is; else the customer's grid; else the named org
    let orgPath: string | undefined;
    let gridId: number | undefined;
    let customerId: number | undefined;
    let address = b.address;
    if (b.kind === 'chaser') {
      if (!b.parentOrderId) throw new AppError('ORDER_PARENT_REQUIRED', 'a chaser names the order it chases (parentOrderId)');
      const parent = await findServiceOrder(ctx.db, b.parentOrderId);
      if (!parent) throw notFound('ORDER_UNKNOWN', `no order ${b.parentOrderId}`);
      if (parent.status === 'closed') throw new AppError('ORDER_TRANSITION_REFUSED', `order ${parent.id} is closed; open a new order instead`, 409);
      requireScope(p, parent.org_path);
      ({ org_path: orgPath } = parent);
      gridId = parent.grid_id ?? undefined;
      customerId = parent.customer_id === null ? undefined : Number(parent.customer_id);
      address ??= parent.address;
    } else if (b.parentOrderId) {
      throw new AppError('ORDER_PARENT_UNEXPECTED', 'only a chaser names a parent order');
    } else if (b.customerNumber) {
      const c = await findCustomerByNumber(ctx.db, b.customerNumber);
      if (!c) throw notFound('CUSTOMER_UNKNOWN', `no customer ${b.customerNumber}`);
      orgPath = c.org_path;
      gridId = c.grid_id;
      customerId = Number(c.id);
      address ??= c.address;
    } else if (b.orgCode) {
      const org = await findOrgByCode(ctx.db, b.orgCode);
      if (!org) throw notFound('ORG_UNKNOWN', `no org unit with code ${b.orgCode}`);
      if (org.level === 'hq' || org.level === 'province' || org.level === 'city') throw new AppError('ORDER_DISPATCH_TOO_HIGH', 'dispatch to a county, station or grid');
      orgPath = org.path;
      gridId = org.level === 'grid' ? org.id : undefined;
    } else {
      throw new AppError('ORDER_DISPATCH_UNKNOWN', 'give the customer number or the org code of the place');
    }
    if (!address) throw new AppError('ORDER_ADDRESS_REQUIRED', 'give the address of the place');
    requireScope(p, orgPath!);
    const at = ctx.clock.now();
    const { id, created } = await ctx.db.transaction().execute(async (trx) => {
      const r = await receiveServiceOrder(trx, at, {
        externalRef: b.externalRef, kind: b.kind, areaType: b.areaType, customerId, callerName: b.callerName, callerPhone: b.callerPhone,
        address, description: b.description, orgPath: orgPath!, gridId, parentOrderId: b.kind === 'chaser' ? b.parentOrderId : undefined, createdBy: actorOf(p),
      });
      if (r.created) await audit(trx, ctx.clock, { actor: actorOf(p), action: 'order.receive', subject: `order:${r.id}`, detail: { kind: b.kind, orgPath } });
      return r;
    });
    const order = (await findServiceOrder(ctx.db, id))!;
    // the hotline's order number is unique across the province: a replay answers with the order it names,
    // so it is read like GET /orders/:id (scope, then masking), never another org's order
    if (!created) requireScope(p, order.org_path);
    reply.status(created ? 201 : 200);
    return orderDto(order, at, can(p, 'contacts:unmasked'));
  });

  app.get('/orders', {
    schema: {
      tags: ['orders'],
      querystring: {
        type: 'object',
        properties: {
          kind: { type: 'string', enum: ORDER_KINDS }, status: { type: 'array', items: { type: 'string', enum: ['dispatched', 'arrived', 'resolved', 'closed'] } },
          overdue: { type: 'boolean' }, escalated: { type: 'boolean' }, ...page,
        },
      },
    },
  }, async (req) => {
    const p = requirePermission(req.principal, 'orders:read');
    const q = req.query as { kind?: ServiceOrderKind; status?: ServiceOrderStatus[]; overdue?: boolean; escalated?: boolean; limit: number; offset: number };
    const at = ctx.clock.now();
    const r = await listServiceOrders(ctx.db, { scopePath: p.orgPath, at, ...q });
    const unmasked = can(p, 'contacts:unmasked');
    return { items: r.items.map((o) => orderDto(o, at, unmasked)), total: r.total, limit: q.limit, offset: q.offset };
  });

  app.get('/orders/:id', { schema: { tags: ['orders'], params: idParam } }, async (req) => {
    const p = requirePermission(req.principal, 'orders:read');
    const o = await findServiceOrder(ctx.db, (req.params as { id: number }).id);
    if (!o) throw notFound('ORDER_UNKNOWN', 'no such order');
    requireScope(p, o.org_path);
    const events = await listServiceOrderEvents(ctx.db, o.id);
    return { ...orderDto(o, ctx.clock.now(), can(p, 'contacts:unmasked')), events };
  });

  const move = (action: ServiceOrderAction) => async (req: { principal?: Principal; params: unknown; body: unknown }) => {
    const o = await findServiceOrder(ctx.db, (req.params as { id: number }).id);
    if (!o) throw notFound('ORDER_UNKNOWN', 'no such order');
    const p = action === 'close' ? requirePermission(req.principal, 'orders:write') : requireHandler(req.principal, o);
    requireScope(p, o.org_path);
    const b = (req.body ?? {}) as { note?: string; resolution?: string; satisfaction?: number };
    const at = ctx.clock.now();
    const updated = await ctx.db.transaction().execute(async (trx) => {
      const u = await transitionServiceOrder(trx, at, { orderId: o.id, action, actor: actorOf(p), ...b });
      await audit(trx, ctx.clock, { actor: actorOf(p), action: `order.${action}`, subject: `order:${o.id}`, detail: b });
      return u;
    });
    return orderDto(updated, at, can(p, 'contacts:unmasked'));
  };
  app.post('/orders/:id/arrive', { schema: { tags: ['orders'], params: idParam, body: { type: 'object', properties: { note: { type: 'string' } } } } }, move('arrive'));
  app.post('/orders/:id/resolve', {
    schema: { tags: ['orders'], params: idParam, body: { type: 'object', required: ['resolution'], properties: { resolution: { type: 'string' }, note: { type: 'string' } } } },
  }, move('resolve'));
  app.post('/orders/:id/close', {
    schema: { tags: ['orders'], params: idParam, body: { type: 'object', required: ['satisfaction'], properties: { satisfaction: { type: 'integer' }, note: { type: 'string' } } } },
  }, move('close'));

  /** Run the escalation of overdue orders now (the daily/periodic job does the same). */
  app.post('/orders/escalate', { schema: { tags: ['orders'] } }, async (req) => {
    requirePermission(req.principal, 'admin');
    return { escalated: await escalateOverdueOrders(ctx, ctx.clock.now()) };
  });
};

