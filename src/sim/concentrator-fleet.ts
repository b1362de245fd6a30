import { sql } from 'kysely';
import type { Db } from '../platform/index.ts';
import type { MeterCategory } from './meter-model.ts';

export interface SimMeter {
  pn: number;
  meterId: number;
  category: MeterCategory;
  /** The meter's 12-digit DL/T 645 address (what a forwarded relay order names). */
  commAddress?: string;
  /** The concentrator that reads it: an outage of the concentrator leaves it unread. */
  concentratorId?: number;
}

/** A concentrator the simulator plays: its Q/GDW 1376.1 address and the meters behind it. */
export interface SimConcentrator {
  concentratorId: number;
  areaCode: string;
  terminal: number;
  meters: SimMeter[];
}

/**
 * The seeded province's concentrators and their installed meters, with each meter's customer
 * category (the meter model's consumption profile). The simulator stands in for the field, so it
 * reads the master data tables directly, as `seedProvince` writes them.
 */
export async function loadFleet(db: Db, opts: { count?: number } = {}): Promise<SimConcentrator[]> {
  const limit = opts.count && opts.count > 0 ? opts.count : 2_147_483_647;
  const r = await sql<{ id: number; area_code: string; terminal_address: number; meter_id: number | null; pn: number | null; comm_address: string | null; category: MeterCategory | null }>`
    WITH c AS (SELECT id, area_code, terminal_address FROM concentrator ORDER BY id LIMIT ${limit})
    SELECT c.id, c.area_code, c.terminal_address, m.id AS meter_id, m.measuring_point AS pn, m.comm_address, cu.category
    FROM c
    LEFT JOIN meter m ON m.concentrator_id = c.id AND m.state = 'installed' AND m.measuring_point IS NOT NULL
    LEFT JOIN service_point sp ON sp.meter_id = m.id AND sp.removed_on IS NULL
    LEFT JOIN customer cu ON cu.id = sp.customer_id
    ORDER BY c.id, m.measuring_point`.execute(db);
  const fleet: SimConcentrator[] = [];
  let current: SimConcentrator | null = null;
  for (const row of r.rows) {
    if (!current || current.concentratorId !== row.id) {
      current = { concentratorId: row.id, areaCode: row.area_code, terminal: row.terminal_address, meters: [] };
      fleet.push(current);
    }
    if (row.meter_id !== null && row.pn !== null) {
      current.meters.push({
        pn: row.pn, meterId: Number(row.meter_id), category: row.category ?? 'residential', commAddress: row.comm_address ?? undefined, concentratorId: row.id,
      });
    }
  }
  return fleet;
}
