import { sql } from 'kysely';
import { forgetCachedSignIns, type Db, type Session } from '../../platform/index.ts';

export type OrgLevel = 'hq' | 'province' | 'city' | 'county' | 'station' | 'grid';

export interface OrgUnitRow {
  id: number;
  code: string;
  name: string;
  name_en: string;
  level: OrgLevel;
  parent_id: number | null;
  path: string;
}
export interface TeamRow {
  id: number;
  code: string;
  name: string;
  kind: 'collection_ops' | 'service' | 'field';
  org_id: number;
}
export interface StaffRow {
  id: number;
  code: string;
  name: string;
  role: string;
  org_id: number;
  team_id: number | null;
  mobile: string | null;
  password_hash: string;
  active: boolean;
}

export async function loadOrg(
  s: Session,
  data: { orgUnits: OrgUnitRow[]; teams: TeamRow[]; staff: StaffRow[] },
): Promise<void> {
  await s.copyFrom('org_unit', ['id', 'code', 'name', 'name_en', 'level', 'parent_id', 'path'],
    data.orgUnits.map((o) => [o.id, o.code, o.name, o.name_en, o.level, o.parent_id, o.path]));
  await s.copyFrom('team', ['id', 'code', 'name', 'kind', 'org_id'], data.teams.map((t) => [t.id, t.code, t.name, t.kind, t.org_id]));
  await s.copyFrom('staff', ['id', 'code', 'name', 'role', 'org_id', 'team_id', 'mobile', 'password_hash', 'active'],
    data.staff.map((x) => [x.id, x.code, x.name, x.role, x.org_id, x.team_id, x.mobile, x.password_hash, x.active]));
}

export async function findOrgByCode(db: Db, code: string): Promise<OrgUnitRow | undefined> {
  return db.selectFrom('org_unit').selectAll().where('code', '=', code).executeTakeFirst() as Promise<OrgUnitRow | undefined>;
}

export async function findOrgById(db: Db, id: number): Promise<OrgUnitRow | undefined> {
  return db.selectFrom('org_unit').selectAll().where('id', '=', id).executeTakeFirst() as Promise<OrgUnitRow | undefined>;
}

/** The units under a path prefix, down to a level (inclusive). */
export async function listOrgSubtree(db: Db, pathPrefix: string, maxLevel?: OrgLevel): Promise<OrgUnitRow[]> {
  const levels: OrgLevel[] = ['hq', 'province', 'city', 'county', 'station', 'grid'];
  let q = db.selectFrom('org_unit').selectAll().where('path', 'like', `${pathPrefix}%`);
  if (maxLevel) q = q.where('level', 'in', levels.slice(0, levels.indexOf(maxLevel) + 1));
  return q.orderBy('path').execute() as Promise<OrgUnitRow[]>;
}

export async function listChildren(db: Db, parentId: number): Promise<OrgUnitRow[]> {
  return db.selectFrom('org_unit').selectAll().where('parent_id', '=', parentId).orderBy('code').execute() as Promise<OrgUnitRow[]>;
}

export async function findStaffByCode(db: Db, code: string): Promise<(StaffRow & { org_path: string }) | undefined> {
  return db
    .selectFrom('staff')
    .innerJoin('org_unit', 'org_unit.id', 'staff.org_id')
    .selectAll('staff')
    .select('org_unit.path as org_path')
    .where('staff.code', '=', code)
    .executeTakeFirst() as Promise<(StaffRow & { org_path: string }) | undefined>;
}

export async function findStaffById(db: Db, id: number): Promise<(StaffRow & { org_path: string }) | undefined> {
  return db
    .selectFrom('staff')
    .innerJoin('org_unit', 'org_unit.id', 'staff.org_id')
    .selectAll('staff')
    .select('org_unit.path as org_path')
    .where('staff.id', '=', id)
    .executeTakeFirst() as Promise<(StaffRow & { org_path: string }) | undefined>;
}

/** The grid manager (社区经理) responsible for a grid unit; the first active one by id. */
export async function gridManagerOf(db: Db, gridIds: number[]): Promise<Map<number, number>> {
  if (!gridIds.length) return new Map();
  const rows = await db
    .selectFrom('staff')
    .select(['org_id', sql<number>`min(id)`.as('staff_id')])
    .where('role', '=', 'grid_manager')
    .where('active', '=', true)
    .where('org_id', 'in', gridIds)
    .groupBy('org_id')
    .execute();
  return new Map(rows.map((r) => [r.org_id as number, r.staff_id as number]));
}

export async function listTeams(db: Db, pathPrefix: string): Promise<(TeamRow & { org_path: string })[]> {
  return db
    .selectFrom('team')
    .innerJoin('org_unit', 'org_unit.id', 'team.org_id')
    .selectAll('team')
    .select('org_unit.path as org_path')
    .where('org_unit.path', 'like', `${pathPrefix}%`)
    .orderBy('team.code')
    .execute() as Promise<(TeamRow & { org_path: string })[]>;
}

/**
 * Deactivate (a leaver) or reactivate staff members; returns how many changed. Deactivating ends every
 * sign-in they hold (trigger staff_sign_ins_end): this process refuses their tokens from the next request,
 * another process within REVOCATION_POLL_MS of the commit. A reactivated member signs in again.
 */
export async function setStaffActive(db: Db, staffIds: number[], active: boolean): Promise<number> {
  if (!staffIds.length) return 0;
  const r = await db.updateTable('staff').set({ active }).where('id', 'in', staffIds).where('active', '=', !active).executeTakeFirst();
  forgetCachedSignIns();
  return Number(r.numUpdatedRows);
}
