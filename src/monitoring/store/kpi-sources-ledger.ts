import { sql } from 'kysely';
import type { KpiSource } from './kpi-sources.ts';

/**
 * KPIs over billing, payments, dunning and service data. Money stays numeric in SQL throughout.
 * Periods: collection rate and late fees collected are month to date (bills issued in the day's month);
 * arrears and accrued late fees are the open debt as of the day (payments_debt_as_of).
 */
export const LEDGER_SOURCES: KpiSource[] = [
  {
    family: 'auto_read_bill_share',
    kpis: ['auto_read_bill_share'],
    requires: ['bill', 'customer'],
    // bills computed in the 30 days up to the day, rated on an automatic reading (not re-read or estimated)
    leaf: (p) => sql`
      SELECT 'auto_read_bill_share' AS kpi, b.org_path, ta.team_id,
             count(*) FILTER (WHERE b.reading_quality = 'actual')::numeric AS numerator, count(*)::numeric AS denominator
      FROM bill b JOIN customer c ON c.id = b.customer_id JOIN transformer_area ta ON ta.id = c.transformer_area_id
      WHERE b.kind = 'bill' AND b.status <> 'voided'
        AND b.created_at < ${p.end}::timestamptz AND b.created_at >= ${p.end}::timestamptz - interval '30 days'
      GROUP BY b.org_path, ta.team_id`,
  },
  {
    family: 'collection_rate',
    kpis: ['collection_rate', 'billed_amount', 'collected_amount', 'late_fee_collected'],
    requires: ['receivable', 'allocation', 'customer'],
    // 电费回收率 month to date (on the month's last day: the month-end rate): principal paid by the day on
    // what was billed this month, net of credit notes; late fees are out of both sides. A credit note
    // settling a bill is not money collected (it already lowers what was billed).
    leaf: (p) => sql`
      WITH r AS (
        SELECT r.id, r.customer_id, r.amount,
               (SELECT coalesce(sum(a.principal), 0) FROM allocation a
                WHERE a.receivable_id = r.id AND a.source_kind = 'payment' AND a.applied_on <= ${p.day}::date) AS collected
        FROM receivable r
        WHERE r.kind IN ('bill', 'rebill', 'credit', 'adjustment')
          AND r.issued_on BETWEEN date_trunc('month', ${p.day}::date)::date AND ${p.day}::date),
      per AS (
        SELECT c.org_path, ta.team_id, sum(r.amount) AS billed, sum(r.collected) AS collected
        FROM r JOIN customer c ON c.id = r.customer_id JOIN transformer_area ta ON ta.id = c.transformer_area_id
        GROUP BY c.org_path, ta.team_id),
      fees AS (
        SELECT c.org_path, ta.team_id, sum(a.late_fee) AS fee
        FROM allocation a JOIN customer c ON c.id = a.customer_id JOIN transformer_area ta ON ta.id = c.transformer_area_id
        -- money paid: a credit note settling a fee collects nothing
        WHERE a.source_kind = 'payment' AND a.applied_on BETWEEN date_trunc('month', ${p.day}::date)::date AND ${p.day}::date
        GROUP BY c.org_path, ta.team_id)
      SELECT 'collection_rate' AS kpi, org_path, team_id, collected AS numerator, billed AS denominator FROM per
      UNION ALL SELECT 'billed_amount', org_path, team_id, billed, NULL FROM per
      UNION ALL SELECT 'collected_amount', org_path, team_id, collected, NULL FROM per
      UNION ALL SELECT 'late_fee_collected', org_path, team_id, fee, NULL FROM fees`,
  },
  {
    family: 'arrears',
    kpis: ['arrears_0_30', 'arrears_31_90', 'arrears_over_90', 'arrears_total', 'late_fee_accrued'],
    requires: ['payments_debt_as_of(date,bigint[])', 'customer'],
    // overdue debt by days past due on the day, and the late fee accrued on it to that day
    leaf: (p) => sql`
      WITH d AS (
        SELECT c.org_path, ta.team_id, ${p.day}::date - x.due_date AS age, x.outstanding, x.late_fee
        FROM payments_debt_as_of(${p.day}::date, NULL) x
        JOIN customer c ON c.id = x.customer_id JOIN transformer_area ta ON ta.id = c.transformer_area_id
        WHERE x.due_date < ${p.day}::date)
      SELECT 'arrears_0_30' AS kpi, org_path, team_id, coalesce(sum(outstanding) FILTER (WHERE age <= 30), 0) AS numerator, NULL::numeric AS denominator FROM d GROUP BY org_path, team_id
      UNION ALL SELECT 'arrears_31_90', org_path, team_id, coalesce(sum(outstanding) FILTER (WHERE age BETWEEN 31 AND 90), 0), NULL FROM d GROUP BY org_path, team_id
      UNION ALL SELECT 'arrears_over_90', org_path, team_id, coalesce(sum(outstanding) FILTER (WHERE age > 90), 0), NULL FROM d GROUP BY org_path, team_id
      UNION ALL SELECT 'arrears_total', org_path, team_id, sum(outstanding), NULL FROM d GROUP BY org_path, team_id
      UNION ALL SELECT 'late_fee_accrued', org_path, team_id, sum(late_fee), NULL FROM d GROUP BY org_path, team_id`,
  },
  {
    family: 'cleared_without_person',
    kpis: ['cleared_without_person'],
    requires: ['receivable', 'allocation', 'dunning_escalation', 'customer'],
    // overdue cases: bills due in the 90 days before the day and not paid by their due date;
    // cleared without a person: paid in full by the day with no manual-collection escalation before it.
    // One index probe of allocations per case and one aggregate over the cases' escalations.
    leaf: (p) => sql`
      WITH r AS MATERIALIZED (
        SELECT r.id, r.customer_id, r.bill_id, r.amount, r.due_date FROM receivable r
        WHERE r.bill_id IS NOT NULL AND r.amount > 0 AND r.due_date >= ${p.day}::date - 90 AND r.due_date < ${p.day}::date),
      esc AS MATERIALIZED (
        SELECT e.bill_id, min(e.created_on) AS first_on FROM dunning_escalation e
        WHERE e.kind = 'manual_collection' AND e.bill_id IN (SELECT bill_id FROM r) GROUP BY e.bill_id)
      SELECT 'cleared_without_person' AS kpi, c.org_path, ta.team_id,
             count(*) FILTER (WHERE p.paid >= r.amount AND (e.first_on IS NULL OR e.first_on > p.last_on))::numeric AS numerator,
             count(*)::numeric AS denominator
      FROM r
      CROSS JOIN LATERAL (
        SELECT sum(a.principal) FILTER (WHERE a.applied_on <= r.due_date) AS by_due, sum(a.principal) AS paid, max(a.applied_on) AS last_on
        FROM allocation a WHERE a.receivable_id = r.id AND a.applied_on <= ${p.day}::date) p
      LEFT JOIN esc e ON e.bill_id = r.bill_id
      JOIN customer c ON c.id = r.customer_id JOIN transformer_area ta ON ta.id = c.transformer_area_id
      WHERE coalesce(p.by_due, 0) < r.amount
      GROUP BY c.org_path, ta.team_id`,
  },
  {
    family: 'service_orders',
    kpis: ['orders_in_limit', 'orders_overdue'],
    requires: ['service_order'],
    // orders received in the 30 days up to the day: resolved in time / resolved or already late. A repair
    // has two limits, arrival and restoration: missing either one puts it out of its limit.
    leaf: (p) => sql`
      WITH o AS (
        SELECT org_path, due_at, resolved, arrival_due_at IS NOT NULL AND COALESCE(arrived, ${p.end}::timestamptz) > arrival_due_at AS arrived_late,
               arrival_due_at IS NOT NULL AND arrived IS NULL AND arrival_due_at < ${p.end}::timestamptz AS arrival_overdue
        FROM (SELECT org_path, due_at, arrival_due_at, CASE WHEN resolved_at < ${p.end}::timestamptz THEN resolved_at END AS resolved,
                     CASE WHEN arrived_at < ${p.end}::timestamptz THEN arrived_at END AS arrived
              FROM service_order
              WHERE received_at < ${p.end}::timestamptz AND received_at >= ${p.end}::timestamptz - interval '30 days') x)
      SELECT 'orders_in_limit' AS kpi, org_path, NULL::integer AS team_id,
             count(*) FILTER (WHERE resolved <= due_at AND NOT arrived_late)::numeric AS numerator,
             count(*) FILTER (WHERE resolved IS NOT NULL OR due_at < ${p.end}::timestamptz OR arrived_late)::numeric AS denominator
      FROM o GROUP BY org_path
      UNION ALL
      SELECT 'orders_overdue', org_path, NULL, count(*) FILTER (WHERE resolved IS NULL AND (due_at < ${p.end}::timestamptz OR arrival_overdue))::numeric, NULL
      FROM o GROUP BY org_path`,
  },
  {
    family: 'new_connections',
    kpis: ['connections_in_limit'],
    requires: ['connection_step', 'connection_application', 'connection_type', 'work_calendar'],
    // applications completed in the 90 days up to the day within their type's end-to-end limit (the
    // working days the utility used: finished steps, not the customer's time) / completed, or still
    // running and already past that limit. A running step's days are counted to the day on the working
    // calendar (weekdays unless work_calendar says otherwise: holidays, worked weekends).
    leaf: (p) => sql`
      WITH a AS (
        SELECT a.id, a.org_path, t.total_limit_working_days AS limit_days, a.completed_at < ${p.end}::timestamptz AS completed
        FROM connection_application a JOIN connection_type t ON t.type = a.type
        WHERE a.status <> 'cancelled' AND a.received_at < ${p.end}::timestamptz
          AND (a.completed_at IS NULL OR a.completed_at >= ${p.end}::timestamptz - interval '90 days')),
      used AS (
        SELECT a.id, sum(CASE WHEN s.completed_on <= ${p.day}::date THEN s.working_days_used ELSE w.days END) AS days
        FROM a JOIN connection_step s ON s.application_id = a.id AND s.started_on <= ${p.day}::date
        LEFT JOIN LATERAL (
          SELECT count(*) AS days FROM generate_series((s.started_on + 1)::timestamp, ${p.day}::date::timestamp, interval '1 day') g (day)
          LEFT JOIN work_calendar c ON c.day = g.day::date
          WHERE coalesce(c.working, extract(isodow FROM g.day) < 6)) w ON s.completed_on IS NULL OR s.completed_on > ${p.day}::date
        GROUP BY a.id)
      SELECT 'connections_in_limit' AS kpi, a.org_path, NULL::integer AS team_id,
             count(*) FILTER (WHERE a.completed AND coalesce(u.days, 0) <= a.limit_days)::numeric AS numerator,
             count(*) FILTER (WHERE a.completed OR coalesce(u.days, 0) > a.limit_days)::numeric AS denominator
      FROM a LEFT JOIN used u ON u.id = a.id
      GROUP BY a.org_path`,
  },
];
