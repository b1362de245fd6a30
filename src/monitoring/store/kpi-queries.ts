import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../../platform/index.ts';

/** Reads served from kpi_daily only (indexed by subject and day), so they stay fast at province size. */
export interface KpiPointRow {
  day: string;
  kpi: string;
  value: string | null;
  numerator: string;
  denominator: string | null;
}

export interface KpiSubjectRow {
  id: number;
  code: string;
  name: string;
  name_en: string;
  level: string;
  value: string | null;
  numerator: string | null;
  denominator: string | null;
  /** Every KPI of the subject that day: kpi → [value, numerator, denominator] as exact decimal strings. */
  kpis: Record<string, [string | null, string, string | null]> | null;
}

export async function latestKpiDay(db: Db, onOrBefore: string): Promise<string | undefined> {
  const r = await sql<{ day: string | null }>`SELECT max(day) AS day FROM kpi_run WHERE day <= ${onOrBefore}::date`.execute(db);
  return r.rows[0]?.day ?? undefined;
}

export async function kpiSeries(db: Db, orgId: number, from: string, to: string, kpis?: string[]): Promise<KpiPointRow[]> {
  const r = await sql<KpiPointRow>`
    SELECT day, kpi, value, numerator, denominator FROM kpi_daily
    WHERE org_id = ${orgId} AND day BETWEEN ${from}::date AND ${to}::date
      ${kpis?.length ? sql`AND kpi = ANY(${kpis}::text[])` : sql``}
    ORDER BY kpi, day`.execute(db);
  return r.rows;
}

/** The children of an org unit with their value of one KPI on a day, worst first. */
export async function kpiChildren(db: Db, parentId: number, day: string, kpi: string, better: 'higher' | 'lower', limit: number, offset: number): Promise<{ items: KpiSubjectRow[]; total: number }> {
  return subjectPage(db, 'org_id', sql`
    SELECT s.id, s.code, s.name, s.name_en, s.level FROM org_unit s WHERE s.parent_id = ${parentId}`, day, kpi, better, limit, offset);
}

/** Collection teams under an org path with their value of one KPI on a day, worst first. */
export async function kpiTeams(db: Db, pathPrefix: string, day: string, kpi: string, better: 'higher' | 'lower', limit: number, offset: number): Promise<{ items: KpiSubjectRow[]; total: number }> {
  return subjectPage(db, 'team_id', sql`
    SELECT s.id, s.code, s.name, s.name AS name_en, 'team' AS level
    FROM team s JOIN org_unit o ON o.id = s.org_id WHERE o.path LIKE ${pathPrefix + '%'}`, day, kpi, better, limit, offset);
}

/** One page of subjects ordered by one KPI, worst first; every other KPI is attached to the page rows only. */
async function subjectPage(
  db: Db, subject: 'org_id' | 'team_id', subjects: RawBuilder<unknown>, day: string, kpi: string, better: 'higher' | 'lower', limit: number, offset: number,
): Promise<{ items: KpiSubjectRow[]; total: number }> {
  const order = better === 'higher' ? sql`k.value ASC NULLS LAST` : sql`k.value DESC NULLS LAST`;
  const r = await sql<KpiSubjectRow & { total: number }>`
    WITH page AS (
      SELECT s.*, k.value, k.numerator, k.denominator, count(*) OVER ()::int AS total, row_number() OVER (ORDER BY ${order}, s.code) AS rank
      FROM (${subjects}) s
      LEFT JOIN kpi_daily k ON k.${sql.ref(subject)} = s.id AND k.day = ${day}::date AND k.kpi = ${kpi}
      ORDER BY rank LIMIT ${limit} OFFSET ${offset})
    SELECT p.*, (SELECT jsonb_object_agg(a.kpi, jsonb_build_array(a.value::text, a.numerator::text, a.denominator::text))
                 FROM kpi_daily a WHERE a.${sql.ref(subject)} = p.id AND a.day = ${day}::date) AS kpis
    FROM page p ORDER BY p.rank`.execute(db);
  return { items: r.rows, total: r.rows[0]?.total ?? 0 };
}
