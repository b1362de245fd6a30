import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';
import { addMonths, type PeriodBounds } from '../domain/period.ts';
import { RATING_CTES } from './rating.ts';

export interface BillingRunRow {
  id: number;
  cycle_code: string;
  period: string;
  period_start: string;
  period_end: string;
  status: 'preparing' | 'rating' | 'completed';
  readings_source: string;
  chunk_size: number;
  first_customer_id: number | null;
  last_customer_id: number | null;
  next_customer_id: number | null;
  chunks_total: number;
  customers_total: number;
  customers_skipped: number;
  chunks_done: number;
  bills_created: number;
  bills_held: number;
  bills_released: number;
  started_at: Date;
  finished_at: Date | null;
  started_by: string;
}

export interface BillingCycleRow {
  code: string;
  reading_day: number;
  due_days: number;
  name: string;
}

export async function findCycle(db: Db, code: string): Promise<BillingCycleRow | undefined> {
  return (await sql<BillingCycleRow>`SELECT * FROM billing_cycle WHERE code = ${code}`.execute(db)).rows[0];
}

/** Codes of the billing cycles whose reading day (抄表例日) is this day of the month. */
export async function cyclesReadOn(db: Db, dayOfMonth: number): Promise<string[]> {
  return (await sql<{ code: string }>`SELECT code FROM billing_cycle WHERE reading_day = ${dayOfMonth} ORDER BY code`.execute(db)).rows.map((r) => r.code);
}

export async function findRun(db: Db, id: number): Promise<BillingRunRow | undefined> {
  return (await sql<BillingRunRow>`SELECT * FROM billing_run WHERE id = ${id}`.execute(db)).rows[0];
}

/** The run of (cycle, period), created on first call: the idempotency key of a billing run. */
export async function openRun(db: Db, r: { cycle: string; bounds: PeriodBounds; readingsSource: string; chunkSize: number; at: Date; by: string }): Promise<BillingRunRow> {
  await sql`
    INSERT INTO billing_run (cycle_code, period, period_start, period_end, readings_source, chunk_size, started_at, started_by)
    VALUES (${r.cycle}, ${r.bounds.period}, ${r.bounds.start}, ${r.bounds.end}, ${r.readingsSource}, ${r.chunkSize}, ${r.at}, ${r.by})
    ON CONFLICT ON CONSTRAINT billing_run_cycle_period_key DO NOTHING`.execute(db);
  return (await sql<BillingRunRow>`SELECT * FROM billing_run WHERE cycle_code = ${r.cycle} AND period = ${r.bounds.period}`.execute(db)).rows[0]!;
}

/** The readings relation: metering's view (with VEE flags) when it exists, else the raw store. */
export async function readingsSource(db: Db): Promise<string> {
  const r = await sql<{ v: string | null }>`SELECT to_regclass('v_meter_reading')::text AS v`.execute(db);
  return r.rows[0]!.v ? 'v_meter_reading' : 'meter_reading';
}

interface RuleParams {
  historyPeriods: number;
  estimatedPeriods: number;
}

async function ruleParams(db: Db): Promise<RuleParams> {
  const r = await sql<{ code: string; periods: number | null }>`
    SELECT code, periods FROM review_rule WHERE code IN ('HIGH_VS_HISTORY', 'ESTIMATED_STREAK') AND category = '*'`.execute(db);
  const get = (c: string, d: number) => r.rows.find((x) => x.code === c)?.periods ?? d;
  return { historyPeriods: get('HIGH_VS_HISTORY', 6), estimatedPeriods: get('ESTIMATED_STREAK', 3) };
}

/** The customer ids of a run's cycle split into `slices` ranges [lo, hi) of equal width, for staging in parallel. */
export async function stageSlices(db: Db, run: BillingRunRow, slices: number): Promise<{ slice: number; lo: number; hi: number }[]> {
  const r = (await sql<{ lo: number | null; hi: number | null }>`
    SELECT min(id) AS lo, max(id) AS hi FROM customer WHERE billing_cycle = ${run.cycle_code} AND status <> 'closed'`.execute(db)).rows[0];
  if (!r || r.lo === null || r.hi === null) return [];
  const lo = Number(r.lo);
  const width = Math.ceil((Number(r.hi) + 1 - lo) / slices);
  return Array.from({ length: slices }, (_, k) => ({ slice: k, lo: lo + k * width, hi: lo + (k + 1) * width }));
}

/**
 * Stage the customers of the cycle with ids in [lo, hi): consumption (sum over the meters installed
 * in the period, so a meter exchange adds old-meter and new-meter consumption), tier-year consumption
 * and review history. Slices of a run are staged in parallel, each in its own transaction; a slice
 * holds an advisory lock on (run, slice) so concurrent starts of a run stage each slice in turn, and
 * a slice staged again (a resumed run) adds nothing. A no-op once the run is past preparing.
 */
export async function stageSlice(db: Db, run: BillingRunRow, slice: { slice: number; lo: number; hi: number }): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${run.id}::int, ${slice.slice}::int)`.execute(db);
  const st = (await sql<{ status: string }>`SELECT status FROM billing_run WHERE id = ${run.id}`.execute(db)).rows[0];
  if (st?.status !== 'preparing') return;
  const { historyPeriods, estimatedPeriods } = await ruleParams(db);
  // Summing the readings per customer: a hash table of a numeric aggregate state per customer costs
  // more (memory and time) than sorting the segments by customer and aggregating them in order.
  await sql`SET LOCAL enable_hashagg = off`.execute(db);
  const start = sql.lit(run.period_start);
  const end = sql.lit(run.period_end);
  const readings = sql.table(run.readings_source === 'v_meter_reading' ? 'v_meter_reading' : 'meter_reading');
  const vee = run.readings_source === 'v_meter_reading'
    ? sql`bool_or(coalesce(b.has_open_vee_flag, false) OR coalesce(e.has_open_vee_flag, false))`
    : sql`false`;
  const py = Number(run.period.slice(0, 4));
  const pm = Number(run.period.slice(5, 7));
  const usable = sql`('actual', 're_read', 'edited', 'estimated')`;
  // The days a meter segment can start and end on: the period's bounds, plus the installs and
  // removals inside the period. Given as constants, they let the readings join prune to those days'
  // partitions and rows instead of hashing every reading of the period on both sides.
  const moves = (await sql<{ d0: string[] | null; d1: string[] | null }>`
    SELECT array_agg(DISTINCT installed_on::text) FILTER (WHERE installed_on > ${start} AND installed_on < ${end}) AS d0,
           array_agg(DISTINCT removed_on::text) FILTER (WHERE removed_on > ${start} AND removed_on < ${end}) AS d1
    FROM service_point
    WHERE (installed_on > ${start} AND installed_on < ${end}) OR (removed_on > ${start} AND removed_on < ${end})`.execute(db)).rows[0];
  const days = (bound: string, more: string[] | null | undefined) =>
    sql.join([bound, ...(more ?? [])].map((d) => sql`${sql.lit(String(d).slice(0, 10))}::date`));
  const startDays = days(run.period_start, moves?.d0);
  const endDays = days(run.period_end, moves?.d1);
  await sql`
    INSERT INTO billing_run_input (run_id, customer_id, customer_number, tariff_code, category, customer_status, org_path,
      transformer_area_id, capacity_kva, max_demand_kw, reactive_kvarh, q_total, q_sharp, q_peak, q_flat, q_valley,
      reading_quality, vee_flag, ytd_kwh, hist_count, hist_kwh_per_day, estimated_before, skip_reason)
    WITH cust AS (
      SELECT c.id, c.number, c.tariff_code, c.category, c.status, c.org_path, c.transformer_area_id, c.contract_capacity_kva,
        to_char(make_date(${py}::int - CASE WHEN ${pm}::int >= t.tier_year_start_month THEN 0 ELSE 1 END, t.tier_year_start_month, 1), 'YYYY-MM') AS tier_year_from,
        EXISTS (SELECT 1 FROM tariff_version v WHERE v.tariff_code = c.tariff_code AND v.effective_from <= ${start}) AS has_tariff
      FROM customer c LEFT JOIN tariff t ON t.code = c.tariff_code
      WHERE c.billing_cycle = ${run.cycle_code} AND c.status <> 'closed' AND c.id >= ${slice.lo} AND c.id < ${slice.hi}
    ),
    seg AS (
      SELECT sp.customer_id, sp.meter_id, greatest(sp.installed_on, ${start}) AS d0, least(coalesce(sp.removed_on, ${end}), ${end}) AS d1
      FROM service_point sp JOIN cust c ON c.id = sp.customer_id
      WHERE sp.installed_on < ${end} AND (sp.removed_on IS NULL OR sp.removed_on > ${start})
    ),
    rd AS (
      SELECT s.customer_id,
        sum(e.total_kwh - b.total_kwh) AS q_total, sum(e.sharp_kwh - b.sharp_kwh) AS q_sharp, sum(e.peak_kwh - b.peak_kwh) AS q_peak,
        sum(e.flat_kwh - b.flat_kwh) AS q_flat, sum(e.valley_kwh - b.valley_kwh) AS q_valley,
        bool_or(b.total_kwh IS NULL OR e.total_kwh IS NULL) AS missing,
        max(CASE WHEN b.quality = 'estimated' OR e.quality = 'estimated' THEN 3 WHEN b.quality = 're_read' OR e.quality = 're_read' THEN 2
                 WHEN b.quality = 'edited' OR e.quality = 'edited' THEN 1 ELSE 0 END) AS quality_rank,
        ${vee} AS vee_flag
      FROM seg s
      LEFT JOIN ${readings} b ON b.meter_id = s.meter_id AND b.reading_date = s.d0 AND b.reading_date IN (${startDays}) AND b.quality IN ${usable}
      LEFT JOIN ${readings} e ON e.meter_id = s.meter_id AND e.reading_date = s.d1 AND e.reading_date IN (${endDays}) AND e.quality IN ${usable}
      GROUP BY s.customer_id
    ),
    hist AS (
      SELECT h.customer_id,
        sum(h.consumption_kwh) FILTER (WHERE h.period >= c.tier_year_from AND h.status <> 'voided') AS ytd,
        count(*) FILTER (WHERE h.period >= ${addMonths(run.period, -historyPeriods)} AND h.kind <> 'credit' AND h.status = 'released' AND cr.id IS NULL) AS n,
        avg(h.consumption_kwh / greatest(1, h.period_end - h.period_start))
          FILTER (WHERE h.period >= ${addMonths(run.period, -historyPeriods)} AND h.kind <> 'credit' AND h.status = 'released' AND cr.id IS NULL) AS per_day,
        count(*) FILTER (WHERE h.period >= ${addMonths(run.period, 1 - estimatedPeriods)} AND h.kind = 'bill' AND h.reading_quality = 'estimated') AS est
      FROM bill h
      JOIN cust c ON c.id = h.customer_id
      LEFT JOIN bill cr ON cr.customer_id = h.customer_id AND cr.period = h.period AND cr.kind = 'credit' AND cr.original_bill_id = h.id
      WHERE h.period >= least(c.tier_year_from, ${addMonths(run.period, -Math.max(historyPeriods, estimatedPeriods))}) AND h.period < ${run.period}
      GROUP BY h.customer_id
    )
    SELECT ${run.id}::bigint, c.id, c.number, c.tariff_code, c.category, c.status, c.org_path, c.transformer_area_id, c.contract_capacity_kva,
      m.max_demand_kw, m.reactive_kvarh, rd.q_total, rd.q_sharp, rd.q_peak, rd.q_flat, rd.q_valley,
      (ARRAY['actual', 'edited', 're_read', 'estimated'])[rd.quality_rank + 1], coalesce(rd.vee_flag, false),
      coalesce(h.ytd, 0), coalesce(h.n, 0), h.per_day, coalesce(h.est, 0),
      CASE WHEN rd.customer_id IS NULL THEN 'NO_METER' WHEN rd.missing THEN 'MISSING_READING'
           WHEN NOT c.has_tariff THEN 'NO_TARIFF' END
    FROM cust c
    LEFT JOIN rd ON rd.customer_id = c.id
    LEFT JOIN hist h ON h.customer_id = c.id
    LEFT JOIN billing_period_measure m ON m.customer_id = c.id AND m.period = ${run.period}
    ON CONFLICT ON CONSTRAINT billing_run_input_pkey DO NOTHING`.execute(db);
}

/**
 * Close the staging of a run once every slice is staged: statistics, the peer averages of the whole
 * run, the counts and the chunks. Under the run's row lock: a concurrent caller waits, then finds the
 * run already rating.
 */
export async function finishStaging(db: Db, run: BillingRunRow): Promise<void> {
  const locked = (await sql<{ status: string }>`SELECT status FROM billing_run WHERE id = ${run.id} FOR UPDATE`.execute(db)).rows[0];
  if (locked?.status !== 'preparing') return;
  // the chunk statements plan on these rows: without fresh statistics they assume a handful
  await sql`ANALYZE billing_run_input`.execute(db);

  await sql`
    INSERT INTO billing_run_peer (run_id, transformer_area_id, tariff_code, customers, avg_kwh_per_day)
    SELECT run_id, transformer_area_id, tariff_code, count(*), round(avg(q_total / (${run.period_end}::date - ${run.period_start}::date)), 4)
    FROM billing_run_input WHERE run_id = ${run.id} AND skip_reason IS NULL
    GROUP BY run_id, transformer_area_id, tariff_code
    ON CONFLICT ON CONSTRAINT billing_run_peer_pkey DO NOTHING`.execute(db);

  await sql`
    UPDATE billing_run r SET status = 'rating', customers_total = s.n, customers_skipped = s.skipped,
      first_customer_id = s.lo, last_customer_id = s.hi, next_customer_id = s.lo
    FROM (SELECT count(*)::int AS n, (count(*) FILTER (WHERE skip_reason IS NOT NULL))::int AS skipped,
            min(customer_id) AS lo, max(customer_id) AS hi
          FROM billing_run_input WHERE run_id = ${run.id}) s
    WHERE r.id = ${run.id}`.execute(db);
  await planChunks(db, run.id);
}

/**
 * Split the run's customer id range into chunks of chunk_size, once; chunks below next_customer_id
 * (a run resumed from before chunks were recorded) are already done.
 */
export async function planChunks(db: Db, runId: number): Promise<void> {
  await sql`
    INSERT INTO billing_run_chunk (run_id, chunk_no, lo, hi, done_at)
    SELECT r.id, k, r.first_customer_id + k::bigint * r.chunk_size, r.first_customer_id + (k + 1)::bigint * r.chunk_size,
      CASE WHEN r.first_customer_id + (k + 1)::bigint * r.chunk_size <= r.next_customer_id THEN r.started_at END
    FROM billing_run r
    CROSS JOIN LATERAL generate_series(0, ((r.last_customer_id - r.first_customer_id) / r.chunk_size)::int) AS k
    WHERE r.id = ${runId} AND r.first_customer_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM billing_run_chunk c WHERE c.run_id = r.id)`.execute(db);
  await sql`UPDATE billing_run SET chunks_total = (SELECT count(*) FROM billing_run_chunk WHERE run_id = ${runId}) WHERE id = ${runId}`.execute(db);
}

export interface RunChunk {
  chunk_no: number;
  lo: number;
  hi: number;
}

/** Claim an open chunk of the run for this transaction; chunks other workers hold are skipped. */
export async function claimChunk(db: Db, runId: number): Promise<RunChunk | undefined> {
  const r = await sql<RunChunk>`
    SELECT chunk_no, lo, hi FROM billing_run_chunk WHERE run_id = ${runId} AND done_at IS NULL
    ORDER BY chunk_no LIMIT 1 FOR UPDATE SKIP LOCKED`.execute(db);
  const c = r.rows[0];
  return c && { chunk_no: Number(c.chunk_no), lo: Number(c.lo), hi: Number(c.hi) };
}

/**
 * Rate, check and write the bills of customers [lo, hi) of the run in one statement: lines from the
 * shared rating CTEs, review holds from the rules, then bill, lines and holds together. The bill key
 * (customer, period) makes a repeated chunk a no-op; lines and holds follow only newly inserted bills.
 * A bill no rule holds is released as its chunk commits: every rule input (history, peers of the
 * whole run) was staged before the first chunk, so nothing later in the run can change the verdict,
 * and a separate release pass would rewrite every row of the run once more.
 */
export async function rateChunk(db: Db, run: BillingRunRow, lo: number, hi: number, at: Date, issuedOn: string): Promise<{ created: number; held: number }> {
  const pdays = sql.lit(Math.round((Date.parse(run.period_end) - Date.parse(run.period_start)) / 86_400_000));
  const res = await sql<{ created: number; held: number }>`
    WITH chunk AS (
      SELECT * FROM billing_run_input
      WHERE run_id = ${run.id} AND customer_id >= ${lo} AND customer_id < ${hi} AND skip_reason IS NULL
    ),
    rate_input AS (
      SELECT customer_id, tariff_code, ${run.period_start}::date AS period_start, ${run.period_end}::date AS period_end,
        q_total, q_sharp, q_peak, q_flat, q_valley, ytd_kwh, capacity_kva, max_demand_kw, reactive_kvarh
      FROM chunk
    ),
    ${sql.raw(RATING_CTES)},
    totals AS (SELECT customer_id, sum(amount) AS amount FROM rate_lines GROUP BY customer_id),
    rule AS (SELECT * FROM review_rule WHERE enabled),
    holds AS (
      SELECT c.customer_id, r.code, 'consumption ' || c.q_total || ' kWh' AS detail
      FROM chunk c JOIN rule r ON r.code = 'NEGATIVE_CONSUMPTION' AND r.category IN ('*', c.category) WHERE c.q_total < 0
      UNION ALL
      SELECT c.customer_id, r.code, 'zero consumption on an active customer'
      FROM chunk c JOIN rule r ON r.code = 'ZERO_ON_ACTIVE' AND r.category IN ('*', c.category)
      WHERE c.q_total = 0 AND c.customer_status = 'active'
      UNION ALL
      SELECT c.customer_id, r.code, (c.estimated_before + 1) || ' estimated periods in a row'
      FROM chunk c JOIN rule r ON r.code = 'ESTIMATED_STREAK' AND r.category IN ('*', c.category)
      WHERE c.reading_quality = 'estimated' AND c.estimated_before + 1 >= r.periods
      UNION ALL
      SELECT c.customer_id, r.code, round(c.q_total / ${pdays}, 2) || ' kWh/day vs own average ' || round(c.hist_kwh_per_day, 2)
      FROM chunk c JOIN rule r ON r.code = 'HIGH_VS_HISTORY' AND r.category IN ('*', c.category)
      WHERE c.hist_count >= r.min_count AND c.q_total >= r.min_kwh AND c.q_total / ${pdays} > r.factor * c.hist_kwh_per_day
      UNION ALL
      SELECT c.customer_id, r.code, round(c.q_total / ${pdays}, 2) || ' kWh/day vs peer average ' || round(p.avg_kwh_per_day, 2)
      FROM chunk c JOIN rule r ON r.code = 'HIGH_VS_PEERS' AND r.category IN ('*', c.category)
      JOIN billing_run_peer p ON p.run_id = c.run_id AND p.transformer_area_id = c.transformer_area_id AND p.tariff_code = c.tariff_code
      WHERE p.customers >= r.min_count AND c.q_total >= r.min_kwh AND c.q_total / ${pdays} > r.factor * p.avg_kwh_per_day
      UNION ALL
      SELECT c.customer_id, r.code, 'amount ' || t.amount || ' above ' || r.threshold
      FROM chunk c JOIN totals t ON t.customer_id = c.customer_id
      JOIN rule r ON r.code = 'AMOUNT_ABOVE' AND r.category IN ('*', c.category) WHERE t.amount > r.threshold
      UNION ALL
      SELECT c.customer_id, r.code, 'open VEE flag on a reading used'
      FROM chunk c JOIN rule r ON r.code = 'VEE_FLAG' AND r.category IN ('*', c.category) WHERE c.vee_flag
    ),
    held AS (SELECT DISTINCT customer_id FROM holds),
    new_bill AS (
      INSERT INTO bill (bill_no, kind, customer_id, run_id, cycle_code, period, org_path, tariff_code, period_start, period_end,
        consumption_kwh, sharp_kwh, peak_kwh, flat_kwh, valley_kwh, ytd_kwh, capacity_kva, max_demand_kw, reactive_kvarh,
        reading_quality, amount, status, issued_on, due_date, released_at, released_by, created_at)
      SELECT 'B' || ${run.period.replace('-', '')} || '-' || c.customer_number, 'bill', c.customer_id, ${run.id}, ${run.cycle_code},
        ${run.period}, c.org_path, c.tariff_code, ${run.period_start}::date, ${run.period_end}::date,
        c.q_total, c.q_sharp, c.q_peak, c.q_flat, c.q_valley, c.ytd_kwh, c.capacity_kva, c.max_demand_kw, c.reactive_kvarh,
        c.reading_quality, coalesce(t.amount, 0), CASE WHEN h.customer_id IS NULL THEN 'released' ELSE 'held' END,
        CASE WHEN h.customer_id IS NULL THEN ${issuedOn}::date END, CASE WHEN h.customer_id IS NULL THEN ${issuedOn}::date + cy.due_days END,
        CASE WHEN h.customer_id IS NULL THEN ${at}::timestamptz END, CASE WHEN h.customer_id IS NULL THEN 'auto' END, ${at}::timestamptz
      FROM chunk c LEFT JOIN totals t ON t.customer_id = c.customer_id LEFT JOIN held h ON h.customer_id = c.customer_id
      JOIN billing_cycle cy ON cy.code = ${run.cycle_code}
      ON CONFLICT ON CONSTRAINT bill_customer_period_key DO NOTHING
      RETURNING id, customer_id, status
    ),
    new_line AS (
      INSERT INTO bill_line (bill_id, line_no, customer_id, component, register, tier, tariff_version_id, segment_start, segment_end,
        quantity, unit_price, amount)
      SELECT b.id, l.line_no, l.customer_id, l.component, l.register, l.tier, l.version_id, l.seg_start, l.seg_end, l.quantity, l.unit_price, l.amount
      FROM new_bill b JOIN rate_lines l ON l.customer_id = b.customer_id
    ),
    new_hold AS (
      INSERT INTO bill_hold (bill_id, rule_code, detail)
      SELECT b.id, h.code, h.detail FROM new_bill b JOIN holds h ON h.customer_id = b.customer_id
      ON CONFLICT ON CONSTRAINT bill_hold_pkey DO NOTHING
    )
    SELECT count(*)::int AS created, (count(*) FILTER (WHERE status = 'held'))::int AS held FROM new_bill`.execute(db);
  return res.rows[0]!;
}

/**
 * Mark a claimed chunk done with its counts, in the chunk's transaction, and advance the run's
 * progress: next_customer_id is the lowest customer id of a chunk not yet done.
 */
export async function finishChunk(db: Db, runId: number, chunk: RunChunk, created: number, held: number, at: Date): Promise<void> {
  await sql`
    UPDATE billing_run_chunk SET done_at = ${at}::timestamptz, bills_created = ${created}, bills_held = ${held}
    WHERE run_id = ${runId} AND chunk_no = ${chunk.chunk_no}`.execute(db);
  await sql`
    UPDATE billing_run SET chunks_done = chunks_done + 1,
      next_customer_id = coalesce((SELECT min(lo) FROM billing_run_chunk WHERE run_id = ${runId} AND done_at IS NULL), last_customer_id + 1),
      bills_created = bills_created + ${created}, bills_held = bills_held + ${held}, bills_released = bills_released + ${created - held}
    WHERE id = ${runId}`.execute(db);
}

/** Close the run once every chunk is rated (a no-op while a chunk is still open or the run is closed). */
export async function completeRun(db: Db, run: BillingRunRow, at: Date): Promise<void> {
  await sql`
    UPDATE billing_run SET status = 'completed', finished_at = ${at}::timestamptz
    WHERE id = ${run.id} AND status = 'rating'
      AND NOT EXISTS (SELECT 1 FROM billing_run_chunk WHERE run_id = ${run.id} AND done_at IS NULL)`.execute(db);
}
