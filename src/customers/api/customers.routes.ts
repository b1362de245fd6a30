import type { FastifyPluginAsync } from 'fastify';
import {
  AppError, audit, can, forbidden, hashPassword, issueToken, maskContact, notFound, requirePermission, requireScope, verifyPassword,
  type AppContext, type Db, type Permission, type Principal,
} from '../../platform/index.ts';
import {
  findCustomerByNumber, listAgreements, listContacts, listServicePoints, searchCustomers,
  type CustomerRow, type NoticeChannel,
} from '../store/customers.repository.ts';
import { replaceAgreements, upsertContact } from '../store/agreements.repository.ts';
import { listCustomerChanges } from '../store/changes.repository.ts';
import { replacePortalCredential } from '../store/portal-credentials.repository.ts';
import { CHANNEL_CONTACT_KINDS, validateContact } from '../domain/contacts.ts';
import { generatePortalPassword } from '../domain/portal-password.ts';

/** What a customer may do on its own account through the portal: read it, pay, and agree its notice channels. */
const PORTAL: readonly Permission[] = ['customers:read', 'billing:read', 'payments:read', 'dunning:read', 'readings:read', 'payments:post', 'customers:write'];
/**
 * A closed account (moved out) keeps its portal for what is left to settle: its bills, statement, notices and
 * readings, and paying the final debt. It agrees no channels any more: the notices chasing that debt go where
 * staff last set them (staff still correct a closed account's contacts), and the holder cannot withdraw them.
 */
const CLOSED_PORTAL: readonly Permission[] = ['customers:read', 'billing:read', 'payments:read', 'dunning:read', 'readings:read', 'payments:post'];

/** Staff see customers in their org scope; a customer sees only itself, and does on it only what the portal offers. */
export function requireCustomerAccess(p: Principal | undefined, c: CustomerRow, permission: Permission = 'customers:read'): Principal {
  if (p?.kind === 'customer') {
    if (p.id !== Number(c.id)) throw forbidden('a customer may only see its own account');
    if (!PORTAL.includes(permission)) throw forbidden(`the customer portal does not offer ${permission}`);
    if (c.status === 'closed' && !CLOSED_PORTAL.includes(permission)) {
      throw new AppError('CUSTOMER_CLOSED', `account ${c.number} is closed: its portal shows the bills and statement and takes payments only`, 409);
    }
    return p;
  }
  const staff = requirePermission(p, permission);
  requireScope(staff, c.org_path);
  return staff;
}

export async function loadCustomerFor(ctx: AppContext, p: Principal | undefined, number: string, permission?: Permission) {
  if (!/^\d{10}$/.test(number)) throw new AppError('CUSTOMER_NUMBER_INVALID', `a customer number has 10 digits: ${number}`);
  const c = await findCustomerByNumber(ctx.db, number);
  if (!c) throw notFound('CUSTOMER_UNKNOWN', `no customer ${number}`);
  requireCustomerAccess(p, c, permission);
  return c;
}

type CustomerChangeRow = Awaited<ReturnType<typeof listCustomerChanges>>[number];

/**
 * The occupancy a portal user holds of its account. A move-in keeps the account (its number, bills, ledger and
 * notices) and hands it to the new occupant under a new name, so the portal cuts what it shows at the move-in:
 * `since` is the effective date of the latest move-in applied (null: no move-in, the account's whole life), and
 * `formerContactIds` the contacts the occupants before it gave (unless agreed again since), shown masked.
 */
export interface Occupancy {
  since: string | null;
  formerContactIds: Set<number>;
}

export async function occupancyOf(db: Db, customerId: number): Promise<Occupancy> {
  const [changes, agreements] = await Promise.all([listCustomerChanges(db, customerId), listAgreements(db, customerId)]);
  return occupancyFrom(changes, agreements);
}

function occupancyFrom(changes: CustomerChangeRow[], agreements: { contact_id: number; withdrawn_at: Date | null }[]): Occupancy {
  const applied = changes.filter((x) => x.change_type === 'move_in' && x.applied_at !== null);
  const former = new Set(applied.flatMap((x) => x.payload.formerContactIds ?? []).map(Number));
  for (const a of agreements) if (a.withdrawn_at === null) former.delete(Number(a.contact_id));
  return { since: applied.at(-1)?.effective_on ?? null, formerContactIds: former };
}

/**
 * The changes a customer sees of its account: those of its own occupancy, from the move-in that began it on
 * (without the name it replaced or the former occupants' contacts), and of a move-in still to come only its
 * date: the next occupant's name and contact are theirs, not the leaving occupant's to read.
 */
function changesOfTenure(changes: CustomerChangeRow[]): CustomerChangeRow[] {
  const began = changes.findLastIndex((x) => x.change_type === 'move_in' && x.applied_at !== null);
  return changes.slice(Math.max(began, 0)).map((x) => {
    if (x.change_type !== 'move_in') return x;
    if (x.applied_at === null) return { ...x, payload: {} };
    const own = { ...x.payload };
    delete own.oldName;
    delete own.formerContactIds;
    return { ...x, payload: own };
  });
}

export function customerToDto(c: CustomerRow) {
  return {
    id: Number(c.id), number: c.number, name: c.name, kind: c.kind, category: c.category, tariffCode: c.tariff_code,
    billingCycle: c.billing_cycle, gridId: c.grid_id, transformerAreaId: c.transformer_area_id, orgPath: c.org_path,
    address: c.address, status: c.status, contractCapacityKva: c.contract_capacity_kva, createdOn: c.created_on,
  };
}

export const customersRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.post('/auth/customer-login', {
    config: { public: true },
    schema: { tags: ['auth'], body: { type: 'object', required: ['number', 'password'], properties: { number: { type: 'string' }, password: { type: 'string' } } } },
  }, async (req) => {
    const { number, password } = req.body as { number: string; password: string };
    const c = /^\d{10}$/.test(number) ? await findCustomerByNumber(ctx.db, number) : undefined;
    if (!c || !verifyPassword(password, c.portal_password_hash)) throw new AppError('AUTH_BAD_CREDENTIALS', 'unknown customer number or wrong password', 401);
    const principal: Principal = { kind: 'customer', id: Number(c.id), name: c.name, role: 'customer', orgId: c.grid_id, orgPath: c.org_path };
    return { token: await issueToken(ctx.db, principal), user: { ...principal, number: c.number } };
  });

  /**
   * Issue a customer a new portal password (e.g. the new occupant after a move-in). It is answered once
   * and stored only hashed; every earlier portal sign-in of the account ends.
   */
  app.post('/customers/:number/portal-password', {
    schema: { tags: ['customers'], summary: 'Issue a new portal password; the answer is the only time it is shown' },
  }, async (req, reply) => {
    const { number } = req.params as { number: string };
    const staff = requirePermission(req.principal, 'customers:write');
    if (staff.kind !== 'staff') throw forbidden('only staff issue portal passwords');
    const c = await loadCustomerFor(ctx, staff, number, 'customers:write');
    if (c.status === 'closed') throw new AppError('CUSTOMER_CLOSED', `customer ${c.number} is closed: its portal stays closed`, 409);
    const password = generatePortalPassword();
    const issuedAt = ctx.clock.now();
    await ctx.db.transaction().execute(async (trx) => {
      await replacePortalCredential(trx, [Number(c.id)], hashPassword(password));
      await audit(trx, ctx.clock, { actor: `${staff.kind}:${staff.id}`, action: 'customer.portal_password.issue', subject: `customer:${c.number}` });
    });
    void reply.header('cache-control', 'no-store');
    return { number: c.number, password, issuedAt };
  });

  app.get('/customers', {
    schema: {
      tags: ['customers'],
      querystring: {
        type: 'object',
        properties: {
          number: { type: 'string' }, name: { type: 'string' }, meterAddress: { type: 'string' },
          limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, offset: { type: 'integer', minimum: 0, default: 0 },
        },
      },
    },
  }, async (req) => {
    const p = requirePermission(req.principal, 'customers:read');
    const q = req.query as { number?: string; name?: string; meterAddress?: string; limit: number; offset: number };
    const { items, total } = await searchCustomers(ctx.db, { scopePath: p.orgPath, ...q });
    return { items: items.map(customerToDto), total, limit: q.limit, offset: q.offset };
  });

  app.get('/customers/:number', { schema: { tags: ['customers'] } }, async (req) => {
    const { number } = req.params as { number: string };
    const c = await loadCustomerFor(ctx, req.principal, number);
    const p = req.principal!;
    const unmasked = p.kind === 'customer' || can(p, 'contacts:unmasked');
    const [contacts, agreements, meters, changes] = await Promise.all([listContacts(ctx.db, c.id), listAgreements(ctx.db, c.id), listServicePoints(ctx.db, c.id), listCustomerChanges(ctx.db, c.id)]);
    // a customer sees its own contacts in full, not those of the occupants before a move-in (unless it agreed to one again)
    const former = p.kind === 'customer' ? occupancyFrom(changes, agreements).formerContactIds : new Set<number>();
    return {
      ...customerToDto(c),
      contacts: contacts.map((k) => ({ id: Number(k.id), kind: k.kind, value: unmasked && !former.has(Number(k.id)) ? k.value : maskContact(k.value), status: k.status })),
      channels: agreements.map((a) => ({ channel: a.channel, contactId: Number(a.contact_id), priority: a.priority, consentedAt: a.consented_at, withdrawnAt: a.withdrawn_at })),
      meters,
      changes: (p.kind === 'customer' ? changesOfTenure(changes) : changes).map((x) => ({
        id: Number(x.id), type: x.change_type, effectiveOn: x.effective_on, ...x.payload,
        // a move-in's contact is the new occupant's phone or email: masked like the other contacts
        ...(x.payload.contact && !unmasked ? { contact: { ...x.payload.contact, value: maskContact(x.payload.contact.value) } } : {}),
        taskId: x.task_id === null ? null : Number(x.task_id), recordedBy: x.recorded_by, recordedAt: x.recorded_at, appliedAt: x.applied_at,
      })),
    };
  });

  /** Give, withdraw and order notification channels: the list is the new consent, in priority order. */
  app.put('/customers/:number/channels', {
    schema: {
      tags: ['customers'],
      body: {
        type: 'object', required: ['channels'],
        properties: {
          channels: {
            type: 'array', maxItems: 4,
            items: { type: 'object', required: ['channel', 'value'], properties: { channel: { type: 'string', enum: ['sms', 'voice', 'email', 'catv'] }, value: { type: 'string', minLength: 1, maxLength: 254 }, kind: { type: 'string', enum: ['mobile', 'landline', 'email', 'catv'] } } },
          },
        },
      },
    },
  }, async (req) => {
    const { number } = req.params as { number: string };
    const c = await loadCustomerFor(ctx, req.principal, number, 'customers:write');
    const body = req.body as { channels: { channel: NoticeChannel; value: string; kind?: 'mobile' | 'landline' | 'email' | 'catv' }[] };
    if (new Set(body.channels.map((x) => x.channel)).size !== body.channels.length) throw new AppError('CUSTOMER_CHANNEL_DUPLICATE', 'each channel may appear once');
    // validate everything before writing anything
    const checked = body.channels.map((x) => {
      const kind = x.kind ?? CHANNEL_CONTACT_KINDS[x.channel][0]!;
      if (!CHANNEL_CONTACT_KINDS[x.channel].includes(kind)) throw new AppError('CUSTOMER_CHANNEL_CONTACT_MISMATCH', `${x.channel} cannot use a ${kind} contact`);
      return { channel: x.channel, kind, value: validateContact(kind, x.value) };
    });
    await ctx.db.transaction().execute(async (trx) => {
      const resolved = [];
      for (const x of checked) resolved.push({ channel: x.channel, contactId: await upsertContact(trx, c.id, x.kind, x.value) });
      await replaceAgreements(trx, c.id, ctx.clock.now(), resolved);
      await audit(trx, ctx.clock, { actor: `${req.principal!.kind}:${req.principal!.id}`, action: 'customer.channels.replace', subject: `customer:${c.number}`, detail: { channels: checked.map((x) => x.channel) } });
    });
    const agreements = await listAgreements(ctx.db, c.id);
    return { channels: agreements.map((a) => ({ channel: a.channel, contactId: Number(a.contact_id), priority: a.priority, consentedAt: a.consented_at, withdrawnAt: a.withdrawn_at })) };
  });
};
