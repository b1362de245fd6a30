import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';

/**
 * The ingest's staging tables (temporary, one session) and the statements that store them.
 *
 * reading_stage holds rows that went through the full row checks (typed, with a reason when refused and
 * the raw row when it cannot be rebuilt). reading_fast holds the plain lines of a CSV file as PostgreSQL
 * parsed them (see ingest/csv-scan.ts): a line number, a good shape and a 12-digit meter address, every
 * cell typed.
 */

export const MAX_ERRORS = 100;

/** A count per reason (reason null = stored), or (n null) one of the first rejected rows. */
export interface IngestSummaryRow {
  reason: string | null;
  n: number | null;
  row: number | null;
}

export async function createReadingStage(db: Db): Promise<void> {
  await sql.raw(`
    DROP TABLE IF EXISTS pg_temp.reading_stage;
    CREATE TEMP TABLE reading_stage (seq integer, comm_ref char(12), meter_ref text, reading_date date, total numeric, sharp numeric,
      peak numeric, flat numeric, valley numeric, drift integer, reason text, raw text)`).execute(db);
}

/** reading_fast with the typed columns and one text column per ignored header column. */
export async function createReadingFast(db: Db, extra: string[]): Promise<void> {
  await sql.raw(`
    DROP TABLE IF EXISTS pg_temp.reading_fast;
    CREATE TEMP TABLE reading_fast (seq integer, comm_ref char(12), reading_date date, total numeric,
      sharp numeric, peak numeric, flat numeric, valley numeric, drift integer${extra.map((x) => `, ${x} text`).join('')})`).execute(db);
}

export async function dropReadingStaging(db: Db): Promise<void> {
  await sql.raw('DROP TABLE IF EXISTS pg_temp.reading_stage, pg_temp.reading_fast, pg_temp.reading_direct').execute(db);
}

export interface StoreStagedOptions {
  source: string;
  origin: string;
  at: Date;
  scopePath?: string;
  /** Group rows of one meter-day first (last row wins per register); without it a repeated meter-day fails with 21000. */
  merge: boolean;
  /** reading_fast rows take part too. */
  withFast: boolean;
}

/**
 * One statement over every staged row: give each its meter and final reason (shape reasons rank after
 * unknown_meter and out_of_scope), quarantine the bad rows, upsert the good ones and count by reason.
 * The caller owns the transaction.
 */
export async function storeStaged(db: Db, o: StoreStagedOptions): Promise<IngestSummaryRow[]> {
  const { source, origin, at, scopePath } = o;
  const scoped = scopePath !== undefined && scopePath !== '/';
  const scope = scoped
    ? sql`LEFT JOIN LATERAL (SELECT c.org_path FROM service_point sp JOIN customer c ON c.id = sp.customer_id
            WHERE sp.meter_id = m.meter_id AND sp.removed_on IS NULL LIMIT 1) sc ON true`
    : sql``;
  const outOfScope = scoped ? sql`NOT coalesce(sc.org_path LIKE ${scopePath + '%'}, false)` : sql`false`;
  const staged = o.withFast
    ? sql`(SELECT seq, comm_ref, meter_ref, reading_date, total, sharp, peak, flat, valley, drift, reason, raw FROM reading_stage
           UNION ALL
           SELECT seq, comm_ref, comm_ref::text, reading_date, total, sharp, peak, flat, valley, drift, NULL, NULL FROM reading_fast)`
    : sql`reading_stage`;
  const good = o.merge
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
  const counts = await sql<IngestSummaryRow>`
    WITH r AS MATERIALIZED (
      SELECT st.seq, st.meter_ref, st.reading_date, st.total, st.sharp, st.peak, st.flat, st.valley, st.drift, st.raw, m.meter_id,
             CASE WHEN st.meter_ref IS NULL THEN st.reason
                  WHEN m.meter_id IS NULL THEN 'unknown_meter'
                  WHEN ${outOfScope} THEN 'out_of_scope'
                  ELSE st.reason END AS reason
      FROM ${staged} st
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
      ${upsertClause}
    )
    -- counts per reason (hashed, no sort of the batch), then the first rejected rows
    SELECT reason, count(*)::int AS n, NULL::int AS row FROM r GROUP BY reason
    UNION ALL
    (SELECT reason, NULL, seq FROM r WHERE reason IS NOT NULL ORDER BY seq LIMIT ${sql.raw(String(MAX_ERRORS))})`.execute(db);
  return counts.rows;
}

/**
 * An automatic reading meeting a stored one: fill the registers it brings, replace an estimate, never touch a person's
 * reading: a re-read or edit, nor the register a person read at a meter exchange, move-out or connection (actual, source
 * manual), which bounds the consumption billed on either side of it.
 */
const upsertClause = sql`
  ON CONFLICT ON CONSTRAINT meter_reading_pkey DO UPDATE SET
    total_kwh = CASE WHEN meter_reading.quality = 'estimated' THEN EXCLUDED.total_kwh ELSE COALESCE(EXCLUDED.total_kwh, meter_reading.total_kwh) END,
    sharp_kwh = CASE WHEN meter_reading.quality = 'estimated' THEN EXCLUDED.sharp_kwh ELSE COALESCE(EXCLUDED.sharp_kwh, meter_reading.sharp_kwh) END,
    peak_kwh = CASE WHEN meter_reading.quality = 'estimated' THEN EXCLUDED.peak_kwh ELSE COALESCE(EXCLUDED.peak_kwh, meter_reading.peak_kwh) END,
    flat_kwh = CASE WHEN meter_reading.quality = 'estimated' THEN EXCLUDED.flat_kwh ELSE COALESCE(EXCLUDED.flat_kwh, meter_reading.flat_kwh) END,
    valley_kwh = CASE WHEN meter_reading.quality = 'estimated' THEN EXCLUDED.valley_kwh ELSE COALESCE(EXCLUDED.valley_kwh, meter_reading.valley_kwh) END,
    quality = 'actual', source = EXCLUDED.source, received_at = EXCLUDED.received_at,
    clock_drift_s = COALESCE(EXCLUDED.clock_drift_s, meter_reading.clock_drift_s)
  WHERE meter_reading.quality IN ('actual', 'estimated') AND meter_reading.source <> 'manual'
    AND (meter_reading.quality = 'estimated'
      OR (COALESCE(EXCLUDED.total_kwh, meter_reading.total_kwh), COALESCE(EXCLUDED.sharp_kwh, meter_reading.sharp_kwh),
          COALESCE(EXCLUDED.peak_kwh, meter_reading.peak_kwh), COALESCE(EXCLUDED.flat_kwh, meter_reading.flat_kwh),
          COALESCE(EXCLUDED.valley_kwh, meter_reading.valley_kwh), COALESCE(EXCLUDED.clock_drift_s, meter_reading.clock_drift_s))
         IS DISTINCT FROM (meter_reading.total_kwh, meter_reading.sharp_kwh, meter_reading.peak_kwh, meter_reading.flat_kwh,
          meter_reading.valley_kwh, meter_reading.clock_drift_s))`;

/**
 * The plain lines of a file whose meter-days are all new, which is what a day's export is: one plain insert
 * joined to the meters by address, nothing materialised, no speculative insertion. Lines whose address is no
 * meter's are left for storeFast (unmatchedOnly). A meter-day already stored (a rerun) or twice in the file
 * fails with 23505 and the caller rolls back to storeFast. Returns the rows inserted.
 */
export async function insertFast(db: Db, o: { source: string; at: Date; partition: string | null }): Promise<number> {
  // straight into the month's partition when the lines are all of one month (no routing per row)
  const r = await sql`
    INSERT INTO ${sql.table(o.partition ?? 'meter_reading')} (meter_id, reading_date, total_kwh, sharp_kwh, peak_kwh, flat_kwh, valley_kwh, quality, source, received_at, clock_drift_s)
    SELECT ma.id, f.reading_date, f.total, f.sharp, f.peak, f.flat, f.valley, 'actual', ${o.source}, ${o.at}::timestamptz, f.drift
    FROM reading_fast f JOIN meter ma ON ma.comm_address = f.comm_ref`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

/**
 * The plain lines of a file alone (no other good row can share their meter-days): each row's meter by
 * address and the stored reading of its meter-day in one pass, then a plain insert of the new meter-days
 * (no speculative insertion), the upsert only for meter-days whose stored values would change, and the
 * unknown meters quarantined. A meter-day twice in the batch fails (23505 or 21000): the caller merges.
 */
export async function storeFast(db: Db, o: { source: string; origin: string; at: Date; unmatchedOnly: boolean; partition: string | null }): Promise<IngestSummaryRow[]> {
  const { source, origin, at } = o;
  const rows = o.unmatchedOnly ? sql`ma.id IS NULL` : sql`true`;
  const r = await sql<IngestSummaryRow>`
    WITH j AS MATERIALIZED (
      SELECT f.seq, f.comm_ref, f.reading_date, f.total, f.sharp, f.peak, f.flat, f.valley, f.drift, m.meter_id, x.quality AS x_quality,
             x.quality = 'actual'
               AND (COALESCE(f.total::numeric(16,4), x.total_kwh), COALESCE(f.sharp::numeric(16,4), x.sharp_kwh), COALESCE(f.peak::numeric(16,4), x.peak_kwh),
                    COALESCE(f.flat::numeric(16,4), x.flat_kwh), COALESCE(f.valley::numeric(16,4), x.valley_kwh), COALESCE(f.drift, x.clock_drift_s))
                   IS NOT DISTINCT FROM (x.total_kwh, x.sharp_kwh, x.peak_kwh, x.flat_kwh, x.valley_kwh, x.clock_drift_s) AS x_same
      FROM reading_fast f
      LEFT JOIN meter ma ON ma.comm_address = f.comm_ref
      -- a 12-digit reference that is no meter's address may still be an asset number
      CROSS JOIN LATERAL (SELECT coalesce(ma.id, (SELECT mb.id FROM meter mb WHERE mb.asset_no = f.comm_ref::text)) AS meter_id) m
      LEFT JOIN LATERAL (SELECT x.quality, x.total_kwh, x.sharp_kwh, x.peak_kwh, x.flat_kwh, x.valley_kwh, x.clock_drift_s FROM ${sql.table(o.partition ?? 'meter_reading')} x
                         WHERE x.meter_id = m.meter_id AND x.reading_date = f.reading_date LIMIT 1) x ON true
      WHERE ${rows}
    ),
    inserted AS (
      INSERT INTO meter_reading (meter_id, reading_date, total_kwh, sharp_kwh, peak_kwh, flat_kwh, valley_kwh, quality, source, received_at, clock_drift_s)
      SELECT meter_id, reading_date, total, sharp, peak, flat, valley, 'actual', ${source}, ${at}::timestamptz, drift
      FROM j WHERE meter_id IS NOT NULL AND x_quality IS NULL
    ),
    -- a stored reading equal to the delivered one, or a person's, stays as it is
    updated AS (
      INSERT INTO meter_reading (meter_id, reading_date, total_kwh, sharp_kwh, peak_kwh, flat_kwh, valley_kwh, quality, source, received_at, clock_drift_s)
      SELECT meter_id, reading_date, total, sharp, peak, flat, valley, 'actual', ${source}, ${at}::timestamptz, drift
      FROM j WHERE x_quality IN ('actual', 'estimated') AND NOT x_same
      ${upsertClause}
    ),
    quarantined AS (
      INSERT INTO reading_quarantine (source, origin, reason, raw, raw_hash, meter_id, org_path, received_at)
      SELECT ${source}, ${origin}, 'unknown_meter', q.raw, md5(q.raw::text), NULL, NULL, ${at}::timestamptz
      FROM j CROSS JOIN LATERAL (SELECT jsonb_strip_nulls(jsonb_build_object(
        'line', j.seq, 'meter', j.comm_ref::text, 'date', to_char(j.reading_date, 'YYYY-MM-DD'), 'total', j.total::text, 'sharp', j.sharp::text,
        'peak', j.peak::text, 'flat', j.flat::text, 'valley', j.valley::text, 'clock_drift_s', j.drift::text)) AS raw) q
      WHERE j.meter_id IS NULL
      ON CONFLICT ON CONSTRAINT reading_quarantine_row_key DO NOTHING
    ),
    -- a changed meter-day twice in the batch, one copy equal to the stored reading: the equal copy skipped the
    -- upsert, so it would not win even when it is the last line. Only the changed rows are hashed (few in a rerun).
    repeated AS (
      SELECT 1 FROM j a JOIN j b ON b.meter_id = a.meter_id AND b.reading_date = a.reading_date AND b.seq <> a.seq
      WHERE a.x_quality IN ('actual', 'estimated') AND NOT a.x_same LIMIT 1
    )
    SELECT CASE WHEN meter_id IS NULL THEN 'unknown_meter' END AS reason, count(*)::int AS n, NULL::int AS row FROM j GROUP BY 1
    UNION ALL
    (SELECT 'unknown_meter', NULL, seq FROM j WHERE meter_id IS NULL ORDER BY seq LIMIT ${sql.raw(String(MAX_ERRORS))})
    UNION ALL
    SELECT ${REPEATED}, NULL, NULL FROM repeated`.execute(db);
  // the caller's transaction goes back and merges the batch (last line wins), as for a repeated meter-day the upsert met
  if (r.rows.some((x) => x.reason === REPEATED)) throw Object.assign(new Error('a meter-day twice in the batch'), { code: '21000' });
  return r.rows;
}

const REPEATED = 'repeated_meter_day';

/** reading_direct: the direct lane's binary rows, typed as meter_reading stores them, when they meet stored meter-days. */
export async function createReadingDirect(db: Db): Promise<void> {
  await sql.raw(`
    DROP TABLE IF EXISTS pg_temp.reading_direct;
    CREATE TEMP TABLE reading_direct (LIKE meter_reading INCLUDING DEFAULTS)`).execute(db);
}

/**
 * The rows of reading_direct (known meters, all in `partition`, no meter-day twice) against the stored
 * readings, as storeFast does for plain lines: a new meter-day by plain insert, a changed automatic or
 * estimated one by the upsert, an equal one or a person's left as it is. Returns the rows taken.
 */
export async function storeDirect(db: Db, o: { partition: string; lo: string; hi: string; first: number; last: number }): Promise<number> {
  await sql`ANALYZE reading_direct`.execute(db);
  const r = await sql<{ n: number }>`
    WITH j AS MATERIALIZED (
      SELECT d.meter_id, d.reading_date, d.total_kwh, d.sharp_kwh, d.peak_kwh, d.flat_kwh, d.valley_kwh, d.quality, d.source, d.received_at, d.clock_drift_s,
             x.quality AS x_quality,
             x.quality = 'actual'
               AND (COALESCE(d.total_kwh, x.total_kwh), COALESCE(d.sharp_kwh, x.sharp_kwh), COALESCE(d.peak_kwh, x.peak_kwh),
                    COALESCE(d.flat_kwh, x.flat_kwh), COALESCE(d.valley_kwh, x.valley_kwh), COALESCE(d.clock_drift_s, x.clock_drift_s))
                   IS NOT DISTINCT FROM (x.total_kwh, x.sharp_kwh, x.peak_kwh, x.flat_kwh, x.valley_kwh, x.clock_drift_s) AS x_same
      FROM reading_direct d
      LEFT JOIN (SELECT x.meter_id, x.reading_date, x.quality, x.total_kwh, x.sharp_kwh, x.peak_kwh, x.flat_kwh, x.valley_kwh, x.clock_drift_s
                 FROM ${sql.table(o.partition)} x
                 WHERE x.reading_date BETWEEN ${o.lo}::date AND ${o.hi}::date AND x.meter_id BETWEEN ${o.first} AND ${o.last}) x
        ON x.meter_id = d.meter_id AND x.reading_date = d.reading_date
    ),
    inserted AS (
      INSERT INTO ${sql.table(o.partition)} (meter_id, reading_date, total_kwh, sharp_kwh, peak_kwh, flat_kwh, valley_kwh, quality, source, received_at, clock_drift_s)
      SELECT meter_id, reading_date, total_kwh, sharp_kwh, peak_kwh, flat_kwh, valley_kwh, quality, source, received_at, clock_drift_s
      FROM j WHERE x_quality IS NULL
    ),
    updated AS (
      INSERT INTO meter_reading (meter_id, reading_date, total_kwh, sharp_kwh, peak_kwh, flat_kwh, valley_kwh, quality, source, received_at, clock_drift_s)
      SELECT meter_id, reading_date, total_kwh, sharp_kwh, peak_kwh, flat_kwh, valley_kwh, quality, source, received_at, clock_drift_s
      FROM j WHERE x_quality IN ('actual', 'estimated') AND NOT x_same
      ${upsertClause}
    )
    SELECT count(*)::int AS n FROM j`.execute(db);
  return r.rows[0]!.n;
}
