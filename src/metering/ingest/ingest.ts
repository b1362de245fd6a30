import { sql } from 'kysely';
import { addDays, businessDate, type AppContext, type Session } from '../../platform/index.ts';
import { ensureReadingPartitions } from '../store/readings.repository.ts';
import { loadMeteringPolicy } from '../store/policy.repository.ts';
import { CHECKED_COLUMNS, checkedCsvLine, checkStage, objectToStage, type RawReading, type StageRow } from '../domain/raw-reading.ts';

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

/** The one ingest every path uses: validate, quarantine the bad rows, upsert the good ones. */
export async function ingestReadings(ctx: AppContext, source: IngestSource, rows: (RawReading | unknown)[], opts: IngestOptions = {}): Promise<IngestResult> {
  return ingestStaged(ctx, source, rows.map((r, i) => objectToStage(i + 1, r)), opts);
}

/** What the checks saw while the rows streamed into COPY. */
interface StageStats {
  /** Date range of the rows whose shape is good (the partitions they need). */
  lo: string | null;
  hi: string | null;
  /** Some good row carried a single register: meter-days arrive in pieces and must be merged. */
  pieces: boolean;
}

/**
 * Same as ingestReadings, from staging rows (file ingest streams these straight into COPY).
 * Each row's shape (date, register, values) is checked as it streams into a typed temp table; the meter
 * lookup, the quarantine and the upsert are then one set-based statement.
 */
export async function ingestStaged(ctx: AppContext, source: IngestSource, stage: Iterable<StageRow>, opts: IngestOptions = {}): Promise<IngestResult> {
  const at = ctx.clock.now();
  const today = businessDate(at);
  const policy = await loadMeteringPolicy(ctx.db);
  const oldest = addDays(today, -policy.maxReadingAgeDays);
  const origin = opts.origin ?? source;
  return ctx.database.session(async (s) => {
    await sql.raw(`
      DROP TABLE IF EXISTS pg_temp.reading_stage;
      CREATE TEMP TABLE reading_stage (seq integer, comm_ref char(12), meter_ref text, reading_date date, total numeric, sharp numeric,
        peak numeric, flat numeric, valley numeric, drift integer, reason text, raw text)`).execute(s.db);
    try {
      const stats: StageStats = { lo: null, hi: null, pieces: false };
      await s.copyFrom('reading_stage', [...CHECKED_COLUMNS], checked(stage, today, oldest, stats));
      if (stats.lo && stats.hi) {
        // two ingests creating the same month partition at once would collide
        await sql`SELECT pg_advisory_lock(hashtext('meter_reading_partitions'))`.execute(s.db);
        try {
          await ensureReadingPartitions(s.db, stats.lo, stats.hi);
        } finally {
          await sql`SELECT pg_advisory_unlock(hashtext('meter_reading_partitions'))`.execute(s.db);
        }
      }
      try {
        return await store(s, source, origin, at, opts.scopePath, stats.pieces);
      } catch (e) {
        // a meter-day delivered twice in full rows (or by asset number and by address): merge, last row wins
        if (!stats.pieces && (e as { code?: string }).code === '21000') return await store(s, source, origin, at, opts.scopePath, true);
        throw e;
      }
    } finally {
      await sql.raw('DROP TABLE IF EXISTS pg_temp.reading_stage').execute(s.db);
    }
  });
}

function* checked(stage: Iterable<StageRow>, today: string, oldest: string, stats: StageStats): Generator<string> {
  for (const row of stage) {
    const c = checkStage(row, today, oldest);
    const date = c[3];
    if (date !== null) {
      if (stats.lo === null || date < stats.lo) stats.lo = date;
      if (stats.hi === null || date > stats.hi) stats.hi = date;
      if (!stats.pieces && row[8] !== null) stats.pieces = true;
    }
    yield checkedCsvLine(c);
  }
}

/**
 * In one transaction and one statement: give each staged row its meter and final reason (shape reasons rank
 * after unknown_meter and out_of_scope), quarantine the bad rows, upsert the good ones and count by reason.
 * `merge` groups rows of the same meter-day first (last row wins per register); without it a repeated
 * meter-day fails with 21000 and the caller merges.
 */
async function store(s: Session, source: IngestSource, origin: string, at: Date, scopePath: string | undefined, merge: boolean): Promise<IngestResult> {
  const scoped = scopePath !== undefined && scopePath !== '/';
  const scope = scoped
    ? sql`LEFT JOIN LATERAL (SELECT c.org_path FROM service_point sp JOIN customer c ON c.id = sp.customer_id
            WHERE sp.meter_id = m.meter_id AND sp.removed_on IS NULL LIMIT 1) sc ON true`
    : sql``;
  const outOfScope = scoped ? sql`NOT coalesce(sc.org_path LIKE ${scopePath + '%'}, false)` : sql`false`;
  const good = merge
    ? sql`SELECT meter_id, reading_date,
             (array_agg(total ORDER BY seq DESC) FILTER (WHERE total IS NOT NULL))[1],
             (array_agg(sharp ORDER BY seq DESC) FILTER (WHERE sharp IS NOT NULL))[1],
             (array_agg(peak ORDER BY seq DESC) FILTER (WHERE peak IS NOT NULL))[1],
             (array_agg(flat ORDER BY seq DESC) FILTER (WHERE flat IS NOT NULL))[1],
             (array_agg(valley ORDER BY seq DESC) FILTER (WHERE valley IS NOT NULL))[1],
             'actual', ${source}, ${at}::timestamptz,
             (array_agg(drift ORDER BY seq DESC) FILTER (WHERE drift IS NOT NULL))[1]
          FROM r WHERE reason IS NULL
          GROUP BY meter_id, reading_date`
    : sql`SELECT meter_id, reading_date, total, sharp, peak, flat, valley, 'actual', ${source}, ${at}::timestamptz, drift
          FROM r WHERE reason IS NULL`;
  await sql`BEGIN`.execute(s.db);
  try {
    // a big batch hashes the meter table in memory; JIT compilation costs more than it saves here
    await sql.raw(`SET LOCAL work_mem = '256MB'; SET LOCAL jit = off`).execute(s.db);
    const counts = await sql<SummaryRow>`
      WITH r AS MATERIALIZED (
        SELECT st.seq, st.meter_ref, st.reading_date, st.total, st.sharp, st.peak, st.flat, st.valley, st.drift, st.raw, m.meter_id,
               CASE WHEN st.meter_ref IS NULL THEN st.reason
                    WHEN m.meter_id IS NULL THEN 'unknown_meter'
                    WHEN ${outOfScope} THEN 'out_of_scope'
                    ELSE st.reason END AS reason
        FROM reading_stage st
        LEFT JOIN meter ma ON ma.comm_address = st.comm_ref
        -- a 12-digit reference that is no meter's address may still be an asset number
        CROSS JOIN LATERAL (SELECT coalesce(ma.id, CASE WHEN st.meter_ref IS NOT NULL
                              THEN (SELECT mb.id FROM meter mb WHERE mb.asset_no = st.meter_ref) END) AS meter_id) m
        ${scope}
      ),
      quarantined AS (
        INSERT INTO reading_quarantine (source, origin, reason, raw, raw_hash, meter_id, org_path, received_at)
        SELECT ${source}, ${origin}, r.reason, j.raw, md5(j.raw::text), r.meter_id,
               (SELECT cu.org_path FROM service_point sp JOIN customer cu ON cu.id = sp.customer_id
                WHERE sp.meter_id = r.meter_id AND sp.removed_on IS NULL LIMIT 1), ${at}::timestamptz
        FROM r
        -- rows the checks passed carry no raw text when the typed values print back exactly as delivered
        CROSS JOIN LATERAL (SELECT coalesce(r.raw::jsonb, jsonb_strip_nulls(jsonb_build_object(
          'line', r.seq, 'meter', r.meter_ref, 'date', to_char(r.reading_date, 'YYYY-MM-DD'), 'total', r.total::text, 'sharp', r.sharp::text,
          'peak', r.peak::text, 'flat', r.flat::text, 'valley', r.valley::text, 'clock_drift_s', r.drift::text))) AS raw) j
        WHERE r.reason IS NOT NULL
        ON CONFLICT ON CONSTRAINT reading_quarantine_row_key DO NOTHING
      ),
      -- an estimate is replaced whole by an actual reading; a person's re-read or edit is never overwritten
      stored AS (
        INSERT INTO meter_reading (meter_id, reading_date, total_kwh, sharp_kwh, peak_kwh, flat_kwh, valley_kwh, quality, source, received_at, clock_drift_s)
        ${good}
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
                meter_reading.valley_kwh, meter_reading.clock_drift_s))
      )
      -- counts per reason (hashed, no sort of the batch), then the first rejected rows
      SELECT reason, count(*)::int AS n, NULL::int AS row FROM r GROUP BY reason
      UNION ALL
      (SELECT reason, NULL, seq FROM r WHERE reason IS NOT NULL ORDER BY seq LIMIT ${sql.raw(String(MAX_ERRORS))})`.execute(s.db);
    await sql`COMMIT`.execute(s.db);
    return summarise(counts.rows);
  } catch (e) {
    await sql`ROLLBACK`.execute(s.db).catch(() => undefined);
    throw e;
  }
}

interface SummaryRow {
  reason: QuarantineReason | null;
  /** A count per reason, or (n null) one of the first rejected rows. */
  n: number | null;
  row: number | null;
}

function summarise(rows: SummaryRow[]): IngestResult {
  const result: IngestResult = { stored: 0, quarantined: 0, byReason: {}, errors: [] };
  for (const { reason, n, row } of rows) {
    if (n === null) result.errors.push({ row: Number(row), reason: reason! });
    else if (reason === null) result.stored = n;
    else {
      result.quarantined += n;
      result.byReason[reason] = n;
    }
  }
  result.errors.sort((a, b) => a.row - b.row);
  return result;
}
