import { sql, type RawBuilder, type Transaction } from 'kysely';
import { runAll, type Db } from '../../platform/index.ts';
import { REGISTER_WRAP, registerUsed } from '../domain/register.ts';
import type { MeteringPolicy } from './policy.repository.ts';

export type VeeRule = 'reverse' | 'spike' | 'stuck_register' | 'zero_streak' | 'tariff_sum' | 'clock_error';

// readings a rule judges: real automatic or re-read values (a person's edit is already judged)
const judged = (t = 'meter_reading') => sql.raw(`${t}.quality IN ('actual', 're_read')`);
// readings that count as history
const real = (t = 'meter_reading') => sql.raw(`${t}.total_kwh IS NOT NULL AND ${t}.quality <> 'estimated'`);
// rule statements at once (a pooled database gives each its connection; one connection takes them in turn)
const RULES_AT_ONCE = 2;
// the Shanghai day a reading was received, and whether that was before the reading can exist (see clock_error)
const RECEIVED_ON = sql.raw(`((received_at AT TIME ZONE 'UTC') + interval '8 hours')::date`);
const EARLY = sql`(reading_date > ${RECEIVED_ON} OR (reading_date = ${RECEIVED_ON} AND source <> 'manual'))`;
// sum of the tariff registers, when the meter reports any
const TARIFF_SUM = sql.raw(`CASE WHEN num_nonnulls(sharp_kwh, peak_kwh, flat_kwh, valley_kwh) > 0
  THEN COALESCE(sharp_kwh, 0) + COALESCE(peak_kwh, 0) + COALESCE(flat_kwh, 0) + COALESCE(valley_kwh, 0) END`);

/**
 * Validation (VEE) of one day's readings, set-based, one INSERT per rule, two rules at once. Flags are keyed by
 * (meter, day, rule): rerunning adds nothing; a flag once resolved stays resolved. The meter-days whose reading was
 * replaced since their flags were raised are judged again first (recheckVeeFlags).
 */
export async function runVeeRules(db: Db, day: string, at: Date, p: MeteringPolicy): Promise<Record<VeeRule, number>> {
  await (db.isTransaction ? recheckVeeFlags(db as Transaction<unknown>, at, p) : db.transaction().execute((trx) => recheckVeeFlags(trx, at, p)));
  const d = sql`${day}::date`;
  const insert = async (rule: VeeRule, select: RawBuilder<unknown>) => {
    const r = await sql`
      INSERT INTO vee_flag (meter_id, reading_date, rule, detail, created_at)
      SELECT meter_id, ${d}, ${rule}, detail, ${at}::timestamptz FROM (${select}) f
      ON CONFLICT ON CONSTRAINT vee_flag_pkey DO NOTHING`.execute(db);
    return Number(r.numAffectedRows ?? 0);
  };
  const flagged: Record<VeeRule, number> = { reverse: 0, spike: 0, zero_streak: 0, stuck_register: 0, tariff_sum: 0, clock_error: 0 };
  // the rules are independent statements (each writes its own flags): on the server two run at once
  await runAll(veeRules(day, p, sql`true`).map(([name, select]) => async () => {
    flagged[name] = await insert(name, select);
  }), RULES_AT_ONCE);
  return flagged;
}

/** Who resolves a flag whose reading was replaced by one that passes the rule. */
const RECHECK = 'vee_recheck';

/** Whether some replaced meter-day waits for recheckVeeFlags (a look at the queue, without a transaction). */
export async function veeRecheckPending(db: Db): Promise<boolean> {
  return (await sql<{ pending: boolean }>`SELECT EXISTS (SELECT 1 FROM vee_recheck) AS pending`.execute(db)).rows[0]!.pending;
}

/**
 * Judge again the meter-days whose reading was replaced after VEE had flagged the meter on that day or later (vee_recheck,
 * queued by a trigger on meter_reading): the replaced day, and the meter's flagged days after it within the longest window
 * a rule looks back. Every rule the readings fail now is flagged, with the reason the new values give (a flag a recheck had
 * resolved is raised again); an open flag they pass is resolved. A person's resolution stays. Takes the queued meter-days
 * no other transaction holds; the caller's transaction owns them until it commits.
 */
export async function recheckVeeFlags(trx: Transaction<unknown>, at: Date, p: MeteringPolicy): Promise<{ failing: number; resolved: number }> {
  const horizon = Math.max(p.lookbackDays, p.spikeHistoryDays + 1, p.stuckDays, p.zeroStreakDays);
  const due = await sql<{ day: string; meter_ids: string[] }>`
    WITH q AS (
      DELETE FROM vee_recheck WHERE (meter_id, reading_date) IN (SELECT meter_id, reading_date FROM vee_recheck FOR UPDATE SKIP LOCKED)
      RETURNING meter_id, reading_date),
    judged AS (
      SELECT meter_id, reading_date FROM q
      UNION
      SELECT f.meter_id, f.reading_date FROM q
      JOIN vee_flag f ON f.meter_id = q.meter_id AND f.reading_date > q.reading_date AND f.reading_date <= q.reading_date + ${horizon}::int
      WHERE f.resolved_at IS NULL OR f.resolved_by = ${RECHECK})
    SELECT to_char(reading_date, 'YYYY-MM-DD') AS day, array_agg(meter_id::text) AS meter_ids FROM judged GROUP BY reading_date ORDER BY reading_date`.execute(trx);
  const result = { failing: 0, resolved: 0 };
  for (const { day, meter_ids: ids } of due.rows) {
    const meters = sql`${ids}::bigint[]`;
    const failing = veeRules(day, p, sql`t.meter_id = ANY(${meters})`).map(([rule, select]) => sql`SELECT ${rule}::text AS rule, meter_id, detail FROM (${select}) x`);
    const r = await sql<{ failing: number; resolved: number }>`
      WITH failing AS MATERIALIZED (${sql.join(failing, sql` UNION ALL `)}),
      flagged AS (
        INSERT INTO vee_flag (meter_id, reading_date, rule, detail, created_at)
        SELECT meter_id, ${day}::date, rule, detail, ${at}::timestamptz FROM failing
        ON CONFLICT ON CONSTRAINT vee_flag_pkey DO UPDATE SET detail = EXCLUDED.detail, resolved_at = NULL, resolved_by = NULL, resolution = NULL
        WHERE vee_flag.resolved_at IS NULL OR vee_flag.resolved_by = ${RECHECK}
        RETURNING 1),
      resolved AS (
        UPDATE vee_flag f SET resolved_at = ${at}::timestamptz, resolved_by = ${RECHECK},
          resolution = 'the reading was replaced; judged again, it passes the rule'
        WHERE f.reading_date = ${day}::date AND f.meter_id = ANY(${meters}) AND f.resolved_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM failing x WHERE x.meter_id = f.meter_id AND x.rule = f.rule)
        RETURNING 1)
      SELECT (SELECT count(*) FROM flagged)::int AS failing, (SELECT count(*) FROM resolved)::int AS resolved`.execute(trx);
    result.failing += r.rows[0]!.failing;
    result.resolved += r.rows[0]!.resolved;
  }
  return result;
}

/**
 * Each rule's SELECT of (meter_id, detail) for the readings of `day` it fails, among the meters `only` admits
 * (a condition on `t.meter_id`, where t is the judged reading).
 */
function veeRules(day: string, p: MeteringPolicy, only: RawBuilder<unknown>): [VeeRule, RawBuilder<unknown>][] {
  const d = sql`${day}::date`;
  const rules: [VeeRule, RawBuilder<unknown>][] = [];
  const rule = (name: VeeRule, select: RawBuilder<unknown>) => rules.push([name, select]);

  // the total register went below the meter's previous real reading (a rollover is no fall): yesterday's for the meters read
  // yesterday (one join of two days), else the latest within the lookback, looked up for those meters alone
  rule('reverse', sql`
    WITH t AS MATERIALIZED (
      SELECT t.meter_id, t.total_kwh, y.total_kwh AS y_total
      FROM meter_reading t
      LEFT JOIN meter_reading y ON y.meter_id = t.meter_id AND y.reading_date = ${d} - 1 AND ${real('y')}
      WHERE t.reading_date = ${d} AND ${judged('t')} AND t.total_kwh IS NOT NULL AND ${only}),
    pr AS (
      SELECT t.meter_id, t.total_kwh, t.y_total AS prev_total, ${d} - 1 AS prev_date FROM t WHERE t.y_total IS NOT NULL
      UNION ALL
      SELECT t.meter_id, t.total_kwh, p.total_kwh, p.reading_date
      FROM t JOIN LATERAL (SELECT reading_date, total_kwh FROM meter_reading q WHERE q.meter_id = t.meter_id AND q.reading_date < ${d} - 1
                             AND q.reading_date >= ${d} - ${p.lookbackDays}::int AND ${real('q')} ORDER BY q.reading_date DESC LIMIT 1) p ON true
      WHERE t.y_total IS NULL)
    SELECT pr.meter_id, jsonb_build_object('reason', format('total %s kWh is below the previous reading %s kWh of %s', pr.total_kwh, pr.prev_total, pr.prev_date),
             'total', pr.total_kwh, 'previousTotal', pr.prev_total, 'previousDate', pr.prev_date) AS detail
    FROM pr WHERE ${registerUsed('pr.total_kwh', 'pr.prev_total')} < 0`);

  // the day's consumption against the median of the meter's own daily consumption over the history window, or,
  // whatever the history, against the most the customer's supply can deliver in a day (contract kVA x 24 h, or the
  // policy's ceiling for a household); only a day over the floor can be a spike, so history is read (by index, per
  // meter) for those meters alone
  rule('spike', sql`
    WITH td AS MATERIALIZED (
      SELECT t.meter_id, ${registerUsed('t.total_kwh', 'y.total_kwh')} AS used,
             (SELECT CASE WHEN c.contract_capacity_kva IS NOT NULL THEN c.contract_capacity_kva * 24::numeric
                          WHEN c.kind = 'residential' THEN ${p.residentialMaxDailyKwh}::numeric END
              FROM service_point sp JOIN customer c ON c.id = sp.customer_id
              WHERE sp.meter_id = t.meter_id AND sp.removed_on IS NULL LIMIT 1) AS ceiling
      FROM meter_reading t
      JOIN meter_reading y ON y.meter_id = t.meter_id AND y.reading_date = ${d} - 1 AND ${real('y')}
      WHERE t.reading_date = ${d} AND ${judged('t')} AND ${real('t')} AND ${registerUsed('t.total_kwh', 'y.total_kwh')} > ${p.spikeFloorKwh}::numeric AND ${only}
    )
    SELECT td.meter_id, CASE WHEN td.used > td.ceiling
             THEN jsonb_build_object('reason', format('used %s kWh in a day, more than the supply can deliver (%s kWh)', td.used, td.ceiling),
                    'used', td.used, 'ceiling', td.ceiling, 'median', round(m.median, 4))
             ELSE jsonb_build_object('reason', format('used %s kWh in a day, over %s x the 30-day median %s kWh', td.used, ${p.spikeFactor}::numeric, round(m.median, 2)),
                    'used', td.used, 'median', round(m.median, 4), 'factor', ${p.spikeFactor}::numeric) END AS detail
    FROM td
    CROSS JOIN LATERAL (
      SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY h.used)::numeric AS median, count(*) AS n
      FROM (SELECT ${registerUsed('q.total_kwh', 'lag(q.total_kwh) OVER w')} AS used, q.reading_date - lag(q.reading_date) OVER w AS gap
            FROM meter_reading q
            WHERE q.meter_id = td.meter_id AND q.reading_date BETWEEN ${d} - ${p.spikeHistoryDays + 1}::int AND ${d} - 1 AND ${real('q')}
            WINDOW w AS (ORDER BY q.reading_date)) h
      WHERE h.gap = 1 AND h.used >= 0
    ) m
    WHERE (m.n >= ${p.spikeMinHistory}::int AND td.used > ${p.spikeFactor}::numeric * m.median) OR td.used > td.ceiling`);

  // a register standing still for N days stood still since yesterday: only those meters' windows are read
  const unchanged = sql`
    SELECT t.meter_id FROM meter_reading t
    JOIN meter_reading y ON y.meter_id = t.meter_id AND y.reading_date = ${d} - 1 AND ${real('y')} AND y.total_kwh = t.total_kwh
    WHERE t.reading_date = ${d} AND ${judged('t')} AND ${only}`;

  // every register unchanged for N days while the premise is occupied (active customer)
  rule('zero_streak', sql`
    SELECT w.meter_id, jsonb_build_object('reason', format('no consumption for %s days on an occupied premise', ${p.zeroStreakDays}::int),
             'days', ${p.zeroStreakDays}::int, 'total', w.total) AS detail
    FROM (
      SELECT meter_id, max(total_kwh) AS total FROM meter_reading
      WHERE reading_date BETWEEN ${d} - ${p.zeroStreakDays}::int AND ${d} AND ${real()} AND meter_id IN (${unchanged})
      GROUP BY meter_id
      HAVING count(*) = ${p.zeroStreakDays + 1}::int AND max(total_kwh) = min(total_kwh)
         AND max(${TARIFF_SUM}) IS NOT DISTINCT FROM min(${TARIFF_SUM})
         AND bool_or(reading_date = ${d} AND ${judged()})
    ) w
    WHERE EXISTS (SELECT 1 FROM service_point sp JOIN customer c ON c.id = sp.customer_id
                  WHERE sp.meter_id = w.meter_id AND sp.removed_on IS NULL AND c.status = 'active')`);

  // the total register stands still for N days while the tariff registers keep counting
  rule('stuck_register', sql`
    SELECT meter_id, jsonb_build_object('reason', format('total register unchanged for %s days while the tariff registers advanced %s kWh',
             ${p.stuckDays}::int, max(${TARIFF_SUM}) - min(${TARIFF_SUM})), 'days', ${p.stuckDays}::int, 'total', max(total_kwh)) AS detail
    FROM meter_reading
    WHERE reading_date BETWEEN ${d} - ${p.stuckDays}::int AND ${d} AND ${real()} AND meter_id IN (${unchanged})
    GROUP BY meter_id
    HAVING count(*) = ${p.stuckDays + 1}::int AND max(total_kwh) = min(total_kwh)
       AND max(${TARIFF_SUM}) - min(${TARIFF_SUM}) > ${p.tariffToleranceKwh}::numeric
       AND bool_or(reading_date = ${d} AND ${judged()})`);

  rule('tariff_sum', sql`
    SELECT meter_id, jsonb_build_object('reason', format('tariff registers sum to %s kWh, total is %s kWh', ${TARIFF_SUM}, total_kwh),
             'tariffSum', ${TARIFF_SUM}, 'total', total_kwh) AS detail
    FROM meter_reading t
    -- a total that rolled over while tariff registers have not (yet) sits a whole register below their sum
    CROSS JOIN LATERAL (SELECT CASE WHEN total_kwh < ${REGISTER_WRAP} AND ${TARIFF_SUM} > total_kwh
                                 THEN least(mod(${TARIFF_SUM} - total_kwh, ${REGISTER_WRAP}), ${REGISTER_WRAP} - mod(${TARIFF_SUM} - total_kwh, ${REGISTER_WRAP}))
                                 ELSE abs(${TARIFF_SUM} - total_kwh) END AS off) x
    WHERE reading_date = ${d} AND ${judged('t')} AND ${only} AND total_kwh IS NOT NULL AND ${TARIFF_SUM} IS NOT NULL
      AND x.off > GREATEST(${p.tariffToleranceKwh}::numeric, ${p.tariffToleranceRatio}::numeric * total_kwh)`);

  // a reading received before it can exist, or a meter clock off by more than the policy. An automatic reading of day d is the
  // register frozen at 00:00 after d, so it arrives on d + 1 (Shanghai) at the earliest: the ingest quarantines an earlier one
  // as not_yet_frozen, and this catches what reached the store without the ingest (the front-end). A person reads on site on
  // the reading's day.
  rule('clock_error', sql`
    SELECT meter_id, jsonb_build_object('reason', CASE WHEN ${EARLY}
               THEN format('reading dated %s arrived on %s, before its register was frozen', reading_date, ${RECEIVED_ON})
               ELSE format('meter clock off by %s s', clock_drift_s) END,
             'clockDriftSeconds', clock_drift_s, 'receivedAt', received_at) AS detail
    FROM meter_reading t
    WHERE reading_date = ${d} AND ${judged('t')} AND ${only} AND (${EARLY} OR abs(clock_drift_s) > ${p.maxClockDriftS}::int)`);

  return rules;
}

/**
 * Estimate the cycle reading (day = the cycle's reading day, e.g. C11 → the 11th) of meters without one:
 * linear interpolation between the real neighbours when a later reading exists, else the previous
 * reading plus the meter's average daily use over the 30 days before it. Quality 'estimated'; an actual
 * reading arriving later replaces it.
 */
export async function estimateCycleReadings(db: Db, day: string, at: Date, p: MeteringPolicy): Promise<{ interpolated: number; extrapolated: number }> {
  if (!p.estimationAllowed) return { interpolated: 0, extrapolated: 0 };
  const d = sql`${day}::date`;
  const r = await sql<{ method: string; n: number }>`
    WITH due AS MATERIALIZED (
      SELECT sp.meter_id FROM service_point sp JOIN customer c ON c.id = sp.customer_id JOIN meter me ON me.id = sp.meter_id
      WHERE sp.removed_on IS NULL AND sp.installed_on <= ${d} AND me.state = 'installed' AND c.status <> 'closed'
        AND (CASE WHEN c.billing_cycle ~ '^C[0-9]{2}$' THEN substr(c.billing_cycle, 2)::int = extract(day from ${d})::int ELSE false END)
        AND NOT EXISTS (SELECT 1 FROM meter_reading r WHERE r.meter_id = sp.meter_id AND r.reading_date = ${d} AND r.total_kwh IS NOT NULL)
    ),
    est AS (
      SELECT u.meter_id,
             CASE WHEN nx.reading_date IS NOT NULL THEN 'interpolated' ELSE 'extrapolated' END AS method,
             -- the register as it would read: past the top of a register that wraps, from 0 again
             CASE WHEN pv.total_kwh < ${REGISTER_WRAP} AND v.total >= ${REGISTER_WRAP} THEN v.total - ${REGISTER_WRAP} ELSE v.total END AS total
      FROM due u
      JOIN LATERAL (SELECT reading_date, total_kwh FROM meter_reading q WHERE q.meter_id = u.meter_id AND q.reading_date < ${d}
                      AND q.reading_date >= ${d} - ${p.estimationMaxGapDays}::int AND ${real('q')} ORDER BY q.reading_date DESC LIMIT 1) pv ON true
      LEFT JOIN LATERAL (SELECT reading_date, total_kwh FROM meter_reading q WHERE q.meter_id = u.meter_id AND q.reading_date > ${d}
                      AND q.reading_date <= ${d} + ${p.estimationMaxGapDays}::int AND ${real('q')} AND ${registerUsed('q.total_kwh', 'pv.total_kwh')} >= 0
                      ORDER BY q.reading_date LIMIT 1) nx ON true
      LEFT JOIN LATERAL (SELECT reading_date, total_kwh FROM meter_reading q WHERE q.meter_id = u.meter_id AND q.reading_date < pv.reading_date
                      AND q.reading_date >= pv.reading_date - 30 AND ${real('q')} AND ${registerUsed('pv.total_kwh', 'q.total_kwh')} >= 0
                      ORDER BY q.reading_date LIMIT 1) fs ON true
      CROSS JOIN LATERAL (SELECT round(CASE
               WHEN nx.reading_date IS NOT NULL
                 THEN pv.total_kwh + ${registerUsed('nx.total_kwh', 'pv.total_kwh')} * (${d} - pv.reading_date) / (nx.reading_date - pv.reading_date)
               WHEN fs.reading_date IS NOT NULL
                 THEN pv.total_kwh + ${registerUsed('pv.total_kwh', 'fs.total_kwh')} / (pv.reading_date - fs.reading_date) * (${d} - pv.reading_date)
               ELSE pv.total_kwh END, 2) AS total) v
    ),
    ins AS (
      INSERT INTO meter_reading (meter_id, reading_date, total_kwh, quality, source, received_at)
      SELECT meter_id, ${d}, total, 'estimated', 'estimate', ${at}::timestamptz FROM est
      ON CONFLICT ON CONSTRAINT meter_reading_pkey DO UPDATE SET total_kwh = EXCLUDED.total_kwh, quality = 'estimated',
        source = 'estimate', received_at = EXCLUDED.received_at
      WHERE meter_reading.total_kwh IS NULL
      RETURNING meter_id
    )
    SELECT e.method, count(*)::int AS n FROM ins JOIN est e ON e.meter_id = ins.meter_id GROUP BY e.method`.execute(db);
  const by = Object.fromEntries(r.rows.map((x) => [x.method, x.n]));
  return { interpolated: by.interpolated ?? 0, extrapolated: by.extrapolated ?? 0 };
}

export interface VeeFlag {
  meterId: number;
  commAddress: string;
  readingDate: string;
  rule: VeeRule;
  reason: string;
  detail: Record<string, unknown>;
  createdAt: Date;
  resolvedAt: Date | null;
  resolvedBy: string | null;
  resolution: string | null;
}

/** Flags in the caller's scope, newest day first, filtered by day, rule and open/resolved. */
export async function listVeeFlags(db: Db, f: { scopePath: string; day?: string; rule?: VeeRule; open?: boolean; meterId?: number; limit: number; offset: number }) {
  const r = await sql<{ meter_id: number; comm_address: string; reading_date: string; rule: VeeRule; detail: Record<string, unknown>; created_at: Date; resolved_at: Date | null; resolved_by: string | null; resolution: string | null; total: number }>`
    SELECT f.*, me.comm_address, count(*) OVER ()::int AS total
    FROM vee_flag f
    JOIN meter me ON me.id = f.meter_id
    JOIN service_point sp ON sp.meter_id = f.meter_id AND sp.removed_on IS NULL
    JOIN customer c ON c.id = sp.customer_id
    WHERE c.org_path LIKE ${f.scopePath + '%'}
      AND (${f.day ?? null}::date IS NULL OR f.reading_date = ${f.day ?? null}::date)
      AND (${f.rule ?? null}::text IS NULL OR f.rule = ${f.rule ?? null}::text)
      AND (${f.meterId ?? null}::bigint IS NULL OR f.meter_id = ${f.meterId ?? null}::bigint)
      AND (${f.open ?? null}::boolean IS NULL OR (f.resolved_at IS NULL) = ${f.open ?? null}::boolean)
    ORDER BY f.reading_date DESC, f.meter_id, f.rule
    LIMIT ${f.limit} OFFSET ${f.offset}`.execute(db);
  return {
    total: r.rows[0]?.total ?? 0,
    items: r.rows.map((x): VeeFlag => ({
      meterId: Number(x.meter_id), commAddress: x.comm_address, readingDate: x.reading_date, rule: x.rule, reason: String(x.detail.reason ?? ''),
      detail: x.detail, createdAt: x.created_at, resolvedAt: x.resolved_at, resolvedBy: x.resolved_by, resolution: x.resolution,
    })),
  };
}
