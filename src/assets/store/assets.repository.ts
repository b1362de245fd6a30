import type { Db, Session } from '../../platform/index.ts';

export interface TransformerAreaRow {
  id: number;
  code: string;
  name: string;
  grid_id: number;
  team_id: number;
  capacity_kva: number;
}
export interface ConcentratorRow {
  id: number;
  asset_no: string;
  area_code: string;
  terminal_address: number;
  transformer_area_id: number;
}
/** A meter's lifecycle states, in lifecycle order. */
export const METER_LIFECYCLE_STATES = ['arrived', 'verified', 'verify_failed', 'in_stock', 'dispatched', 'installed', 'removed', 'scrapped'] as const;
export type MeterState = (typeof METER_LIFECYCLE_STATES)[number];
export interface MeterRow {
  id: number;
  asset_no: string;
  comm_address: string;
  meter_type: 'single_phase' | 'three_phase' | 'three_phase_ct';
  cost_control: boolean;
  state: MeterState;
  concentrator_id: number | null;
  measuring_point: number | null;
  manufactured_on: string;
}

export const TRANSFORMER_AREA_COLUMNS = ['id', 'code', 'name', 'grid_id', 'team_id', 'capacity_kva'] as const;
export const CONCENTRATOR_COLUMNS = ['id', 'asset_no', 'area_code', 'terminal_address', 'transformer_area_id'] as const;
export const METER_COLUMNS = ['id', 'asset_no', 'comm_address', 'meter_type', 'cost_control', 'state', 'concentrator_id', 'measuring_point', 'manufactured_on'] as const;

const values = <T extends object>(cols: readonly (keyof T)[], rows: Iterable<T>) =>
  (function* () {
    for (const r of rows) yield cols.map((c) => r[c] as never);
  })();

export async function loadNetwork(
  s: Session,
  data: { areas: Iterable<TransformerAreaRow>; concentrators: Iterable<ConcentratorRow> },
): Promise<void> {
  await s.copyFrom('transformer_area', [...TRANSFORMER_AREA_COLUMNS], values<TransformerAreaRow>(TRANSFORMER_AREA_COLUMNS, data.areas));
  await s.copyFrom('concentrator', [...CONCENTRATOR_COLUMNS], values<ConcentratorRow>(CONCENTRATOR_COLUMNS, data.concentrators));
}

export async function loadMeters(s: Session, meters: Iterable<MeterRow>): Promise<number> {
  return s.copyFrom('meter', [...METER_COLUMNS], values<MeterRow>(METER_COLUMNS, meters));
}

export async function findMeterByAddress(db: Db, commAddress: string): Promise<MeterRow | undefined> {
  return db.selectFrom('meter').selectAll().where('comm_address', '=', commAddress).executeTakeFirst() as Promise<MeterRow | undefined>;
}

export async function findConcentrator(db: Db, areaCode: string, terminalAddress: number): Promise<ConcentratorRow | undefined> {
  return db
    .selectFrom('concentrator')
    .selectAll()
    .where('area_code', '=', areaCode)
    .where('terminal_address', '=', terminalAddress)
    .executeTakeFirst() as Promise<ConcentratorRow | undefined>;
}

/** Measuring points of a concentrator with their meters (what the front-end asks it for). */
export async function listConcentratorMeters(db: Db, concentratorId: number): Promise<MeterRow[]> {
  return db
    .selectFrom('meter')
    .selectAll()
    .where('concentrator_id', '=', concentratorId)
    .where('state', '=', 'installed')
    .orderBy('measuring_point')
    .execute() as Promise<MeterRow[]>;
}
