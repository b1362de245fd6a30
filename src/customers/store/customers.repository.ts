import { sql } from 'kysely';
import type { Db, Session, CopyValue } from '../../platform/index.ts';

export interface CustomerRow {
  id: number;
  number: string;
  name: string;
  kind: 'residential' | 'non_residential';
  category: 'residential' | 'general' | 'large_industry' | 'agriculture';
  tariff_code: string;
  billing_cycle: string;
  grid_id: number;
  transformer_area_id: number;
  org_path: string;
  address: string;
  status: 'active' | 'suspended' | 'closed';
  contract_capacity_kva: number | null;
  created_on: string;
  portal_password_hash: string | null;
}
export interface ServicePointRow {
  id: number;
  customer_id: number;
  meter_id: number;
  installed_on: string;
  removed_on: string | null;
}
export type ContactKind = 'mobile' | 'landline' | 'email' | 'catv';
export interface ContactRow {
  id: number;
  customer_id: number;
  kind: ContactKind;
  value: string;
  status: 'unverified' | 'verified' | 'invalid';
}
export type NoticeChannel = 'sms' | 'voice' | 'email' | 'catv';
export interface ChannelAgreementRow {
  customer_id: number;
  channel: NoticeChannel;
  contact_id: number;
  priority: number;
  consented_at: Date;
  withdrawn_at: Date | null;
}

const CUSTOMER_COLUMNS = ['id', 'number', 'name', 'kind', 'category', 'tariff_code', 'billing_cycle', 'grid_id', 'transformer_area_id', 'org_path', 'address', 'status', 'contract_capacity_kva', 'created_on', 'portal_password_hash'] as const;
const SERVICE_POINT_COLUMNS = ['id', 'customer_id', 'meter_id', 'installed_on', 'removed_on'] as const;
const CONTACT_COLUMNS = ['id', 'customer_id', 'kind', 'value', 'status'] as const;
const AGREEMENT_COLUMNS = ['customer_id', 'channel', 'contact_id', 'priority', 'consented_at', 'withdrawn_at'] as const;

function* pick<T extends object>(cols: readonly (keyof T)[], rows: Iterable<T>): Generator<CopyValue[]> {
  for (const r of rows) yield cols.map((c) => {
    const v = r[c];
    return v instanceof Date ? v.toISOString() : (v as CopyValue);
  });
}

export async function loadCustomers(
  s: Session,
  data: { customers: Iterable<CustomerRow>; servicePoints: Iterable<ServicePointRow>; contacts: Iterable<ContactRow>; agreements: Iterable<ChannelAgreementRow> },
): Promise<void> {
  await s.copyFrom('customer', [...CUSTOMER_COLUMNS], pick<CustomerRow>(CUSTOMER_COLUMNS, data.customers));
  await s.copyFrom('service_point', [...SERVICE_POINT_COLUMNS], pick<ServicePointRow>(SERVICE_POINT_COLUMNS, data.servicePoints));
  await s.copyFrom('contact', [...CONTACT_COLUMNS], pick<ContactRow>(CONTACT_COLUMNS, data.contacts));
  await s.copyFrom('channel_agreement', [...AGREEMENT_COLUMNS], pick<ChannelAgreementRow>(AGREEMENT_COLUMNS, data.agreements));
  // keep sequences ahead of the loaded ids so later single inserts don't collide
  await sql`SELECT setval('service_point_id_seq', GREATEST((SELECT max(id) FROM service_point), 1)),
                   setval('contact_id_seq', GREATEST((SELECT max(id) FROM contact), 1))`.execute(s.db);
}

export async function countCustomers(db: Db): Promise<number> {
  const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM customer`.execute(db);
  return r.rows[0]!.n;
}

export interface CustomerSearch {
  scopePath: string;
  number?: string;
  name?: string;
  meterAddress?: string;
  limit: number;
  offset: number;
}

/** Customer search inside an org scope: exact number, exact meter address, or name prefix. */
export async function searchCustomers(db: Db, q: CustomerSearch): Promise<{ items: CustomerRow[]; total: number }> {
  let base = db.selectFrom('customer as c').where('c.org_path', 'like', `${q.scopePath}%`);
  if (q.number) base = base.where('c.number', '=', q.number);
  if (q.name) base = base.where('c.name', 'like', `${q.name.replace(/[%_]/g, '')}%`);
  if (q.meterAddress) {
    base = base.where('c.id', 'in', (eb: Db) =>
      eb
        .selectFrom('service_point as sp')
        .innerJoin('meter as m', 'm.id', 'sp.meter_id')
        .select('sp.customer_id')
        .where('m.comm_address', '=', q.meterAddress!)
        .where('sp.removed_on', 'is', null),
    );
  }
  const [items, total] = await Promise.all([
    base.selectAll('c').orderBy('c.number').limit(q.limit).offset(q.offset).execute(),
    base.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items: items as CustomerRow[], total: total.n as number };
}

export async function findCustomerByNumber(db: Db, number: string): Promise<CustomerRow | undefined> {
  return db.selectFrom('customer').selectAll().where('number', '=', number).executeTakeFirst() as Promise<CustomerRow | undefined>;
}

export async function findCustomerById(db: Db, id: number): Promise<CustomerRow | undefined> {
  return db.selectFrom('customer').selectAll().where('id', '=', id).executeTakeFirst() as Promise<CustomerRow | undefined>;
}

export async function listContacts(db: Db, customerId: number): Promise<ContactRow[]> {
  return db.selectFrom('contact').selectAll().where('customer_id', '=', customerId).orderBy('id').execute() as Promise<ContactRow[]>;
}

export async function listAgreements(db: Db, customerId: number): Promise<ChannelAgreementRow[]> {
  // the agreements in force in priority order, then the withdrawn ones (their old priorities no longer count)
  return db.selectFrom('channel_agreement').selectAll().where('customer_id', '=', customerId)
    .orderBy(sql`withdrawn_at IS NOT NULL`).orderBy('priority').orderBy('channel').execute() as Promise<ChannelAgreementRow[]>;
}

/** The customer's installed meters (active service points). */
export async function listServicePoints(db: Db, customerId: number) {
  return db
    .selectFrom('service_point as sp')
    .innerJoin('meter as m', 'm.id', 'sp.meter_id')
    .select(['sp.id', 'sp.meter_id', 'sp.installed_on', 'sp.removed_on', 'm.asset_no', 'm.comm_address', 'm.meter_type', 'm.cost_control', 'm.state'])
    .where('sp.customer_id', '=', customerId)
    .orderBy('sp.installed_on')
    .execute();
}
