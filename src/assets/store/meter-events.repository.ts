import { sql, type Transaction } from 'kysely';
import { AppError, businessDate, type Db } from '../../platform/index.ts';
import { nextMeterState, type MeterEventKind } from '../domain/meter-lifecycle.ts';
import { METER_LIFECYCLE_STATES, type MeterRow, type MeterState } from './assets.repository.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Trx = Transaction<any>;

export interface MeterEvent {
  meterId: number;
  event: Exclude<MeterEventKind, 'arrived'>;
  result?: 'pass' | 'fail';
  actor: string;
  place: string;
  /** Org now holding the meter (store, or the installation grid). */
  orgPath?: string;
  taskId?: number;
  note?: string;
  /** For 'installed': where the concentrator reads it. */
  concentratorId?: number | null;
  measuringPoint?: number | null;
  /** For 'installed': the business date it runs from, if not the day of recording. */
  installedOn?: string;
}

export interface MeterEventRow {
  id: number;
  meter_id: number;
  event: MeterEventKind;
  result: 'pass' | 'fail' | null;
  from_state: MeterState | null;
  to_state: MeterState;
  at: Date;
  actor: string;
  place: string;
  org_path: string | null;
  task_id: number | null;
  note: string | null;
  /** Where the event found the meter: the org holding it and the concentrator reading it. */
  from_org_path: string | null;
  from_concentrator_id: number | null;
}

export interface MeterArrival {
  assetNo: string;
  commAddress: string;
  meterType: MeterRow['meter_type'];
  costControl?: boolean;
  manufacturedOn: string;
  orgPath: string;
  place: string;
  actor: string;
}

export async function findMeterByAssetNo(db: Db, assetNo: string): Promise<(MeterRow & { custody_org_path: string | null; installed_on: string | null }) | undefined> {
  return db.selectFrom('meter').selectAll().where('asset_no', '=', assetNo).executeTakeFirst() as Promise<never>;
}

export async function findMeterById(db: Db, id: number): Promise<(MeterRow & { custody_org_path: string | null; installed_on: string | null }) | undefined> {
  return db.selectFrom('meter').selectAll().where('id', '=', id).executeTakeFirst() as Promise<never>;
}

export async function listMeterEvents(db: Db, meterId: number): Promise<MeterEventRow[]> {
  return db.selectFrom('meter_event').selectAll().where('meter_id', '=', meterId).orderBy('id').execute() as Promise<MeterEventRow[]>;
}

/** Register meters delivered from the factory: new meter rows in state 'arrived', each with its arrival event. */
export async function registerMeterArrivals(trx: Trx, at: Date, arrivals: MeterArrival[]): Promise<number[]> {
  if (!arrivals.length) return [];
  // meter ids are not a sequence (the seed loads them); a transaction lock keeps max+n unique
  await sql`SELECT pg_advisory_xact_lock(hashtext('meter.id'))`.execute(trx);
  const json = JSON.stringify(arrivals.map((a, i) => ({
    n: i + 1, asset_no: a.assetNo, comm_address: a.commAddress, meter_type: a.meterType, cost_control: a.costControl ?? false,
    manufactured_on: a.manufacturedOn, org_path: a.orgPath, place: a.place, actor: a.actor,
  })));
  try {
    const r = await sql<{ id: number }>`
      WITH input AS (
        SELECT * FROM jsonb_to_recordset(${json}::jsonb) AS x(n int, asset_no text, comm_address text, meter_type text,
               cost_control boolean, manufactured_on date, org_path text, place text, actor text)),
      base AS (SELECT COALESCE(max(id), 0) AS max_id FROM meter),
      created AS (
        INSERT INTO meter (id, asset_no, comm_address, meter_type, cost_control, state, manufactured_on, custody_org_path)
        SELECT base.max_id + i.n, i.asset_no, i.comm_address, i.meter_type, i.cost_control, 'arrived', i.manufactured_on, i.org_path
        FROM input i, base
        RETURNING id, asset_no),
      trail AS (
        INSERT INTO meter_event (meter_id, event, from_state, to_state, at, actor, place, org_path)
        SELECT c.id, 'arrived', NULL, 'arrived', ${at}::timestamptz, i.actor, i.place, i.org_path
        FROM created c JOIN input i ON i.asset_no = c.asset_no)
      SELECT c.id FROM created c JOIN input i ON i.asset_no = c.asset_no ORDER BY i.n`.execute(trx);
    return r.rows.map((x) => Number(x.id));
  } catch (e) {
    const msg = (e as Error).message;
    if (/meter_asset_no_key|meter_comm_address_key/.test(msg)) throw new AppError('ASSET_DUPLICATE', 'a meter with this asset number or communication address exists', 409);
    if (/meter_comm_address_check|meter_type_check/.test(msg)) throw new AppError('ASSET_EVENT_INVALID', msg, 400);
    throw e;
  }
}

/**
 * Record lifecycle events for a list of meters (at most one event per meter per call): every transition
 * is checked under a row lock first, so one refused event leaves all of them unrecorded.
 */
export async function recordMeterEvents(trx: Trx, at: Date, events: MeterEvent[]): Promise<void> {
  if (!events.length) return;
  const ids = events.map((e) => e.meterId);
  if (new Set(ids).size !== ids.length) throw new AppError('ASSET_EVENT_INVALID', 'one event per meter per call', 400);
  const current = (await trx.selectFrom('meter').select(['id', 'state', 'asset_no', 'concentrator_id', 'custody_org_path']).where('id', 'in', ids).orderBy('id').forUpdate().execute()) as
    (Pick<MeterRow, 'id' | 'state' | 'asset_no' | 'concentrator_id'> & { custody_org_path: string | null })[];
  const byId = new Map(current.map((m) => [Number(m.id), m]));
  const rows = events.map((e) => {
    const m = byId.get(e.meterId);
    if (!m) throw new AppError('ASSET_UNKNOWN', `no meter ${e.meterId}`, 404);
    try {
      return { ...e, from: m.state, to: nextMeterState(m.state, e.event, e.result), fromOrgPath: m.custody_org_path, fromConcentratorId: m.concentrator_id };
    } catch (err) {
      throw new AppError((err as AppError).code, `meter ${m.asset_no}: ${(err as Error).message}`, (err as AppError).status);
    }
  });
  const json = JSON.stringify(rows.map((r) => ({
    meter_id: r.meterId, event: r.event, result: r.result ?? null, from_state: r.from, to_state: r.to, actor: r.actor, place: r.place,
    from_org_path: r.fromOrgPath, from_concentrator_id: r.fromConcentratorId,
    org_path: r.orgPath ?? null, task_id: r.taskId ?? null, note: r.note ?? null,
    concentrator_id: r.concentratorId ?? null, measuring_point: r.measuringPoint ?? null, installs: r.event === 'installed',
    installed_on: r.installedOn ?? businessDate(at),
  })));
  await sql`
    INSERT INTO meter_event (meter_id, event, result, from_state, to_state, at, actor, place, org_path, task_id, note, from_org_path, from_concentrator_id)
    SELECT meter_id, event, result, from_state, to_state, ${at}::timestamptz, actor, place, org_path, task_id, note, from_org_path, from_concentrator_id
    FROM jsonb_to_recordset(${json}::jsonb) AS x(meter_id bigint, event text, result text, from_state text, to_state text,
         actor text, place text, org_path text, task_id bigint, note text, from_org_path text, from_concentrator_id integer)`.execute(trx);
  // leaving meters free their measuring point before installed ones take it (the pair is unique)
  for (const installs of [false, true]) {
    await sql`
      UPDATE meter m SET
        state = x.to_state,
        -- a meter taken off its concentrator stays with the grid it ran in unless the event names another org
        custody_org_path = COALESCE(x.org_path, CASE WHEN NOT x.installs THEN (
          SELECT g.path FROM concentrator cz JOIN transformer_area ta ON ta.id = cz.transformer_area_id JOIN org_unit g ON g.id = ta.grid_id
          WHERE cz.id = m.concentrator_id) END, m.custody_org_path),
        concentrator_id = CASE WHEN x.installs THEN x.concentrator_id END,
        measuring_point = CASE WHEN x.installs THEN x.measuring_point END,
        installed_on = CASE WHEN x.installs THEN x.installed_on ELSE m.installed_on END
      FROM jsonb_to_recordset(${json}::jsonb) AS x(meter_id bigint, to_state text, org_path text, concentrator_id integer,
           measuring_point integer, installs boolean, installed_on date)
      WHERE m.id = x.meter_id AND x.installs = ${installs}`.execute(trx);
  }
}

export interface MeterQuery {
  scopePath: string;
  at: Date;
  state?: MeterState;
  rotationDue?: boolean;
  limit: number;
  offset: number;
}

/**
 * Meters in scope: installed ones belong to the grid of their concentrator's transformer area, others
 * to the org holding them. Rotation due: installed for at least the type's rotation period (install date,
 * else manufacture date for meters loaded without one).
 */
export async function listMeters(db: Db, q: MeterQuery) {
  const today = businessDate(q.at);
  let base = db
    .selectFrom('meter as m')
    .leftJoin('concentrator as cz', 'cz.id', 'm.concentrator_id')
    .leftJoin('transformer_area as ta', 'ta.id', 'cz.transformer_area_id')
    .leftJoin('org_unit as g', 'g.id', 'ta.grid_id')
    // a type without a rotation policy is listed, just never due
    .leftJoin('meter_rotation_policy as rp', 'rp.meter_type', 'm.meter_type')
    .where(sql<boolean>`COALESCE(g.path, m.custody_org_path, '/') LIKE ${`${q.scopePath}%`}`);
  if (q.state) base = base.where('m.state', '=', q.state);
  if (q.rotationDue) {
    base = base
      .where('m.state', '=', 'installed')
      .where(sql<boolean>`COALESCE(m.installed_on, m.manufactured_on) + make_interval(years => rp.rotation_years) <= ${today}::date`);
  }
  const [items, total] = await Promise.all([
    base
      .select([
        'm.id', 'm.asset_no', 'm.comm_address', 'm.meter_type', 'm.cost_control', 'm.state', 'm.manufactured_on', 'm.installed_on',
        'ta.code as transformer_area_code', 'm.measuring_point',
        sql<string>`COALESCE(g.path, m.custody_org_path)`.as('org_path'),
        sql<string>`(COALESCE(m.installed_on, m.manufactured_on) + make_interval(years => rp.rotation_years))::date`.as('rotation_due_on'),
      ])
      .orderBy(q.rotationDue ? sql`COALESCE(m.installed_on, m.manufactured_on) + make_interval(years => rp.rotation_years)` : sql`m.asset_no`)
      .orderBy('m.id')
      .limit(q.limit)
      .offset(q.offset)
      .execute(),
    base.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items, total: total.n as number };
}

/** The org path a meter belongs to for scope checks (see listMeters). */
export async function meterScopePath(db: Db, meterId: number): Promise<string> {
  const r = await sql<{ p: string }>`
    SELECT COALESCE(g.path, m.custody_org_path, '/') AS p FROM meter m
    LEFT JOIN concentrator cz ON cz.id = m.concentrator_id LEFT JOIN transformer_area ta ON ta.id = cz.transformer_area_id
    LEFT JOIN org_unit g ON g.id = ta.grid_id WHERE m.id = ${meterId}`.execute(db);
  return r.rows[0]?.p ?? '/';
}

/** Next free measuring point on a concentrator (new installations join at the end). */
export async function nextMeasuringPoint(db: Db, concentratorId: number): Promise<number> {
  const r = await sql<{ n: number }>`SELECT COALESCE(max(measuring_point), 0)::int + 1 AS n FROM meter WHERE concentrator_id = ${concentratorId}`.execute(db);
  return r.rows[0]!.n;
}

export async function concentratorOfArea(db: Db, transformerAreaId: number): Promise<number | null> {
  const r = await sql<{ id: number }>`SELECT min(id) AS id FROM concentrator WHERE transformer_area_id = ${transformerAreaId}`.execute(db);
  return r.rows[0]?.id ?? null;
}

export async function findTransformerAreaByCode(db: Db, code: string): Promise<{ id: number; code: string; grid_id: number; team_id: number } | undefined> {
  return db.selectFrom('transformer_area').select(['id', 'code', 'grid_id', 'team_id']).where('code', '=', code).executeTakeFirst() as Promise<never>;
}

/** Meters in a scope by lifecycle state as they stood at an instant (the end of a day): from the lifecycle events. */
export async function meterCountsAt(db: Db, q: { scopePath: string; at: Date }): Promise<Record<MeterState, number>> {
  const r = await sql<{ state: MeterState; n: number }>`
    SELECT state, sum(meters)::int AS n FROM assets_meter_counts_at(${q.at}::timestamptz)
    WHERE COALESCE(org_path, '/') LIKE ${`${q.scopePath}%`}
    GROUP BY state`.execute(db);
  const counts = Object.fromEntries(METER_LIFECYCLE_STATES.map((s) => [s, 0])) as Record<MeterState, number>;
  for (const x of r.rows) counts[x.state] = Number(x.n);
  return counts;
}
