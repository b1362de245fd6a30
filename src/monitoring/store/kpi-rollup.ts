import { sql } from 'kysely';
import { randomUUID } from 'node:crypto';
import { addDays, parseInstant, runAll, type AppContext, type Db } from '../../platform/index.ts';
import { KPI_SOURCES, type KpiParams, type KpiSource } from './kpi-sources.ts';
import { LEDGER_SOURCES } from './kpi-sources-ledger.ts';

export interface KpiRunResult {
  day: string;
  rowsWritten: number;
  families: string[];
  skipped: string[];
  /** Milliseconds per family, to see which rollup dominates a day. */
  familyMs: Record<string, number>;
  ms: number;
}

/** Tables (and functions, written with their argument types) a source needs that do not exist yet. */
async function missingTables(db: Db, objects: string[]): Promise<string[]> {
  const r = await sql<{ t: string; ok: boolean }>`
    SELECT t, CASE WHEN t LIKE '%(%' THEN to_regprocedure(t) IS NOT NULL ELSE to_regclass(t) IS NOT NULL END AS ok
    FROM unnest(${objects}::text[]) AS t`.execute(db);
  return r.rows.filter((x) => !x.ok).map((x) => x.t);
}

/**
 * Sum one source's leaf rows up every ancestor of the org unit they belong to, and per team, in one
 * statement, into the computation's staging rows. Ancestors come from a recursive walk of org_unit (a
 * few thousand rows at province size).
 */
async function rollUp(db: Db, source: KpiSource, p: KpiParams, at: Date, token: string): Promise<number> {
  const r = await sql`
    WITH RECURSIVE anc (path, anc_id) AS (
      SELECT path, id FROM org_unit
      UNION ALL
      SELECT a.path, o.parent_id FROM anc a JOIN org_unit o ON o.id = a.anc_id WHERE o.parent_id IS NOT NULL
    ),
    leaf AS (${source.leaf(p)}),
    per_org AS (
      SELECT l.kpi, x.anc_id AS org_id, NULL::integer AS team_id, sum(l.numerator) AS n, sum(l.denominator) AS d
      FROM leaf l JOIN anc x ON x.path = l.org_path GROUP BY l.kpi, x.anc_id
    ),
    per_team AS (
      SELECT kpi, NULL::integer AS org_id, team_id, sum(numerator) AS n, sum(denominator) AS d
      FROM leaf WHERE team_id IS NOT NULL GROUP BY kpi, team_id
    )
    INSERT INTO kpi_daily_stage (token, day, org_id, team_id, kpi, value, numerator, denominator, computed_at)
    SELECT ${token}, ${p.day}::date, org_id, team_id, kpi,
           CASE WHEN d IS NULL THEN n WHEN d = 0 THEN NULL ELSE round(n / d, 6) END, round(n, 4), d, ${at}::timestamptz
    FROM (SELECT * FROM per_org UNION ALL SELECT * FROM per_team) s`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

/** KPI families computed at once (a pooled database gives each its connection; one connection takes them in turn). */
const FAMILIES_AT_ONCE = 2;

/**
 * Compute every KPI for one business day, for every org unit at every level and every team. The
 * families are computed at once into kpi_daily_stage, then one transaction replaces the day with them,
 * so a rerun (the lead's daily job, an on-demand recompute) is idempotent and readers see the old day
 * or the new one, never a mix.
 */
export async function computeKpis(ctx: AppContext, day: string): Promise<KpiRunResult> {
  const started = performance.now();
  const params: KpiParams = { day, end: parseInstant(addDays(day, 1)) };
  const at = ctx.clock.now();
  const token = `${day}/${randomUUID()}`;
  const families: string[] = [];
  const skipped: string[] = [];
  const familyMs: Record<string, number> = {};
  const ready: KpiSource[] = [];
  for (const source of [...KPI_SOURCES, ...LEDGER_SOURCES]) {
    if ((await missingTables(ctx.db, source.requires)).length) skipped.push(source.family);
    else ready.push(source);
  }
  let rowsWritten = 0;
  try {
    await runAll(ready.map((source) => async () => {
      const t0 = performance.now();
      const written = await rollUp(ctx.db, source, params, at, token);
      rowsWritten += written;
      familyMs[source.family] = Math.round(performance.now() - t0);
    }), FAMILIES_AT_ONCE);
    families.push(...ready.map((s) => s.family));
    await ctx.db.transaction().execute(async (trx) => {
      // two computations of one day replace it one after the other
      await sql`SELECT pg_advisory_xact_lock(hashtext('kpi_daily'), (${day}::date - DATE '2000-01-01'))`.execute(trx);
      await sql`DELETE FROM kpi_daily WHERE day = ${day}::date`.execute(trx);
      await sql`
        INSERT INTO kpi_daily (day, org_id, team_id, kpi, value, numerator, denominator, computed_at)
        SELECT day, org_id, team_id, kpi, value, numerator, denominator, computed_at FROM kpi_daily_stage WHERE token = ${token}`.execute(trx);
      const ms = Math.round(performance.now() - started);
      await sql`
        INSERT INTO kpi_run (day, computed_at, rows_written, kpis_skipped, ms) VALUES (${day}::date, ${at}::timestamptz, ${rowsWritten}, ${skipped}::text[], ${ms})
        ON CONFLICT (day) DO UPDATE SET computed_at = EXCLUDED.computed_at, rows_written = EXCLUDED.rows_written,
          kpis_skipped = EXCLUDED.kpis_skipped, ms = EXCLUDED.ms`.execute(trx);
    });
  } finally {
    await sql`DELETE FROM kpi_daily_stage WHERE token = ${token}`.execute(ctx.db);
  }
  return { day, rowsWritten, families, skipped, familyMs, ms: Math.round(performance.now() - started) };
}
