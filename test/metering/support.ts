import { sql } from 'kysely';
import type { AppContext } from '../../src/platform/index.ts';

export interface MeterRef {
  id: number;
  commAddress: string;
  assetNo: string;
  customerId: number;
  customerNumber: string;
  areaId: number;
  teamId: number;
  orgPath: string;
}

/** The first n installed meters with their customer, area and contracting team (meters joined through service points). */
export async function meterRefs(ctx: AppContext, n: number, where = sql`true`): Promise<MeterRef[]> {
  const r = await sql<MeterRef>`
    SELECT me.id::int AS "id", me.comm_address AS "commAddress", me.asset_no AS "assetNo", c.id::int AS "customerId", c.number AS "customerNumber",
           c.transformer_area_id AS "areaId", ta.team_id AS "teamId", c.org_path AS "orgPath"
    FROM meter me JOIN service_point sp ON sp.meter_id = me.id AND sp.removed_on IS NULL
    JOIN customer c ON c.id = sp.customer_id JOIN transformer_area ta ON ta.id = c.transformer_area_id
    WHERE ${where} ORDER BY me.id LIMIT ${n}`.execute(ctx.db);
  return r.rows;
}

export async function readingOf(ctx: AppContext, meterId: number, date: string) {
  const r = await sql<Record<string, unknown>>`
    SELECT total_kwh, sharp_kwh, peak_kwh, flat_kwh, valley_kwh, quality, source FROM meter_reading WHERE meter_id = ${meterId} AND reading_date = ${date}::date`.execute(ctx.db);
  return r.rows[0];
}

/** Daily readings for meters over a date range, as set-based upsert rows: total grows by `daily` kWh a day. */
export function series(meterIds: number[], from: string, days: number, daily = 10, start = 1000) {
  const rows = [];
  for (const id of meterIds) {
    for (let k = 0; k < days; k++) {
      const d = new Date(`${from}T00:00:00Z`);
      d.setUTCDate(d.getUTCDate() + k);
      rows.push({ meterId: id, readingDate: d.toISOString().slice(0, 10), totalKwh: String(start + k * daily), quality: 'actual' as const, source: 'frontend' as const });
    }
  }
  return rows;
}
