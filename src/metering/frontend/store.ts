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

/** Meters (of the given ones) that already have a reading for the day: a re-run asks only for the rest. */
export async function metersReadOn(db: Db, day: string, meterIds: number[]): Promise<Set<number>> {
  if (!meterIds.length) return new Set();
  const r = await sql<{ meter_id: number }>`
    SELECT meter_id FROM meter_reading
    WHERE reading_date = ${day}::date AND meter_id = ANY(${`{${meterIds.join(',')}}`}::bigint[]) AND total_kwh IS NOT NULL`.execute(db);
  return new Set(r.rows.map((x) => Number(x.meter_id)));
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
