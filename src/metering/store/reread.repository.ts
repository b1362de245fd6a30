import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';
import { validReading } from './readings.repository.ts';

/** A re-read case (补抄): one gap in a meter's readings, and the key of its work task. */
export interface ReReadCase {
  id: number;
  meterId: number;
  commAddress: string;
  missingSince: string;
  taskKey: string;
  customerId: number | null;
  transformerAreaId: number | null;
}

interface ReReadCaseRow {
  id: number;
  meter_id: number;
  comm_address: string;
  missing_since: string;
  task_key: string;
  customer_id: number | null;
  transformer_area_id: number | null;
}

const reReadCaseRowToCase = (r: ReReadCaseRow): ReReadCase => ({
  id: Number(r.id), meterId: Number(r.meter_id), commAddress: r.comm_address, missingSince: r.missing_since, taskKey: r.task_key,
  customerId: r.customer_id === null ? null : Number(r.customer_id), transformerAreaId: r.transformer_area_id,
});

const READ = validReading('r');

/**
 * Open a case for every meter without a real reading for `missingDays` days up to `day` (remote retries
 * are done by then) that has no open case yet. The gap start is the day after the last real reading, so
 * a meter that stays unread keeps its one case; a new gap after a reading gets a new one.
 */
export async function openReReadCases(db: Db, day: string, at: Date, missingDays: number, lookbackDays: number): Promise<ReReadCase[]> {
  const firstMissing = sql`${day}::date - ${missingDays - 1}::int`;
  const r = await sql<ReReadCaseRow>`
    WITH unread AS MATERIALIZED (
      SELECT sp.meter_id, sp.customer_id, sp.installed_on, c.transformer_area_id AS area_id, c.org_path, me.comm_address
      FROM service_point sp
      JOIN customer c ON c.id = sp.customer_id
      JOIN meter me ON me.id = sp.meter_id
      -- a removed meter or a closed account has nothing to read
      WHERE sp.removed_on IS NULL AND me.state = 'installed' AND c.status <> 'closed' AND sp.installed_on <= ${firstMissing}
        AND NOT EXISTS (SELECT 1 FROM meter_reading r WHERE r.meter_id = sp.meter_id AND r.reading_date BETWEEN ${firstMissing} AND ${day}::date
                          AND ${READ})
        AND NOT EXISTS (SELECT 1 FROM reread_case rc WHERE rc.meter_id = sp.meter_id AND rc.closed_at IS NULL)
    ),
    gap AS (
      SELECT u.*, COALESCE(lr.last + 1, GREATEST(u.installed_on, ${day}::date - ${lookbackDays}::int)) AS missing_since
      FROM unread u
      LEFT JOIN LATERAL (SELECT max(reading_date) AS last FROM meter_reading r WHERE r.meter_id = u.meter_id
                           AND r.reading_date >= ${day}::date - ${lookbackDays}::int AND r.reading_date < ${firstMissing}
                           AND ${READ}) lr ON true
    ),
    opened AS (
      INSERT INTO reread_case (meter_id, missing_since, task_key, customer_id, transformer_area_id, team_id, org_path, opened_on, opened_at)
      SELECT g.meter_id, g.missing_since, 're_read:' || g.meter_id || ':' || g.missing_since, g.customer_id, g.area_id, ta.team_id,
             g.org_path, ${day}::date, ${at}::timestamptz
      FROM gap g LEFT JOIN transformer_area ta ON ta.id = g.area_id
      ON CONFLICT DO NOTHING
      RETURNING id, meter_id, missing_since, task_key, customer_id, transformer_area_id
    )
    SELECT o.id, o.meter_id, o.missing_since::text AS missing_since, o.task_key, o.customer_id, o.transformer_area_id, g.comm_address
    FROM opened o JOIN gap g ON g.meter_id = o.meter_id
    ORDER BY o.meter_id`.execute(db);
  return r.rows.map(reReadCaseRowToCase);
}

/**
 * Close open cases whose meter now has a real reading dated in the gap or later: by a person's re-read
 * (quality re_read) or by a late automatic reading. Returns the task keys by how they were closed.
 */
export async function closeReReadCases(db: Db, at: Date, meterIds?: number[]): Promise<{ manual: string[]; automatic: string[] }> {
  const only = meterIds ? sql`AND rc.meter_id IN (SELECT unnest(${meterIds.map(String)}::bigint[]))` : sql``;
  const r = await sql<{ task_key: string; closed_by: 'manual_reading' | 'automatic_reading' }>`
    UPDATE reread_case c SET closed_at = ${at}::timestamptz, closed_by = x.closed_by, closing_reading_date = x.reading_date
    FROM (
      SELECT DISTINCT ON (rc.id) rc.id, r.reading_date,
             CASE WHEN r.quality = 're_read' THEN 'manual_reading' ELSE 'automatic_reading' END AS closed_by
      FROM reread_case rc
      JOIN meter_reading r ON r.meter_id = rc.meter_id AND r.reading_date >= rc.missing_since AND ${READ}
      WHERE rc.closed_at IS NULL ${only}
      ORDER BY rc.id, (r.quality = 're_read') DESC, r.reading_date
    ) x
    WHERE c.id = x.id
    RETURNING c.task_key, c.closed_by`.execute(db);
  return {
    manual: r.rows.filter((x) => x.closed_by === 'manual_reading').map((x) => x.task_key),
    automatic: r.rows.filter((x) => x.closed_by === 'automatic_reading').map((x) => x.task_key),
  };
}

/**
 * Close, as out of scope, the open cases whose meter left collection unread: its service point removed, the meter
 * no longer installed or the account closed. Run after closeReReadCases, so a closing reading still counts as one.
 * Returns the task keys.
 */
export async function closeReReadCasesOutOfScope(db: Db, at: Date, meterIds?: number[]): Promise<string[]> {
  const only = meterIds ? sql`AND rc.meter_id IN (SELECT unnest(${meterIds.map(String)}::bigint[]))` : sql``;
  const r = await sql<{ task_key: string }>`
    UPDATE reread_case rc SET closed_at = ${at}::timestamptz, closed_by = 'out_of_scope'
    WHERE rc.closed_at IS NULL ${only}
      AND NOT EXISTS (SELECT 1 FROM service_point sp JOIN customer c ON c.id = sp.customer_id JOIN meter me ON me.id = sp.meter_id
                      WHERE sp.meter_id = rc.meter_id AND sp.removed_on IS NULL AND me.state = 'installed' AND c.status <> 'closed')
    RETURNING rc.task_key`.execute(db);
  return r.rows.map((x) => x.task_key);
}

export interface TeamReReadLoad {
  teamId: number;
  teamCode: string;
  teamName: string;
  open: number;
  /** Days since the oldest open case was opened, as of the given day. */
  oldestAgeDays: number;
  averageAgeDays: number;
  closedLast30Days: number;
}

/** Open re-read cases per team with their age, for teams with work in the caller's scope. */
export async function reReadLoadByTeam(db: Db, day: string, scopePath: string): Promise<TeamReReadLoad[]> {
  const r = await sql<{ team_id: number; code: string; name: string; open: number; oldest: number; avg: string; closed30: number }>`
    SELECT t.id AS team_id, t.code, t.name,
           count(*) FILTER (WHERE rc.closed_at IS NULL)::int AS open,
           COALESCE(max(${day}::date - rc.opened_on) FILTER (WHERE rc.closed_at IS NULL), 0)::int AS oldest,
           COALESCE(round(avg(${day}::date - rc.opened_on) FILTER (WHERE rc.closed_at IS NULL), 1), 0)::text AS avg,
           count(*) FILTER (WHERE rc.closed_at IS NOT NULL AND rc.closing_reading_date >= ${day}::date - 30)::int AS closed30
    FROM reread_case rc JOIN team t ON t.id = rc.team_id
    WHERE rc.org_path LIKE ${scopePath + '%'} AND (rc.closed_at IS NULL OR rc.opened_on >= ${day}::date - 60)
    GROUP BY t.id, t.code, t.name
    ORDER BY open DESC, t.code`.execute(db);
  return r.rows.map((x) => ({
    teamId: x.team_id, teamCode: x.code, teamName: x.name, open: x.open, oldestAgeDays: x.oldest, averageAgeDays: Number(x.avg), closedLast30Days: x.closed30,
  }));
}
