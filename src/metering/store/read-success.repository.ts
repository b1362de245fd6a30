import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../../platform/index.ts';
import { validReading } from './readings.repository.ts';

export type ScopeKind = 'area' | 'concentrator' | 'team' | 'org';

const VALID = validReading('r');

/**
 * The meters in scope on a day (sp service point, c its customer): installed by the day and still there at its end
 * (a meter exchanged on the day counts for its successor), of an account not closed. Dated by the service point,
 * so a past day rolled up again counts the meters it had.
 */
const inScope = (day: RawBuilder<unknown>) =>
  sql`sp.installed_on <= ${day} AND (sp.removed_on IS NULL OR sp.removed_on > ${day}) AND c.status <> 'closed'`;

/**
 * Read success (采集成功率) for one day, as the KPI defines it (meters with a valid daily frozen reading
 * for the day / meters in scope), in one statement: meters in scope that day (a service point installed
 * by the day and not removed by it, an account not closed) and those with a valid reading, counted once
 * per (area, concentrator) and rolled up from those few thousand rows to areas, concentrators, teams,
 * grids and every org unit above the grids. Rerunning replaces the day's numbers.
 */
export async function rollupReadSuccess(db: Db, day: string, at: Date): Promise<number> {
  const run = async (tx: Db) => {
    // Service points, customers, meters and the day's readings all come in key order from their indexes: merge
    // joins (one sort of the service points by meter) cost less than half of hashing three million-row tables,
    // whose random probes miss the CPU caches.
    await sql.raw(`SET LOCAL enable_hashjoin = off; SET LOCAL work_mem = '256MB'`).execute(tx);
    const r = await sql`
      WITH ac AS MATERIALIZED (
        SELECT c.transformer_area_id AS area_id, me.concentrator_id, count(*)::int AS meters, count(r.meter_id)::int AS read
        FROM service_point sp
        JOIN customer c ON c.id = sp.customer_id
        JOIN meter me ON me.id = sp.meter_id
        LEFT JOIN meter_reading r ON r.meter_id = sp.meter_id AND r.reading_date = ${day}::date AND ${VALID}
        WHERE ${inScope(sql`${day}::date`)}
        GROUP BY 1, 2
      ),
      a AS MATERIALIZED (SELECT area_id, sum(meters)::int AS meters, sum(read)::int AS read FROM ac GROUP BY area_id),
      g AS MATERIALIZED (
        SELECT ta.grid_id, sum(a.meters)::int AS meters, sum(a.read)::int AS read FROM a JOIN transformer_area ta ON ta.id = a.area_id GROUP BY ta.grid_id
      ),
      scopes AS (
        SELECT 'area' AS kind, area_id::bigint AS id, meters, read FROM a
        UNION ALL
        SELECT 'concentrator', concentrator_id, sum(meters)::int, sum(read)::int FROM ac WHERE concentrator_id IS NOT NULL GROUP BY concentrator_id
        UNION ALL
        SELECT 'team', ta.team_id, sum(a.meters)::int, sum(a.read)::int FROM a JOIN transformer_area ta ON ta.id = a.area_id GROUP BY ta.team_id
        UNION ALL
        SELECT 'org', o.id, sum(g.meters)::int, sum(g.read)::int
        FROM g JOIN org_unit gu ON gu.id = g.grid_id
        JOIN org_unit o ON gu.path LIKE o.path || '%'
        GROUP BY o.id
      )
      INSERT INTO read_success_daily (day, scope_kind, scope_id, meters, read, computed_at)
      SELECT ${day}::date, kind, id, meters, read, ${at}::timestamptz FROM scopes
      ON CONFLICT ON CONSTRAINT read_success_daily_pkey DO UPDATE SET meters = EXCLUDED.meters, read = EXCLUDED.read, computed_at = EXCLUDED.computed_at`.execute(tx);
    return Number(r.numAffectedRows ?? 0);
  };
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}

export interface ReadSuccess {
  kind: ScopeKind;
  id: number;
  code: string;
  name: string;
  level?: string;
  meters: number;
  read: number;
  /** read / meters, 0..1 (4 decimals); null when nothing was expected or the day is not rolled up. */
  rate: number | null;
}

interface ScopeRateRow {
  id: number;
  code: string;
  name: string;
  level?: string;
  meters: number | null;
  read: number | null;
}

const toRate = (kind: ScopeKind, r: ScopeRateRow): ReadSuccess => ({
  kind, id: Number(r.id), code: r.code, name: r.name, ...(r.level ? { level: r.level } : {}),
  meters: r.meters ?? 0, read: r.read ?? 0, rate: r.meters ? Math.round((r.read! / r.meters) * 10_000) / 10_000 : null,
});

/** An org unit's own rate, its children's (child units, or the transformer areas of a grid) and its teams'. */
export async function readSuccessBreakdown(db: Db, day: string, org: { id: number; code: string; name: string; level: string }) {
  const self = await sql<ScopeRateRow>`
    SELECT o.id, o.code, o.name, o.level, rs.meters, rs.read FROM org_unit o
    LEFT JOIN read_success_daily rs ON rs.day = ${day}::date AND rs.scope_kind = 'org' AND rs.scope_id = o.id
    WHERE o.id = ${org.id}`.execute(db);
  const children = org.level === 'grid'
    ? await sql<ScopeRateRow>`
        SELECT ta.id, ta.code, ta.name, rs.meters, rs.read FROM transformer_area ta
        LEFT JOIN read_success_daily rs ON rs.day = ${day}::date AND rs.scope_kind = 'area' AND rs.scope_id = ta.id
        WHERE ta.grid_id = ${org.id} ORDER BY ta.code`.execute(db)
    : await sql<ScopeRateRow>`
        SELECT o.id, o.code, o.name, o.level, rs.meters, rs.read FROM org_unit o
        LEFT JOIN read_success_daily rs ON rs.day = ${day}::date AND rs.scope_kind = 'org' AND rs.scope_id = o.id
        WHERE o.parent_id = ${org.id} ORDER BY o.code`.execute(db);
  const teams = await sql<ScopeRateRow>`
    SELECT t.id, t.code, t.name, rs.meters, rs.read FROM team t
    LEFT JOIN read_success_daily rs ON rs.day = ${day}::date AND rs.scope_kind = 'team' AND rs.scope_id = t.id
    WHERE t.org_id = ${org.id} ORDER BY t.code`.execute(db);
  return {
    day,
    org: toRate('org', self.rows[0]!),
    children: children.rows.map((r) => toRate(org.level === 'grid' ? 'area' : 'org', r)),
    teams: teams.rows.map((r) => toRate('team', r)),
  };
}

export interface UnreadFilter {
  day: string;
  scopePath: string;
  areaId?: number;
  teamId?: number;
  lookbackDays: number;
  limit: number;
  offset: number;
}

export interface UnreadMeter {
  meterId: number;
  commAddress: string;
  customerNumber: string;
  transformerAreaId: number;
  teamId: number;
  lastReadOn: string | null;
  /** Days without a reading up to and including the day; null when none within the look-back. */
  daysMissing: number | null;
}

/** Meters expected on the day without a real reading, longest missing first. */
export async function listUnreadMeters(db: Db, f: UnreadFilter): Promise<{ items: UnreadMeter[]; total: number }> {
  const rows = await sql<{ meter_id: number; comm_address: string; number: string; area_id: number; team_id: number; last: string | null; total: number }>`
    WITH u AS MATERIALIZED (
      SELECT sp.meter_id, me.comm_address, c.number, c.transformer_area_id AS area_id, ta.team_id
      FROM service_point sp
      JOIN customer c ON c.id = sp.customer_id
      JOIN meter me ON me.id = sp.meter_id
      JOIN transformer_area ta ON ta.id = c.transformer_area_id
      WHERE ${inScope(sql`${f.day}::date`)}
        AND c.org_path LIKE ${f.scopePath + '%'}
        AND (${f.areaId ?? null}::int IS NULL OR c.transformer_area_id = ${f.areaId ?? null}::int)
        AND (${f.teamId ?? null}::int IS NULL OR ta.team_id = ${f.teamId ?? null}::int)
        AND NOT EXISTS (SELECT 1 FROM meter_reading r WHERE r.meter_id = sp.meter_id AND r.reading_date = ${f.day}::date AND ${VALID})
    )
    SELECT u.*, lr.last::text AS last, count(*) OVER ()::int AS total
    FROM u
    LEFT JOIN LATERAL (SELECT max(reading_date) AS last FROM meter_reading r WHERE r.meter_id = u.meter_id
                       AND r.reading_date < ${f.day}::date AND r.reading_date >= ${f.day}::date - ${f.lookbackDays}::int AND ${VALID}) lr ON true
    ORDER BY lr.last NULLS FIRST, u.meter_id
    LIMIT ${f.limit} OFFSET ${f.offset}`.execute(db);
  const dayMs = Date.parse(`${f.day}T00:00:00Z`);
  return {
    total: rows.rows[0]?.total ?? 0,
    items: rows.rows.map((r) => ({
      meterId: Number(r.meter_id), commAddress: r.comm_address, customerNumber: r.number, transformerAreaId: r.area_id, teamId: r.team_id,
      lastReadOn: r.last, daysMissing: r.last ? Math.round((dayMs - Date.parse(`${r.last}T00:00:00Z`)) / 86_400_000) : null,
    })),
  };
}
