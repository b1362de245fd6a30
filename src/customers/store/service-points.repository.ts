import { sql } from 'kysely';
import { AppError, type Db } from '../../platform/index.ts';
import type { CustomerRow } from './customers.repository.ts';

/** A customer created by a completed new connection (业扩报装); number and id are assigned here. */
export interface NewCustomer {
  name: string;
  kind: CustomerRow['kind'];
  category: CustomerRow['category'];
  tariffCode: string;
  billingCycle: string;
  transformerAreaId: number;
  address: string;
  contractCapacityKva: number | null;
  createdOn: string;
}

/** Create customers in the grid of their transformer area; returns [id, number] in input order. */
export async function createCustomers(db: Db, customers: NewCustomer[]): Promise<{ id: number; number: string }[]> {
  if (!customers.length) return [];
  // ids and numbers are not sequences (the seed loads them); a transaction lock keeps max+n unique
  await sql`SELECT pg_advisory_xact_lock(hashtext('customer.id'))`.execute(db);
  const json = JSON.stringify(customers.map((c, i) => ({
    n: i + 1, name: c.name, kind: c.kind, category: c.category, tariff_code: c.tariffCode, billing_cycle: c.billingCycle,
    area_id: c.transformerAreaId, address: c.address, capacity: c.contractCapacityKva, created_on: c.createdOn,
  })));
  const r = await sql<{ id: number; number: string }>`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${json}::jsonb) AS x(n int, name text, kind text, category text, tariff_code text,
             billing_cycle text, area_id int, address text, capacity int, created_on date)),
    base AS (SELECT COALESCE(max(id), 0) AS max_id, COALESCE(max(number::bigint), 2100000000) AS max_no FROM customer)
    INSERT INTO customer (id, number, name, kind, category, tariff_code, billing_cycle, grid_id, transformer_area_id, org_path,
                          address, status, contract_capacity_kva, created_on)
    SELECT base.max_id + i.n, lpad((base.max_no + i.n)::text, 10, '0'), i.name, i.kind, i.category, i.tariff_code, i.billing_cycle,
           ta.grid_id, ta.id, g.path, i.address, 'active', i.capacity, i.created_on
    FROM input i CROSS JOIN base JOIN transformer_area ta ON ta.id = i.area_id JOIN org_unit g ON g.id = ta.grid_id
    ORDER BY i.n
    RETURNING id, number`.execute(db);
  if (r.rows.length !== customers.length) throw new AppError('CUSTOMER_AREA_UNKNOWN', 'a new customer names a transformer area that does not exist', 400);
  return r.rows.map((x) => ({ id: Number(x.id), number: x.number }));
}

/** Install meters for customers from a date (new connection, or the new meter of an exchange). */
export async function openServicePoints(db: Db, points: { customerId: number; meterId: number; installedOn: string }[]): Promise<void> {
  if (!points.length) return;
  await sql`
    INSERT INTO service_point (id, customer_id, meter_id, installed_on)
    SELECT nextval('service_point_id_seq'), customer_id, meter_id, installed_on
    FROM jsonb_to_recordset(${JSON.stringify(points.map((p) => ({ customer_id: p.customerId, meter_id: p.meterId, installed_on: p.installedOn })))}::jsonb)
         AS x(customer_id bigint, meter_id bigint, installed_on date)`.execute(db);
}

/** End the installations of meters (the old meter of an exchange); returns how many were open. */
export async function closeServicePoints(db: Db, points: { customerId: number; meterId: number; removedOn: string }[]): Promise<number> {
  if (!points.length) return 0;
  const r = await sql`
    UPDATE service_point sp SET removed_on = x.removed_on
    FROM jsonb_to_recordset(${JSON.stringify(points.map((p) => ({ customer_id: p.customerId, meter_id: p.meterId, removed_on: p.removedOn })))}::jsonb)
         AS x(customer_id bigint, meter_id bigint, removed_on date)
    WHERE sp.customer_id = x.customer_id AND sp.meter_id = x.meter_id AND sp.removed_on IS NULL`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

/**
 * Close accounts (销户): their occupant moved out and the supply contract ended. A closed account is no
 * longer billed, chased automatically or counted by collection; its open debt stays on its ledger and
 * its portal shows it and takes its payment. Returns the ids closed now (one already closed is left as it is).
 */
export async function closeAccounts(db: Db, customerIds: number[]): Promise<number[]> {
  if (!customerIds.length) return [];
  const r = await sql<{ id: string }>`
    UPDATE customer SET status = 'closed'
    WHERE id = ANY(${customerIds}::bigint[]) AND status <> 'closed'
    RETURNING id::text AS id`.execute(db);
  return r.rows.map((x) => Number(x.id));
}
