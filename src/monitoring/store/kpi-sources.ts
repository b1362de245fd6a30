import { sql, type RawBuilder } from 'kysely';

/**
 * Where each KPI's facts come from. Monitoring reads the other contexts' tables read-only, in SQL,
 * because a rollup over a province is one set-based statement per family, not calls per customer.
 * Each source names the tables it needs; a source whose tables do not exist yet is skipped
 * (`to_regclass`), so the rollup ships before every context has landed.
 *
 * A source yields leaf rows (kpi, org_path, team_id, numerator, denominator) at the finest level it
 * knows (usually the grid unit); the rollup sums them up the hierarchy and per team. A null
 * denominator marks a count or amount (value = numerator).
 */
export interface KpiSource {
  family: string;
  kpis: string[];
  requires: string[];
  leaf(p: KpiParams): RawBuilder<unknown>;
}

export interface KpiParams {
  day: string;
  /** End of the business day (next local midnight): the instant states are taken at. */
  end: Date;
}

/** Active customers on the day, with the team contracting their transformer area. */
const activeCustomers = (p: KpiParams) => sql`
  SELECT c.id, c.org_path, ta.team_id
  FROM customer c JOIN transformer_area ta ON ta.id = c.transformer_area_id
  WHERE c.created_on <= ${p.day}::date AND c.status <> 'closed'`;

export const KPI_SOURCES: KpiSource[] = [
  {
    family: 'read_success',
    kpis: ['read_success', 'meters_unread'],
    requires: ['meter_reading', 'service_point'],
    // a meter counts as read when its daily frozen total for the day was read (automatically or on site);
    // an estimate or a value a person substituted (edited) is not a valid reading
    leaf: (p) => sql`
      WITH m AS (
        SELECT c.org_path, ta.team_id, count(*) AS meters, count(r.meter_id) AS read
        FROM service_point sp
        JOIN customer c ON c.id = sp.customer_id
        JOIN transformer_area ta ON ta.id = c.transformer_area_id
        LEFT JOIN meter_reading r ON r.meter_id = sp.meter_id AND r.reading_date = ${p.day}::date
             AND r.total_kwh IS NOT NULL AND r.quality IN ('actual', 're_read')
        WHERE sp.installed_on <= ${p.day}::date AND (sp.removed_on IS NULL OR sp.removed_on > ${p.day}::date) AND c.status <> 'closed'
        GROUP BY c.org_path, ta.team_id)
      SELECT 'read_success' AS kpi, org_path, team_id, read::numeric AS numerator, meters::numeric AS denominator FROM m
      UNION ALL
      SELECT 'meters_unread', org_path, team_id, (meters - read)::numeric, NULL FROM m`,
  },
  {
    family: 'tasks',
    kpis: ['reread_open', 'reread_age_days', 'manual_collection_open', 'tasks_overdue'],
    requires: ['task'],
    // tasks open at the end of the day, whatever happened to them later (a cancellation sets closed_at too)
    leaf: (p) => sql`
      WITH t AS (
        SELECT kind, org_path, team_id, due_at, extract(epoch FROM (${p.end}::timestamptz - opened_at)) / 86400 AS age_days
        FROM task
        WHERE opened_at < ${p.end}::timestamptz AND (closed_at IS NULL OR closed_at >= ${p.end}::timestamptz))
      SELECT 'reread_open' AS kpi, org_path, team_id, count(*)::numeric AS numerator, NULL::numeric AS denominator
      FROM t WHERE kind = 're_read' GROUP BY org_path, team_id
      UNION ALL
      SELECT 'reread_age_days', org_path, team_id, sum(age_days)::numeric, count(*)::numeric FROM t WHERE kind = 're_read' GROUP BY org_path, team_id
      UNION ALL
      SELECT 'manual_collection_open', org_path, team_id, count(*)::numeric, NULL FROM t WHERE kind = 'manual_collection' GROUP BY org_path, team_id
      UNION ALL
      SELECT 'tasks_overdue', org_path, team_id, count(*)::numeric, NULL FROM t WHERE due_at < ${p.end}::timestamptz GROUP BY org_path, team_id`,
  },
  {
    family: 'households_per_staff',
    kpis: ['households_per_staff'],
    requires: ['staff'],
    // reading and dunning staff: collection-operations team members and grid (community) managers
    leaf: (p) => sql`
      SELECT 'households_per_staff' AS kpi, org_path, team_id, count(*)::numeric AS numerator, 0::numeric AS denominator
      FROM (${activeCustomers(p)}) c GROUP BY org_path, team_id
      UNION ALL
      SELECT 'households_per_staff', o.path, s.team_id, 0, count(*)::numeric
      FROM staff s JOIN org_unit o ON o.id = s.org_id
      WHERE s.active AND s.role IN ('collection_team', 'grid_manager')
      GROUP BY o.path, s.team_id`,
  },
  {
    family: 'channel_coverage',
    kpis: ['channel_coverage', 'channel_agreed_coverage'],
    requires: ['channel_agreement', 'contact'],
    // an agreement in force at the end of the day, on a verified contact (coverage), or on any contact
    // not known to be wrong (agreed coverage: what coverage becomes once those contacts are verified)
    leaf: (p) => sql`
      WITH agreed AS (
        SELECT a.customer_id, bool_or(k.status <> 'invalid') AS usable, bool_or(k.status = 'verified') AS verified
        FROM channel_agreement a JOIN contact k ON k.id = a.contact_id
        WHERE a.consented_at < ${p.end}::timestamptz AND (a.withdrawn_at IS NULL OR a.withdrawn_at >= ${p.end}::timestamptz)
        GROUP BY a.customer_id),
      c AS (
        SELECT ac.org_path, ac.team_id, count(*) AS customers,
               count(*) FILTER (WHERE g.usable) AS usable, count(*) FILTER (WHERE g.verified) AS verified
        FROM (${activeCustomers(p)}) ac LEFT JOIN agreed g ON g.customer_id = ac.id
        GROUP BY ac.org_path, ac.team_id)
      SELECT 'channel_coverage' AS kpi, org_path, team_id, verified::numeric AS numerator, customers::numeric AS denominator FROM c
      UNION ALL
      SELECT 'channel_agreed_coverage', org_path, team_id, usable::numeric, customers::numeric FROM c`,
  },
  {
    family: 'assets',
    kpis: ['meters_arrived', 'meters_verified', 'meters_verify_failed', 'meters_in_stock', 'meters_dispatched', 'meters_installed', 'meters_removed', 'meters_scrapped'],
    requires: ['meter', 'concentrator', 'assets_meter_counts_at(timestamptz)'],
    // lifecycle state at the end of the day, from the meters' events (assets' function), counted where the asset list
    // placed a meter then: on a concentrator at its area's grid, otherwise at the org holding it (store, lab, the grid
    // it was removed from); only a meter whose holder is unknown counts at the root. The function counts per place,
    // so the org lookup runs over the few thousand places, not over every meter.
    leaf: (p) => sql`
      SELECT 'meters_' || a.state AS kpi, COALESCE(o.path, (SELECT path FROM org_unit WHERE parent_id IS NULL ORDER BY id LIMIT 1)) AS org_path,
             a.team_id, sum(a.meters)::numeric AS numerator, NULL::numeric AS denominator
      FROM assets_meter_counts_at(${p.end}::timestamptz) a LEFT JOIN org_unit o ON o.path = a.org_path
      GROUP BY 1, 2, 3`,
  },
];
