import { sql } from 'kysely';
import { addDays, businessDate, type AppContext, type Session } from '../../platform/index.ts';
import { ensureReadingPartitions } from '../store/readings.repository.ts';
import { loadMeteringPolicy } from '../store/policy.repository.ts';
import { objectToStage, STAGE_COLUMNS, type RawReading, type StageRow } from '../domain/raw-reading.ts';

export type IngestSource = 'file' | 'api' | 'mqtt' | 'frontend';

/** Why a row was refused (reading_quarantine.reason). */
export type QuarantineReason =
  | 'unparseable' | 'missing_meter' | 'unknown_meter' | 'out_of_scope' | 'bad_date' | 'future_date' | 'date_too_old'
  | 'unknown_register' | 'missing_value' | 'negative_value' | 'not_numeric' | 'out_of_range';

export interface IngestResult {
  /** Rows accepted and stored (idempotently: a rerun stores the same values again, nothing doubles). */
  stored: number;
  quarantined: number;
  byReason: Partial<Record<QuarantineReason, number>>;
  /** The first rejected rows (row = position in the batch, or line number in a file). */
  errors: { row: number; reason: QuarantineReason }[];
}

export interface IngestOptions {
  /** Where the batch came from (file name, MQTT topic, API caller): part of the quarantine key. */
  origin?: string;
  /** Only meters of customers under this org path are accepted; others are quarantined as out_of_scope. */
  scopePath?: string;
}

const MAX_ERRORS = 100;
// patterns inlined as literals: the planner folds them to constants instead of per-row parameters
const NUM = sql.raw(String.raw`'^[0-9]{1,12}(\.[0-9]+)?$'`);
const ANY_NUM = sql.raw(String.raw`'^-?[0-9]+(\.[0-9]+)?$'`);
const NEG = sql.raw(String.raw`'^-[0-9]+(\.[0-9]+)?$'`);
const DATE_SHAPE = sql.raw(String.raw`'^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$'`);
const REGISTER_NAMES = `'total', 'total_kwh', 'sharp', 'sharp_kwh', 'peak', 'peak_kwh', 'flat', 'flat_kwh', 'valley', 'valley_kwh'`;

/** The one ingest every path uses: validate set-based, quarantine the bad rows, upsert the good ones. */
export async function ingestReadings(ctx: AppContext, source: IngestSource, rows: (RawReading | unknown)[], opts: IngestOptions = {}): Promise<IngestResult> {
  return ingestStaged(ctx, source, rows.map((r, i) => objectToStage(i + 1, r)), opts);
}

/** Same as ingestReadings, from staging rows (file ingest streams these straight into COPY). */
export async function ingestStaged(ctx: AppContext, source: IngestSource, stage: Iterable<StageRow>, opts: IngestOptions = {}): Promise<IngestResult> {
  const at = ctx.clock.now();
  const today = businessDate(at);
  const policy = await loadMeteringPolicy(ctx.db);
  const oldest = addDays(today, -policy.maxReadingAgeDays);
  const origin = opts.origin ?? source;
  return ctx.database.session(async (s) => {
    await sql.raw(`
      DROP TABLE IF EXISTS pg_temp.reading_stage; DROP TABLE IF EXISTS pg_temp.reading_checked;
      CREATE TEMP TABLE reading_stage (seq integer, meter_ref text, date_text text, total text, sharp text, peak text, flat text,
        valley text, register text, value text, drift text, parse_error text, raw text);
      CREATE TEMP TABLE reading_checked (seq integer, meter_id bigint, reading_date date, total numeric, sharp numeric, peak numeric,
        flat numeric, valley numeric, drift integer, reason text)`).execute(s.db);
    try {
      await s.copyFrom('reading_stage', [...STAGE_COLUMNS], stage);
      // temp tables get no autovacuum statistics; without them the planner picks nested loops over a big file
      await sql`ANALYZE reading_stage`.execute(s.db);
      await classify(s, today, oldest, opts.scopePath);
      await sql`ANALYZE reading_checked`.execute(s.db);
      await storeChecked(s, source, origin, at);
      return await summarise(s);
    } finally {
      await sql.raw('DROP TABLE IF EXISTS pg_temp.reading_stage; DROP TABLE IF EXISTS pg_temp.reading_checked').execute(s.db);
    }
  });
}

/** Give each staged row its meter, typed values and, when it is bad, the first reason why. */
async function classify(s: Session, today: string, oldest: string, scopePath?: string): Promise<void> {
  const scope = scopePath && scopePath !== '/'
    ? sql`LEFT JOIN LATERAL (SELECT c.org_path FROM service_point sp JOIN customer c ON c.id = sp.customer_id
            WHERE sp.meter_id = coalesce(ma.id, mb.id) AND sp.removed_on IS NULL LIMIT 1) sc ON true`
    : sql``;
  const inScope = scopePath && scopePath !== '/' ? sql`coalesce(sc.org_path LIKE ${scopePath + '%'}, false)` : sql`true`;
  await sql`
    INSERT INTO reading_checked (seq, meter_id, reading_date, total, sharp, peak, flat, valley, drift, reason)
    SELECT seq, meter_id,
           CASE WHEN reason IS NULL THEN date_text::date END,
           CASE WHEN reason IS NULL THEN total::numeric END, CASE WHEN reason IS NULL THEN sharp::numeric END,
           CASE WHEN reason IS NULL THEN peak::numeric END, CASE WHEN reason IS NULL THEN flat::numeric END,
           CASE WHEN reason IS NULL THEN valley::numeric END, CASE WHEN reason IS NULL THEN drift::integer END, reason
    FROM (
      SELECT v.*,
        CASE
          WHEN v.parse_error IS NOT NULL THEN v.parse_error
          WHEN v.meter_ref IS NULL THEN 'missing_meter'
          WHEN v.meter_id IS NULL THEN 'unknown_meter'
          WHEN NOT v.in_scope THEN 'out_of_scope'
          WHEN v.date_text IS NULL OR NOT (CASE WHEN v.date_text ~ ${DATE_SHAPE}
                 THEN substr(v.date_text, 9, 2)::int <= extract(day from make_date(substr(v.date_text, 1, 4)::int, substr(v.date_text, 6, 2)::int, 1)
                                                             + interval '1 month - 1 day')
                 ELSE false END) THEN 'bad_date'
          WHEN v.date_text::date > ${today}::date THEN 'future_date'
          WHEN v.date_text::date < ${oldest}::date THEN 'date_too_old'
          WHEN v.reg IS NOT NULL AND v.reg NOT IN (${sql.raw(REGISTER_NAMES)}) THEN 'unknown_register'
          WHEN v.reg IS NOT NULL AND v.value IS NULL THEN 'missing_value'
          WHEN v.total ~ ${NEG} OR v.sharp ~ ${NEG} OR v.peak ~ ${NEG} OR v.flat ~ ${NEG} OR v.valley ~ ${NEG} THEN 'negative_value'
          WHEN v.total !~ ${ANY_NUM} OR v.sharp !~ ${ANY_NUM} OR v.peak !~ ${ANY_NUM} OR v.flat !~ ${ANY_NUM} OR v.valley !~ ${ANY_NUM}
               OR v.drift !~ '^-?[0-9]{1,9}$' THEN 'not_numeric'
          WHEN v.total !~ ${NUM} OR v.sharp !~ ${NUM} OR v.peak !~ ${NUM} OR v.flat !~ ${NUM} OR v.valley !~ ${NUM} THEN 'out_of_range'
          WHEN num_nulls(v.total, v.sharp, v.peak, v.flat, v.valley) = 5 THEN 'missing_value'
        END AS reason
      FROM (
        SELECT st.seq, st.meter_ref, st.date_text, st.parse_error, st.drift, p.reg, st.value,
               coalesce(ma.id, mb.id) AS meter_id, ${inScope} AS in_scope,
               coalesce(st.total, CASE WHEN p.reg IN ('total', 'total_kwh') THEN st.value END) AS total,
               coalesce(st.sharp, CASE WHEN p.reg IN ('sharp', 'sharp_kwh') THEN st.value END) AS sharp,
               coalesce(st.peak, CASE WHEN p.reg IN ('peak', 'peak_kwh') THEN st.value END) AS peak,
               coalesce(st.flat, CASE WHEN p.reg IN ('flat', 'flat_kwh') THEN st.value END) AS flat,
               coalesce(st.valley, CASE WHEN p.reg IN ('valley', 'valley_kwh') THEN st.value END) AS valley
        FROM reading_stage st
        CROSS JOIN LATERAL (SELECT lower(st.register) AS reg) p
        LEFT JOIN meter ma ON st.meter_ref ~ '^[0-9]{12}$' AND ma.comm_address = st.meter_ref::char(12)
        LEFT JOIN meter mb ON mb.asset_no = st.meter_ref
        ${scope}
        OFFSET 0
      ) v
      -- OFFSET 0 keeps the planner from inlining the reason CASE into every output column (evaluated once per row)
      OFFSET 0
    ) c`.execute(s.db);
}

/** Quarantine the bad rows and upsert the good ones (last row wins per meter-day and register) in one transaction. */
async function storeChecked(s: Session, source: IngestSource, origin: string, at: Date): Promise<void> {
  const range = await sql<{ lo: string | null; hi: string | null }>`
    SELECT min(reading_date)::text AS lo, max(reading_date)::text AS hi FROM reading_checked WHERE reason IS NULL`.execute(s.db);
  const { lo, hi } = range.rows[0]!;
  if (lo && hi) {
    // two ingests creating the same month partition at once would collide
    await sql`SELECT pg_advisory_lock(hashtext('meter_reading_partitions'))`.execute(s.db);
    try {
      await ensureReadingPartitions(s.db, lo, hi);
    } finally {
      await sql`SELECT pg_advisory_unlock(hashtext('meter_reading_partitions'))`.execute(s.db);
    }
  }
  await sql`BEGIN`.execute(s.db);
  try {
    await sql`
      INSERT INTO reading_quarantine (source, origin, reason, raw, raw_hash, meter_id, org_path, received_at)
      SELECT ${source}, ${origin}, c.reason, j.raw, md5(j.raw::text), c.meter_id,
             (SELECT cu.org_path FROM service_point sp JOIN customer cu ON cu.id = sp.customer_id
              WHERE sp.meter_id = c.meter_id AND sp.removed_on IS NULL LIMIT 1), ${at}::timestamptz
      FROM reading_checked c
      JOIN reading_stage st ON st.seq = c.seq
      CROSS JOIN LATERAL (SELECT coalesce(st.raw::jsonb, jsonb_strip_nulls(jsonb_build_object(
        'line', st.seq, 'meter', st.meter_ref, 'date', st.date_text, 'total', st.total, 'sharp', st.sharp, 'peak', st.peak,
        'flat', st.flat, 'valley', st.valley, 'register', st.register, 'value', st.value, 'clock_drift_s', st.drift))) AS raw) j
      WHERE c.reason IS NOT NULL
      ON CONFLICT ON CONSTRAINT reading_quarantine_row_key DO NOTHING`.execute(s.db);
    // an estimate is replaced whole by an actual reading; a person's re-read or edit is never overwritten
    await sql`
      INSERT INTO meter_reading (meter_id, reading_date, total_kwh, sharp_kwh, peak_kwh, flat_kwh, valley_kwh, quality, source, received_at, clock_drift_s)
      SELECT meter_id, reading_date,
             (array_agg(total ORDER BY seq DESC) FILTER (WHERE total IS NOT NULL))[1],
             (array_agg(sharp ORDER BY seq DESC) FILTER (WHERE sharp IS NOT NULL))[1],
             (array_agg(peak ORDER BY seq DESC) FILTER (WHERE peak IS NOT NULL))[1],
             (array_agg(flat ORDER BY seq DESC) FILTER (WHERE flat IS NOT NULL))[1],
             (array_agg(valley ORDER BY seq DESC) FILTER (WHERE valley IS NOT NULL))[1],
             'actual', ${source}, ${at}::timestamptz,
             (array_agg(drift ORDER BY seq DESC) FILTER (WHERE drift IS NOT NULL))[1]
      FROM reading_checked WHERE reason IS NULL
      GROUP BY meter_id, reading_date
      ON CONFLICT ON CONSTRAINT meter_reading_pkey DO UPDATE SET
        total_kwh = CASE WHEN meter_reading.quality = 'estimated' THEN EXCLUDED.total_kwh ELSE COALESCE(EXCLUDED.total_kwh, meter_reading.total_kwh) END,
        sharp_kwh = CASE WHEN meter_reading.quality = 'estimated' THEN EXCLUDED.sharp_kwh ELSE COALESCE(EXCLUDED.sharp_kwh, meter_reading.sharp_kwh) END,
        peak_kwh = CASE WHEN meter_reading.quality = 'estimated' THEN EXCLUDED.peak_kwh ELSE COALESCE(EXCLUDED.peak_kwh, meter_reading.peak_kwh) END,
        flat_kwh = CASE WHEN meter_reading.quality = 'estimated' THEN EXCLUDED.flat_kwh ELSE COALESCE(EXCLUDED.flat_kwh, meter_reading.flat_kwh) END,
        valley_kwh = CASE WHEN meter_reading.quality = 'estimated' THEN EXCLUDED.valley_kwh ELSE COALESCE(EXCLUDED.valley_kwh, meter_reading.valley_kwh) END,
        quality = 'actual', source = EXCLUDED.source, received_at = EXCLUDED.received_at,
        clock_drift_s = COALESCE(EXCLUDED.clock_drift_s, meter_reading.clock_drift_s)
      WHERE meter_reading.quality IN ('actual', 'estimated')
        AND (meter_reading.quality = 'estimated'
          OR (COALESCE(EXCLUDED.total_kwh, meter_reading.total_kwh), COALESCE(EXCLUDED.sharp_kwh, meter_reading.sharp_kwh),
              COALESCE(EXCLUDED.peak_kwh, meter_reading.peak_kwh), COALESCE(EXCLUDED.flat_kwh, meter_reading.flat_kwh),
              COALESCE(EXCLUDED.valley_kwh, meter_reading.valley_kwh), COALESCE(EXCLUDED.clock_drift_s, meter_reading.clock_drift_s))
             IS DISTINCT FROM (meter_reading.total_kwh, meter_reading.sharp_kwh, meter_reading.peak_kwh, meter_reading.flat_kwh,
              meter_reading.valley_kwh, meter_reading.clock_drift_s))`.execute(s.db);
    await sql`COMMIT`.execute(s.db);
  } catch (e) {
    await sql`ROLLBACK`.execute(s.db).catch(() => undefined);
    throw e;
  }
}

async function summarise(s: Session): Promise<IngestResult> {
  const counts = await sql<{ reason: QuarantineReason | null; n: number }>`
    SELECT reason, count(*)::int AS n FROM reading_checked GROUP BY reason`.execute(s.db);
  const errors = await sql<{ row: number; reason: QuarantineReason }>`
    SELECT seq AS row, reason FROM reading_checked WHERE reason IS NOT NULL ORDER BY seq LIMIT ${MAX_ERRORS}`.execute(s.db);
  const result: IngestResult = { stored: 0, quarantined: 0, byReason: {}, errors: errors.rows };
  for (const { reason, n } of counts.rows) {
    if (reason === null) result.stored = n;
    else {
      result.quarantined += n;
      result.byReason[reason] = n;
    }
  }
  return result;
}
