import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../../platform/index.ts';

/**
 * The one rating implementation (billing runs, corrections and quotes all use it): SQL CTEs that
 * turn a relation `rate_input` into priced bill lines `rate_lines`.
 *
 * rate_input columns: customer_id, tariff_code, period_start, period_end, span_start, span_end, q_total,
 * q_sharp, q_peak, q_flat, q_valley, ytd_kwh, capacity_kva, max_demand_kw, reactive_kvarh. A row prices
 * the days [span_start, span_end) of the period at its tariff_code, with the whole period's measures: a
 * customer whose tariff changed inside the period has one row per part (the parts cover the period),
 * otherwise one row whose span is the period.
 *
 * A tariff change, or a tariff version change, inside the period splits it into segments by days: quantities (and
 * monthly tier limits) are split telescopically — round(x·through/days,4) − round(x·before/days,4) —
 * so the parts add up to the whole exactly. Annual tiers start from the tier-year consumption
 * before the period (ytd_kwh); a tier year that starts inside the period (its first day, in the
 * tariff's tier_year_start_month) splits it the same way, by days, and the part from that day on
 * counts from zero. Each line rounds half-up to the fen; the power-factor adjustment is a
 * percentage of the rounded basic and energy lines (government funds excluded), at the standard of the
 * customer's capacity band. Register energy a version does not price on its own (sharp without a sharp
 * price) bills at the peak price, so every kWh is on a line.
 */
// a segment covering the whole period (the common case) takes x as it is, without the division
const part = (x: string) =>
  `(CASE WHEN s.dbefore = 0 AND s.dthrough = s.pdays THEN ${x} ELSE round(${x} * s.dthrough / s.pdays, 4) - round(${x} * s.dbefore / s.pdays, 4) END)`;

export const RATING_CTES = `
rate_version AS MATERIALIZED (
  SELECT v.*, t.tier_basis, t.tier_year_start_month, lead(v.effective_from) OVER (PARTITION BY v.tariff_code ORDER BY v.effective_from) AS effective_to
  FROM tariff_version v JOIN tariff t ON t.code = v.tariff_code
),
-- a version without a sharp (尖) price bills the sharp register at its peak price: sharp hours are the
-- peak hours a tariff may price higher, and no register's energy may go unbilled
rate_price AS MATERIALIZED (
  SELECT r.version_id, r.component, r.register, r.tier, r.price,
    r.register = 'peak' AND NOT EXISTS (SELECT 1 FROM tariff_rate x WHERE x.version_id = r.version_id
      AND x.component = r.component AND x.tier = r.tier AND x.register = 'sharp') AS takes_sharp
  FROM tariff_rate r
),
rate_seg AS (
  SELECT i.customer_id, v.id AS version_id, v.tier_basis, v.tier1_limit_kwh, v.tier2_limit_kwh,
    v.capacity_price, v.demand_price, v.pf_standard, v.pf_min_kva,
    i.capacity_kva, i.max_demand_kw, i.reactive_kvarh, i.q_total, i.ytd_kwh,
    CASE WHEN coalesce(i.q_sharp, i.q_peak, i.q_flat, i.q_valley) IS NULL THEN NULL ELSE coalesce(i.q_sharp, 0) END AS q_sharp,
    CASE WHEN coalesce(i.q_sharp, i.q_peak, i.q_flat, i.q_valley) IS NULL THEN NULL ELSE coalesce(i.q_peak, 0) END AS q_peak,
    -- a meter without register values bills all its energy at the flat price
    CASE WHEN coalesce(i.q_sharp, i.q_peak, i.q_flat, i.q_valley) IS NULL THEN i.q_total ELSE coalesce(i.q_flat, 0) END AS q_flat,
    CASE WHEN coalesce(i.q_sharp, i.q_peak, i.q_flat, i.q_valley) IS NULL THEN NULL ELSE coalesce(i.q_valley, 0) END AS q_valley,
    p.seg_start, p.seg_end,
    (i.period_end - i.period_start) AS pdays,
    (p.seg_start - i.period_start) AS dbefore,
    (p.seg_end - i.period_start) AS dthrough,
    -- days from the period start to the tier year this segment counts in, when that year starts inside the period
    CASE WHEN p.seg_start >= y.tier_year_start THEN y.tier_year_start - i.period_start END AS dyear
  FROM rate_input i
  JOIN rate_version v ON v.tariff_code = i.tariff_code AND v.effective_from < i.span_end
    AND (v.effective_to IS NULL OR v.effective_to > i.span_start)
  -- the first day of an annual tier year strictly inside the period (a period is shorter than a year)
  CROSS JOIN LATERAL (
    SELECT CASE WHEN v.tier_basis = 'annual' AND d > i.period_start THEN d END AS tier_year_start
    FROM (SELECT make_date(extract(year FROM i.period_end)::int - CASE WHEN make_date(extract(year FROM i.period_end)::int,
      v.tier_year_start_month, 1) >= i.period_end THEN 1 ELSE 0 END, v.tier_year_start_month, 1) AS d) b
  ) y
  -- the version's days in the input's span, cut in two where a tier year starts
  CROSS JOIN LATERAL (VALUES
    (1, greatest(v.effective_from, i.span_start), least(coalesce(v.effective_to, i.span_end), i.span_end, y.tier_year_start)),
    (2, greatest(v.effective_from, i.span_start, y.tier_year_start), least(coalesce(v.effective_to, i.span_end), i.span_end))
  ) AS p(piece, seg_start, seg_end)
  WHERE p.seg_start < p.seg_end AND (p.piece = 1 OR y.tier_year_start IS NOT NULL)
),
-- quantities and tier splits once per segment (OFFSET 0 keeps each step evaluated once, not inlined
-- into every expression that uses it), before the segment meets its tariff's prices
rate_tier AS MATERIALIZED (
  SELECT q.customer_id, q.version_id, q.seg_start, q.seg_end, q.pdays, q.dbefore, q.dthrough,
    q.capacity_kva, q.capacity_price, q.max_demand_kw, q.demand_price, q.reactive_kvarh, q.pf_standard, q.pf_min_kva, q.q_total,
    q.sq_total, q.sq_sharp, q.sq_peak, q.sq_flat, q.sq_valley,
    greatest(0, least(q.tier_from + q.sq_total, q.l1) - greatest(q.tier_from, 0)) AS t1,
    greatest(0, least(q.tier_from + q.sq_total, q.l2) - greatest(q.tier_from, q.l1)) AS t2,
    greatest(0, q.tier_from + q.sq_total - greatest(q.tier_from, q.l2)) AS t3
  FROM (
    SELECT s.*,
      ${part('s.q_total')} AS sq_total, ${part('s.q_sharp')} AS sq_sharp, ${part('s.q_peak')} AS sq_peak,
      ${part('s.q_flat')} AS sq_flat, ${part('s.q_valley')} AS sq_valley,
      CASE WHEN s.tier_basis <> 'annual' THEN 0
           WHEN s.dyear IS NULL THEN s.ytd_kwh + round(s.q_total * s.dbefore / s.pdays, 4)
           ELSE round(s.q_total * s.dbefore / s.pdays, 4) - round(s.q_total * s.dyear / s.pdays, 4) END AS tier_from,
      CASE s.tier_basis WHEN 'annual' THEN s.tier1_limit_kwh ELSE ${part('s.tier1_limit_kwh')} END AS l1,
      CASE s.tier_basis WHEN 'annual' THEN s.tier2_limit_kwh ELSE ${part('s.tier2_limit_kwh')} END AS l2
    FROM rate_seg s
    OFFSET 0
  ) q
),
rate_line_raw AS (
  SELECT q.customer_id, q.version_id, q.seg_start, q.seg_end, q.dbefore, r.component, r.register, r.tier, r.price AS unit_price,
    CASE WHEN r.tier = 1 THEN q.t1 WHEN r.tier = 2 THEN q.t2 WHEN r.tier = 3 THEN q.t3
         WHEN r.register = 'sharp' THEN q.sq_sharp WHEN r.takes_sharp THEN q.sq_peak + coalesce(q.sq_sharp, 0)
         WHEN r.register = 'peak' THEN q.sq_peak
         WHEN r.register = 'flat' THEN q.sq_flat WHEN r.register = 'valley' THEN q.sq_valley
         ELSE q.sq_total END AS quantity,
    1 AS frac_num, 1 AS frac_den
  FROM rate_tier q JOIN rate_price r ON r.version_id = q.version_id
  UNION ALL
  -- the monthly basic charge, by maximum demand when measured, else by contract capacity, prorated by days
  SELECT s.customer_id, s.version_id, s.seg_start, s.seg_end, s.dbefore,
    CASE WHEN s.max_demand_kw IS NOT NULL AND s.demand_price IS NOT NULL THEN 'basic_demand' ELSE 'basic_capacity' END, 'total', 0,
    CASE WHEN s.max_demand_kw IS NOT NULL AND s.demand_price IS NOT NULL THEN s.demand_price ELSE s.capacity_price END,
    CASE WHEN s.max_demand_kw IS NOT NULL AND s.demand_price IS NOT NULL THEN s.max_demand_kw ELSE s.capacity_kva END,
    s.dthrough - s.dbefore, s.pdays
  FROM rate_tier s
  WHERE (s.max_demand_kw IS NOT NULL AND s.demand_price IS NOT NULL) OR (s.capacity_kva IS NOT NULL AND s.capacity_price IS NOT NULL)
),
rate_line_amt AS (
  SELECT l.*,
    -- a whole-period line (frac 1/1) skips the division; a prorated basic charge divides last, then rounds
    round(CASE WHEN l.frac_den = 1 THEN l.quantity * l.unit_price * l.frac_num ELSE l.quantity * l.unit_price * l.frac_num / l.frac_den END, 2) AS amount,
    (l.dbefore * 100 + CASE l.component WHEN 'energy' THEN 10 WHEN 'tier_surcharge' THEN 20 WHEN 'transmission' THEN 30
      WHEN 'line_loss' THEN 40 WHEN 'system_operation' THEN 50 WHEN 'government_funds' THEN 60 ELSE 70 END
      + CASE l.register WHEN 'sharp' THEN 1 WHEN 'peak' THEN 2 WHEN 'flat' THEN 3 WHEN 'valley' THEN 4 ELSE 5 END + l.tier)::smallint AS line_no
  FROM rate_line_raw l
  WHERE l.quantity <> 0
),
-- the standard of the customer's capacity: of the version's own and its bands, the highest min_kva reached
rate_pf AS (
  SELECT s.customer_id, s.version_id, s.seg_end, a.adjustment_pct
  FROM rate_tier s
  CROSS JOIN LATERAL (
    SELECT b.standard FROM (
      SELECT s.pf_min_kva AS min_kva, s.pf_standard AS standard
      UNION ALL
      SELECT f.min_kva, f.standard FROM tariff_power_factor_band f WHERE f.version_id = s.version_id
    ) b
    WHERE b.standard IS NOT NULL AND b.min_kva IS NOT NULL AND coalesce(s.capacity_kva, 0) >= b.min_kva
    ORDER BY b.min_kva DESC LIMIT 1
  ) std
  JOIN power_factor_adjustment a ON a.standard = std.standard
    AND a.power_factor = round(s.q_total / sqrt(s.q_total * s.q_total + s.reactive_kvarh * s.reactive_kvarh), 2)
  WHERE s.dthrough = s.pdays AND s.reactive_kvarh IS NOT NULL AND s.q_total > 0
),
rate_lines AS (
  SELECT customer_id, line_no, component, register, tier, version_id, seg_start, seg_end, quantity, unit_price, amount
  FROM rate_line_amt
  UNION ALL
  SELECT p.customer_id, 9000::smallint, 'power_factor', 'total', 0::smallint, p.version_id, min(l.seg_start), p.seg_end,
    sum(l.amount), p.adjustment_pct, round(sum(l.amount) * p.adjustment_pct / 100, 2)
  FROM rate_pf p JOIN rate_line_amt l ON l.customer_id = p.customer_id AND l.component <> 'government_funds'
  GROUP BY p.customer_id, p.version_id, p.seg_end, p.adjustment_pct
)`;

/** What to rate: energy per register (kWh, exact decimal strings), the tier-year consumption before, and two-part measures. */
export interface RatingInput {
  tariffCode: string;
  periodStart: string;
  periodEnd: string;
  totalKwh: string;
  sharpKwh?: string | null;
  peakKwh?: string | null;
  flatKwh?: string | null;
  valleyKwh?: string | null;
  ytdKwh?: string;
  capacityKva?: string | null;
  maxDemandKw?: string | null;
  reactiveKvarh?: string | null;
  /** The parts of the period at each tariff when the customer's tariff changed inside it (they cover the period). */
  tariffSpans?: TariffSpan[] | null;
}

/** A part [from, to) of a bill period priced at one tariff. */
export interface TariffSpan {
  from: string;
  to: string;
  tariff: string;
}

export interface RatedLine {
  line_no: number;
  component: string;
  register: string;
  tier: number;
  version_id: number;
  seg_start: string;
  seg_end: string;
  quantity: string;
  unit_price: string;
  amount: string;
}

/** A rate_input from parameters: one row, or one per part when the tariff changed inside the period. */
export function rateInputOf(i: RatingInput): RawBuilder<unknown> {
  const spans = i.tariffSpans?.length ? i.tariffSpans : [{ from: i.periodStart, to: i.periodEnd, tariff: i.tariffCode }];
  return sql`SELECT 0::bigint AS customer_id, p.tariff AS tariff_code, ${i.periodStart}::date AS period_start,
    ${i.periodEnd}::date AS period_end, p."from" AS span_start, p."to" AS span_end,
    ${i.totalKwh}::numeric AS q_total, ${i.sharpKwh ?? null}::numeric AS q_sharp,
    ${i.peakKwh ?? null}::numeric AS q_peak, ${i.flatKwh ?? null}::numeric AS q_flat, ${i.valleyKwh ?? null}::numeric AS q_valley,
    ${i.ytdKwh ?? '0'}::numeric AS ytd_kwh, ${i.capacityKva ?? null}::numeric AS capacity_kva,
    ${i.maxDemandKw ?? null}::numeric AS max_demand_kw, ${i.reactiveKvarh ?? null}::numeric AS reactive_kvarh
    FROM jsonb_to_recordset(${JSON.stringify(spans)}::jsonb) AS p("from" date, "to" date, tariff text)`;
}

/** Rate one consumption (quotes, corrections): the same SQL as the billing run, over its one-customer input. */
export async function rateOne(db: Db, input: RatingInput): Promise<{ lines: RatedLine[]; amount: string }> {
  const res = await sql<RatedLine & { total: string }>`
    WITH rate_input AS (${rateInputOf(input)}), ${sql.raw(RATING_CTES)}
    SELECT line_no, component, register, tier, version_id, seg_start, seg_end, quantity, unit_price, amount,
      sum(amount) OVER () AS total
    FROM rate_lines ORDER BY line_no`.execute(db);
  return {
    lines: res.rows.map(({ total: _t, ...l }) => ({ ...l, line_no: Number(l.line_no), tier: Number(l.tier), version_id: Number(l.version_id) })),
    amount: res.rows[0]?.total ?? '0.00',
  };
}
