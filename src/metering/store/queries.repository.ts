import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';

export interface DailyReading {
  date: string;
  totalKwh: string | null;
  sharpKwh: string | null;
  peakKwh: string | null;
  flatKwh: string | null;
  valleyKwh: string | null;
  /** Total minus the previous day's total (exact decimal string); null without both days. */
  usedKwh: string | null;
  quality: string;
  hasOpenVeeFlag: boolean;
}

/** A meter's daily series between two dates (inclusive), from the billing view. */
export async function listMeterReadings(db: Db, meterId: number, from: string, to: string): Promise<DailyReading[]> {
  const r = await sql<{ reading_date: string; total_kwh: string | null; sharp_kwh: string | null; peak_kwh: string | null; flat_kwh: string | null; valley_kwh: string | null; used: string | null; quality: string; has_open_vee_flag: boolean }>`
    SELECT reading_date, total_kwh, sharp_kwh, peak_kwh, flat_kwh, valley_kwh, quality, has_open_vee_flag,
           CASE WHEN reading_date - lag(reading_date) OVER w = 1 THEN total_kwh - lag(total_kwh) OVER w END AS used
    FROM v_meter_reading
    WHERE meter_id = ${meterId} AND reading_date BETWEEN ${from}::date - 1 AND ${to}::date
    WINDOW w AS (ORDER BY reading_date)
    ORDER BY reading_date`.execute(db);
  return r.rows.filter((x) => x.reading_date >= from).map((x) => ({
    date: x.reading_date, totalKwh: x.total_kwh, sharpKwh: x.sharp_kwh, peakKwh: x.peak_kwh, flatKwh: x.flat_kwh, valleyKwh: x.valley_kwh,
    usedKwh: x.used, quality: x.quality, hasOpenVeeFlag: x.has_open_vee_flag,
  }));
}

export interface QuarantineFilter {
  scopePath: string;
  /** Rows whose meter is unknown carry no org: only province-wide callers see them. */
  includeUnscoped: boolean;
  reason?: string;
  source?: string;
  limit: number;
  offset: number;
}

export async function listQuarantine(db: Db, f: QuarantineFilter) {
  const r = await sql<{ id: number; source: string; origin: string; reason: string; raw: unknown; meter_id: number | null; received_at: Date; total: number }>`
    SELECT id, source, origin, reason, raw, meter_id, received_at, count(*) OVER ()::int AS total
    FROM reading_quarantine
    WHERE (org_path LIKE ${f.scopePath + '%'} OR (${f.includeUnscoped} AND org_path IS NULL))
      AND (${f.reason ?? null}::text IS NULL OR reason = ${f.reason ?? null}::text)
      AND (${f.source ?? null}::text IS NULL OR source = ${f.source ?? null}::text)
    ORDER BY id DESC
    LIMIT ${f.limit} OFFSET ${f.offset}`.execute(db);
  return {
    total: r.rows[0]?.total ?? 0,
    items: r.rows.map((x) => ({ id: Number(x.id), source: x.source, origin: x.origin, reason: x.reason, raw: x.raw, meterId: x.meter_id === null ? null : Number(x.meter_id), receivedAt: x.received_at })),
  };
}
