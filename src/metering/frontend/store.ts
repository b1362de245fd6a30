import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';

export interface ConcentratorLinkRow {
  concentrator_id: number;
  online: boolean;
  last_login_at: Date | null;
  last_seen_at: Date | null;
  remote_address: string | null;
}

export interface LinkChange {
  concentratorId: number;
  online: boolean;
  lastLoginAt: Date | null;
  lastSeenAt: Date | null;
  remoteAddress: string | null;
}

/** Write the link state of many concentrators in one statement; absent timestamps keep their old value. */
export async function saveConcentratorLinks(db: Db, changes: LinkChange[]): Promise<void> {
  if (!changes.length) return;
  const json = JSON.stringify(
    changes.map((c) => ({
      concentrator_id: c.concentratorId,
      online: c.online,
      last_login_at: c.lastLoginAt?.toISOString() ?? null,
      last_seen_at: c.lastSeenAt?.toISOString() ?? null,
      remote_address: c.remoteAddress,
    })),
  );
  await sql`
    INSERT INTO concentrator_link (concentrator_id, online, last_login_at, last_seen_at, remote_address)
    SELECT concentrator_id, online, last_login_at, last_seen_at, remote_address
    FROM jsonb_to_recordset(${json}::jsonb) AS r(concentrator_id integer, online boolean, last_login_at timestamptz,
         last_seen_at timestamptz, remote_address text)
    ON CONFLICT (concentrator_id) DO UPDATE SET
      online = EXCLUDED.online,
      last_login_at = COALESCE(EXCLUDED.last_login_at, concentrator_link.last_login_at),
      last_seen_at = GREATEST(EXCLUDED.last_seen_at, concentrator_link.last_seen_at),
      remote_address = COALESCE(EXCLUDED.remote_address, concentrator_link.remote_address)`.execute(db);
}

export async function listConcentratorLinks(db: Db, onlineOnly = false): Promise<ConcentratorLinkRow[]> {
  let q = db.selectFrom('concentrator_link').selectAll().orderBy('concentrator_id');
  if (onlineOnly) q = q.where('online', '=', true);
  return (await q.execute()) as ConcentratorLinkRow[];
}

/** A front-end that stops (or crashed before) leaves no concentrator marked online. */
export async function markAllOffline(db: Db): Promise<void> {
  await sql`UPDATE concentrator_link SET online = false WHERE online`.execute(db);
}

/** What one concentrator is asked for on a day: its points not read yet, and how many of its meters were. */
export interface ConcentratorWork {
  points: { pn: number; meterId: number; commAddress: string }[];
  /** Installed meters that already have the day's reading (an earlier run or another path stored it); an estimate is not one. */
  alreadyRead: number;
}

/**
 * The day's work for many concentrators in one statement: every installed meter behind them with a
 * measuring point and no real reading for the day yet (an estimate VEE filled in is replaced by the
 * meter's own value), grouped per concentrator (a re-run asks only for the rest). Concentrators without
 * meters are absent from the map.
 */
export async function collectionWork(db: Db, day: string, concentratorIds: number[]): Promise<Map<number, ConcentratorWork>> {
  const out = new Map<number, ConcentratorWork>();
  if (!concentratorIds.length) return out;
  const r = await sql<{ concentrator_id: number; points: [number, number, string][] | string | null; already_read: number }>`
    SELECT m.concentrator_id,
           json_agg(json_build_array(m.measuring_point, m.id, m.comm_address) ORDER BY m.measuring_point)
             FILTER (WHERE m.measuring_point IS NOT NULL AND r.meter_id IS NULL) AS points,
           count(r.meter_id)::int AS already_read
    FROM meter m
    LEFT JOIN meter_reading r ON r.meter_id = m.id AND r.reading_date = ${day}::date AND r.total_kwh IS NOT NULL AND r.quality <> 'estimated'
    WHERE m.concentrator_id = ANY(${`{${concentratorIds.join(',')}}`}::int[]) AND m.state = 'installed'
    GROUP BY m.concentrator_id`.execute(db);
  for (const row of r.rows) {
    const points = (typeof row.points === 'string' ? JSON.parse(row.points) : row.points ?? []) as [number, number, string][];
    out.set(Number(row.concentrator_id), {
      points: points.map(([pn, meterId, commAddress]) => ({ pn: Number(pn), meterId: Number(meterId), commAddress })),
      alreadyRead: Number(row.already_read),
    });
  }
  return out;
}

export interface CollectionRecord {
  day: string;
  concentratorId: number;
  meters: number;
  read: number;
  missingMeterIds: number[];
  rounds: number;
  outcome: 'complete' | 'partial' | 'no_answer' | 'disconnected';
  startedAt: Date;
  finishedAt: Date;
  /** Wall time the concentrator took (not stored): how long a slow terminal held its own collection. */
  elapsedMs: number;
}

export interface FrontendCollectionRow {
  day: string;
  concentrator_id: number;
  meters: number;
  read: number;
  missing_meter_ids: number[];
  rounds: number;
  outcome: CollectionRecord['outcome'];
  started_at: Date;
  finished_at: Date;
}

/** Record many concentrator-days at once; a later run of the same day replaces the earlier record. */
export async function saveCollections(db: Db, records: CollectionRecord[]): Promise<void> {
  if (!records.length) return;
  const json = JSON.stringify(
    records.map((r) => ({
      day: r.day, concentrator_id: r.concentratorId, meters: r.meters, read: r.read, missing: r.missingMeterIds,
      rounds: r.rounds, outcome: r.outcome, started_at: r.startedAt.toISOString(), finished_at: r.finishedAt.toISOString(),
    })),
  );
  await sql`
    INSERT INTO frontend_collection (day, concentrator_id, meters, read, missing_meter_ids, rounds, outcome, started_at, finished_at)
    SELECT day, concentrator_id, meters, read, ARRAY(SELECT jsonb_array_elements_text(missing))::bigint[], rounds, outcome, started_at, finished_at
    FROM jsonb_to_recordset(${json}::jsonb) AS r(day date, concentrator_id integer, meters integer, read integer, missing jsonb,
         rounds integer, outcome text, started_at timestamptz, finished_at timestamptz)
    ON CONFLICT ON CONSTRAINT frontend_collection_pkey DO UPDATE SET
      meters = EXCLUDED.meters, read = EXCLUDED.read, missing_meter_ids = EXCLUDED.missing_meter_ids, rounds = EXCLUDED.rounds,
      outcome = EXCLUDED.outcome, started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at`.execute(db);
}

export async function listCollections(db: Db, day: string): Promise<FrontendCollectionRow[]> {
  const r = await sql<FrontendCollectionRow>`
    SELECT day, concentrator_id, meters, read, missing_meter_ids, rounds, outcome, started_at, finished_at
    FROM frontend_collection WHERE day = ${day}::date ORDER BY concentrator_id`.execute(db);
  return r.rows.map((row) => ({ ...row, missing_meter_ids: (row.missing_meter_ids ?? []).map(Number) }));
}
