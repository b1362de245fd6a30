import { sql } from 'kysely';
import { AppError, notFound, type Db } from '../../platform/index.ts';

export interface RegisterValues {
  total?: string | null;
  sharp?: string | null;
  peak?: string | null;
  flat?: string | null;
  valley?: string | null;
}

/** A meter with the customer it serves (for scope checks): looked up by DL/T 645 address or asset number. */
export interface MeterScope {
  meterId: number;
  commAddress: string;
  customerId: number | null;
  customerNumber: string | null;
  orgPath: string | null;
}

/** The day the customer's service point on the meter was installed: its readings before that are a previous occupant's. */
export async function customerMeterSince(db: Db, meterId: number, customerId: number): Promise<string | undefined> {
  const r = await sql<{ installed_on: string }>`
    SELECT to_char(installed_on, 'YYYY-MM-DD') AS installed_on FROM service_point
    WHERE meter_id = ${meterId} AND customer_id = ${customerId} AND removed_on IS NULL`.execute(db);
  return r.rows[0]?.installed_on;
}

export async function findMeterScope(db: Db, ref: string): Promise<MeterScope> {
  const r = await sql<{ id: number; comm_address: string; customer_id: number | null; number: string | null; org_path: string | null }>`
    SELECT me.id, me.comm_address, c.id AS customer_id, c.number, c.org_path
    FROM meter me
    LEFT JOIN service_point sp ON sp.meter_id = me.id AND sp.removed_on IS NULL
    LEFT JOIN customer c ON c.id = sp.customer_id
    WHERE (${/^\d{12}$/.test(ref)} AND me.comm_address = ${ref.padEnd(12).slice(0, 12)}) OR me.asset_no = ${ref}
    LIMIT 1`.execute(db);
  const m = r.rows[0];
  if (!m) throw notFound('METER_UNKNOWN', `no meter with address or asset number ${ref}`);
  return { meterId: Number(m.id), commAddress: m.comm_address, customerId: m.customer_id === null ? null : Number(m.customer_id), customerNumber: m.number, orgPath: m.org_path };
}

const DECIMAL = /^\d{1,12}(\.\d{1,4})?$/;

/** Register values a person typed: non-negative decimals with at most 4 places, at least one given. */
export function checkRegisterValues(v: RegisterValues): RegisterValues {
  const out: RegisterValues = {};
  for (const k of ['total', 'sharp', 'peak', 'flat', 'valley'] as const) {
    const x = v[k];
    if (x === undefined || x === null || x === '') continue;
    const s = String(x).trim();
    if (!DECIMAL.test(s)) throw new AppError('READING_VALUE_INVALID', `${k}: ${s} is not a non-negative kWh value with at most 4 decimals`);
    out[k] = s;
  }
  if (!Object.keys(out).length) throw new AppError('READING_VALUE_MISSING', 'give at least one register value');
  return out;
}

/**
 * A person corrects a stored reading: the row as it was goes to reading_edit with who and why, the
 * reading becomes quality 'edited', and the day's open VEE flags are resolved by the edit.
 * Run inside the caller's transaction.
 */
export async function editReading(db: Db, at: Date, e: { meterId: number; date: string; values: RegisterValues; reason: string; editedBy: string }) {
  const before = await sql<{ row: Record<string, unknown> }>`
    SELECT jsonb_build_object('total', total_kwh, 'sharp', sharp_kwh, 'peak', peak_kwh, 'flat', flat_kwh, 'valley', valley_kwh,
                              'quality', quality, 'source', source, 'receivedAt', received_at) AS row
    FROM meter_reading WHERE meter_id = ${e.meterId} AND reading_date = ${e.date}::date FOR UPDATE`.execute(db);
  if (!before.rows[0]) throw notFound('READING_NOT_FOUND', `no reading for meter ${e.meterId} on ${e.date}; enter an on-site reading instead`);
  const v = e.values;
  const after = await sql<{ row: Record<string, unknown> }>`
    UPDATE meter_reading SET
      total_kwh = COALESCE(${v.total ?? null}::numeric, total_kwh), sharp_kwh = COALESCE(${v.sharp ?? null}::numeric, sharp_kwh),
      peak_kwh = COALESCE(${v.peak ?? null}::numeric, peak_kwh), flat_kwh = COALESCE(${v.flat ?? null}::numeric, flat_kwh),
      valley_kwh = COALESCE(${v.valley ?? null}::numeric, valley_kwh), quality = 'edited', source = 'manual', received_at = ${at}::timestamptz
    WHERE meter_id = ${e.meterId} AND reading_date = ${e.date}::date
    RETURNING jsonb_build_object('total', total_kwh, 'sharp', sharp_kwh, 'peak', peak_kwh, 'flat', flat_kwh, 'valley', valley_kwh,
                                 'quality', quality, 'source', source) AS row`.execute(db);
  await sql`
    INSERT INTO reading_edit (meter_id, reading_date, original, edited, reason, edited_by, edited_at)
    VALUES (${e.meterId}, ${e.date}::date, ${JSON.stringify(before.rows[0].row)}::jsonb, ${JSON.stringify(after.rows[0]!.row)}::jsonb,
            ${e.reason}, ${e.editedBy}, ${at}::timestamptz)`.execute(db);
  const resolved = await sql`
    UPDATE vee_flag SET resolved_at = ${at}::timestamptz, resolved_by = ${e.editedBy}, resolution = ${'edited: ' + e.reason}
    WHERE meter_id = ${e.meterId} AND reading_date = ${e.date}::date AND resolved_at IS NULL`.execute(db);
  return { original: before.rows[0].row, edited: after.rows[0]!.row, flagsResolved: Number(resolved.numAffectedRows ?? 0) };
}

export async function listReadingEdits(db: Db, meterId: number, date?: string) {
  const r = await sql<{ reading_date: string; original: unknown; edited: unknown; reason: string; edited_by: string; edited_at: Date }>`
    SELECT reading_date, original, edited, reason, edited_by, edited_at FROM reading_edit
    WHERE meter_id = ${meterId} AND (${date ?? null}::date IS NULL OR reading_date = ${date ?? null}::date)
    ORDER BY id`.execute(db);
  return r.rows.map((x) => ({ readingDate: x.reading_date, original: x.original, edited: x.edited, reason: x.reason, editedBy: x.edited_by, editedAt: x.edited_at }));
}

interface ReadingCorrectionRow {
  reading_date: string;
  total_kwh: string | null;
  sharp_kwh: string | null;
  peak_kwh: string | null;
  flat_kwh: string | null;
  valley_kwh: string | null;
  quality: string;
  source: string;
  received_at: Date;
  replaced_by_source: string;
  replaced_by_quality: string;
  replaced_at: Date;
}

/** A stored reading a later one replaced (automatic correction, estimate replaced, re-read): what it was and what came instead. */
export interface ReadingCorrection {
  readingDate: string;
  previous: { total: string | null; sharp: string | null; peak: string | null; flat: string | null; valley: string | null; quality: string; source: string; receivedAt: Date };
  replacedBy: { source: string; quality: string };
  replacedAt: Date;
}

const readingCorrectionRowToReadingCorrection = (x: ReadingCorrectionRow): ReadingCorrection => ({
  readingDate: x.reading_date,
  previous: { total: x.total_kwh, sharp: x.sharp_kwh, peak: x.peak_kwh, flat: x.flat_kwh, valley: x.valley_kwh, quality: x.quality, source: x.source, receivedAt: x.received_at },
  replacedBy: { source: x.replaced_by_source, quality: x.replaced_by_quality },
  replacedAt: x.replaced_at,
});

/** The values a meter's readings held before a later reading replaced them (written by the meter_reading_replaced trigger), oldest first. */
export async function listReadingCorrections(db: Db, meterId: number, date?: string): Promise<ReadingCorrection[]> {
  const r = await sql<ReadingCorrectionRow>`
    SELECT reading_date, total_kwh, sharp_kwh, peak_kwh, flat_kwh, valley_kwh, quality, source, received_at, replaced_by_source, replaced_by_quality, replaced_at
    FROM reading_correction
    WHERE meter_id = ${meterId} AND (${date ?? null}::date IS NULL OR reading_date = ${date ?? null}::date)
    ORDER BY reading_date, id`.execute(db);
  return r.rows.map(readingCorrectionRowToReadingCorrection);
}
