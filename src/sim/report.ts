/**
 * The headline figures of the reform, computed from what the simulation left in the database: read
 * success, re-reads, bills, collection, the share of overdue cases cleared without a person, manual
 * tasks, and the staff needed against the manual baseline of DOMAIN.md.
 */
import { sql } from 'kysely';
import type { AppContext } from '../platform/index.ts';

/** Staffing assumptions; the manual baseline's 3,000 households per reader a month is DOMAIN.md's. */
export const STAFFING = {
  manualHouseholdsPerReaderMonth: 3000,
  /** Door-to-door or targeted visits one person makes in a month (~15 a working day). */
  visitsPerPersonMonth: 300,
  /** On-site re-reads one collection-team member makes in a month. */
  reReadsPerPersonMonth: 300,
  /** Transformer areas one collection-operations member keeps healthy remotely (~60,000 households). */
  areasPerOperator: 200,
};

export interface SimulationReport {
  window: { from: string; billingEnd: string; to: string; days: number; billingMonths: number; wallSeconds: number };
  customers: number;
  meters: number;
  /**
   * Per meter-day of the window, against the meters in scope that day (installed, on an active service
   * point): `average` counts a valid (real, not estimated) reading from any source, on-site re-reads
   * included (DOMAIN.md's read-success rate); `automatic` counts only what collection delivered.
   */
  readSuccess: { average: number; automatic: number; worstDay: number; meterDaysRead: number; meterDaysAutomatic: number; meterDaysExpected: number };
  reReadTasks: { opened: number; closed: number; closedOnSite: number; closedByLateReading: number };
  /** Bills of the billing months: released to the ledger, and still waiting for a reviewer. */
  bills: { issued: number; billedYuan: string; held: number };
  /** Money received for the window's bills: at the end of the window, and at the end of each bill's month (DOMAIN.md). */
  collection: { collectedYuan: string; rate: number; collectedByMonthEndYuan: string; rateAtMonthEnd: number; lateFeesYuan: string };
  /**
   * One case per bill not paid in full by its due date. Escalated: a manual-collection task was opened
   * for the bill; cleared without a person: paid in full with no such task opened before it was cleared.
   */
  chase: {
    overdueCases: number; clearedWithoutPerson: number; clearedWithoutPersonShare: number; escalated: number; stillOpen: number;
    /** Notices handed to a channel, by step (cancelled before sending and no-channel ones are not notices sent). */
    notices: Record<string, number>;
    delivered: number; failed: number; noChannel: number; cancelled: number;
  };
  manualTasks: Record<string, { opened: number; closed: number }>;
  /** Staff as full-time equivalents (to 0.01) per month of work. */
  staffing: {
    assumptions: typeof STAFFING;
    manual: { readers: number; dunners: number; total: number; householdsPerPerson: number };
    zeroTouch: { collectionOperators: number; reReaders: number; dunners: number; total: number; householdsPerPerson: number };
    reduction: number;
  };
}

const ratio = (a: number, b: number) => (b ? Math.round((a / b) * 10_000) / 10_000 : 0);
/** Yuan as a numeric string ('-12.3') to integer fen, exactly. */
export function toFen(yuan: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(yuan.trim());
  if (!m) throw new Error(`not a yuan amount: ${yuan}`);
  const fen = BigInt(m[2]!) * 100n + BigInt((m[3] ?? '').padEnd(2, '0'));
  return m[1] ? -fen : fen;
}
/** a / b of two yuan amounts, to 4 decimals, computed on integer fen. */
const moneyRatio = (a: string, b: string) => {
  const d = toFen(b);
  return d === 0n ? 0 : Number((toFen(a) * 10_000n + d / 2n) / d) / 10_000;
};
const DAY_MS = 86_400_000;
const daysBetween = (from: string, to: string) => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS) + 1;

export async function simulationReport(ctx: AppContext, w: { from: string; billingEnd: string; to: string; seconds: number }): Promise<SimulationReport> {
  const db = ctx.db;
  const days = daysBetween(w.from, w.to);
  const billingMonths = Math.max(1, Math.round(daysBetween(w.from, w.billingEnd) / 30.4));
  const size = (await sql<{ customers: number; meters: number; areas: number }>`
    SELECT (SELECT count(*) FROM customer)::int AS customers, (SELECT count(*) FROM meter WHERE state = 'installed')::int AS meters,
           (SELECT count(*) FROM transformer_area)::int AS areas`.execute(db)).rows[0]!;
  // per day of the window: meters in scope (installed, active service point installed by then), those with a
  // valid reading, those read automatically
  const perDay = (await sql<{ day: string; expected: number; read: number; automatic: number }>`
    WITH sp AS MATERIALIZED (
      SELECT sp.meter_id, sp.installed_on FROM service_point sp JOIN meter me ON me.id = sp.meter_id AND me.state = 'installed'
      WHERE sp.removed_on IS NULL
    ), days AS (
      SELECT d::date AS day FROM generate_series(${w.from}::date, ${w.to}::date, interval '1 day') d
    ), installed AS (
      SELECT installed_on, count(*) AS n FROM sp GROUP BY installed_on
    ), reads AS (
      SELECT r.reading_date AS day, count(*) AS read, count(*) FILTER (WHERE r.source IN ('file', 'frontend', 'api', 'mqtt')) AS automatic
      FROM meter_reading r JOIN sp ON sp.meter_id = r.meter_id AND sp.installed_on <= r.reading_date
      WHERE r.reading_date BETWEEN ${w.from}::date AND ${w.to}::date AND r.total_kwh IS NOT NULL AND r.quality <> 'estimated'
      GROUP BY r.reading_date
    )
    SELECT days.day::text AS day,
           (SELECT COALESCE(sum(n), 0) FROM installed i WHERE i.installed_on <= days.day)::int AS expected,
           COALESCE(reads.read, 0)::int AS read, COALESCE(reads.automatic, 0)::int AS automatic
    FROM days LEFT JOIN reads ON reads.day = days.day
    ORDER BY days.day`.execute(db)).rows;
  const rr = (await sql<{ opened: number; closed: number; onsite: number; late: number }>`
    SELECT count(*)::int AS opened, count(*) FILTER (WHERE closed_at IS NOT NULL)::int AS closed,
           count(*) FILTER (WHERE outcome->>'closedBy' = 'manual_reading')::int AS onsite,
           count(*) FILTER (WHERE outcome->>'closedBy' = 'automatic_reading')::int AS late
    FROM task WHERE kind = 're_read'`.execute(db)).rows[0]!;
  const bills = (await sql<{ issued: number; billed: string; held: number }>`
    SELECT (SELECT count(*) FROM receivable WHERE kind = 'bill' AND issued_on BETWEEN ${w.from}::date AND ${w.billingEnd}::date)::int AS issued,
           (SELECT COALESCE(sum(amount), 0)::text FROM receivable WHERE kind = 'bill' AND issued_on BETWEEN ${w.from}::date AND ${w.billingEnd}::date) AS billed,
           (SELECT count(*) FROM bill WHERE kind = 'bill' AND status = 'held'
              AND period BETWEEN to_char(${w.from}::date, 'YYYY-MM') AND to_char(${w.billingEnd}::date, 'YYYY-MM'))::int AS held`.execute(db)).rows[0]!;
  // per bill of the window: money paid by the due date, by its month end, by the end; when it was cleared; whether a person was sent
  const chase = (await sql<{ overdue: number; cleared_alone: number; escalated: number; open: number; collected: string; by_month_end: string; fees: string }>`
    WITH b AS (
      SELECT r.id, r.bill_id, r.amount, r.due_date, (date_trunc('month', r.issued_on) + interval '1 month - 1 day')::date AS month_end
      FROM receivable r
      WHERE r.kind = 'bill' AND r.issued_on BETWEEN ${w.from}::date AND ${w.billingEnd}::date
    ), p AS (
      SELECT b.id, COALESCE(sum(a.principal) FILTER (WHERE a.applied_on <= b.due_date), 0) AS by_due,
             COALESCE(sum(a.principal) FILTER (WHERE a.applied_on <= b.month_end), 0) AS by_month_end,
             COALESCE(sum(a.principal), 0) AS total, COALESCE(sum(a.late_fee), 0) AS fees, max(a.applied_at) AS last_at
      FROM b LEFT JOIN allocation a ON a.receivable_id = b.id AND a.source_kind = 'payment' AND a.applied_on <= ${w.to}::date
      GROUP BY b.id
    ), e AS (
      SELECT (payload->>'billId')::bigint AS bill_id, min(opened_at) AS escalated_at FROM task WHERE kind = 'manual_collection' GROUP BY 1
    ), c AS (
      SELECT b.*, p.by_due, p.by_month_end, p.total, p.fees, e.escalated_at,
             CASE WHEN p.total >= b.amount THEN p.last_at END AS cleared_at
      FROM b JOIN p ON p.id = b.id LEFT JOIN e ON e.bill_id = b.bill_id
    )
    SELECT count(*) FILTER (WHERE by_due < amount)::int AS overdue,
           count(*) FILTER (WHERE by_due < amount AND cleared_at IS NOT NULL AND (escalated_at IS NULL OR escalated_at > cleared_at))::int AS cleared_alone,
           count(*) FILTER (WHERE by_due < amount AND escalated_at IS NOT NULL)::int AS escalated,
           count(*) FILTER (WHERE total < amount)::int AS open,
           COALESCE(sum(total), 0)::text AS collected, COALESCE(sum(by_month_end), 0)::text AS by_month_end, COALESCE(sum(fees), 0)::text AS fees
    FROM c`.execute(db)).rows[0]!;
  const notices = (await sql<{ step: string; sent: number; delivered: number; failed: number; no_channel: number; cancelled: number }>`
    SELECT step, count(*) FILTER (WHERE status IN ('sent', 'delivered', 'failed'))::int AS sent,
           count(*) FILTER (WHERE status = 'delivered')::int AS delivered, count(*) FILTER (WHERE status = 'failed')::int AS failed,
           count(*) FILTER (WHERE status = 'no_channel')::int AS no_channel, count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled
    FROM dunning_notice WHERE created_on BETWEEN ${w.from}::date AND ${w.to}::date GROUP BY step ORDER BY step`.execute(db)).rows;
  const tasks = (await sql<{ kind: string; opened: number; closed: number }>`
    SELECT kind, count(*)::int AS opened, count(*) FILTER (WHERE closed_at IS NOT NULL)::int AS closed FROM task GROUP BY kind ORDER BY kind`.execute(db)).rows;

  const expected = perDay.reduce((a, d) => a + d.expected, 0);
  const read = perDay.reduce((a, d) => a + d.read, 0);
  const automatic = perDay.reduce((a, d) => a + d.automatic, 0);
  const worstDay = Math.min(...perDay.map((d) => (d.expected ? d.read / d.expected : 1)));
  const manualCollection = tasks.find((t) => t.kind === 'manual_collection')?.opened ?? 0;
  const windowMonths = days / 30;
  // full-time equivalents to 0.01, so the comparison means something at any province size
  const fte = (x: number) => Math.round(x * 100) / 100;
  const manualReaders = fte(size.customers / STAFFING.manualHouseholdsPerReaderMonth);
  // door-to-door dunning visits every overdue case of a billing month; re-reads happen every day of the window
  const manualDunners = fte(chase.overdue / billingMonths / STAFFING.visitsPerPersonMonth);
  const operators = fte(size.areas / STAFFING.areasPerOperator);
  const reReaders = fte(rr.opened / windowMonths / STAFFING.reReadsPerPersonMonth);
  const dunners = fte(manualCollection / billingMonths / STAFFING.visitsPerPersonMonth);
  const manualTotal = fte(manualReaders + manualDunners);
  const ztTotal = fte(operators + reReaders + dunners);
  return {
    window: { from: w.from, billingEnd: w.billingEnd, to: w.to, days, billingMonths, wallSeconds: Math.round(w.seconds) },
    customers: size.customers,
    meters: size.meters,
    readSuccess: {
      average: ratio(read, expected), automatic: ratio(automatic, expected), worstDay: Math.round(worstDay * 10_000) / 10_000,
      meterDaysRead: read, meterDaysAutomatic: automatic, meterDaysExpected: expected,
    },
    reReadTasks: { opened: rr.opened, closed: rr.closed, closedOnSite: rr.onsite, closedByLateReading: rr.late },
    bills: { issued: bills.issued, billedYuan: bills.billed, held: bills.held },
    collection: {
      collectedYuan: chase.collected, rate: moneyRatio(chase.collected, bills.billed),
      collectedByMonthEndYuan: chase.by_month_end, rateAtMonthEnd: moneyRatio(chase.by_month_end, bills.billed), lateFeesYuan: chase.fees,
    },
    chase: {
      overdueCases: chase.overdue, clearedWithoutPerson: chase.cleared_alone, clearedWithoutPersonShare: ratio(chase.cleared_alone, chase.overdue),
      escalated: chase.escalated, stillOpen: chase.open,
      notices: Object.fromEntries(notices.filter((n) => n.sent > 0).map((n) => [n.step, n.sent])),
      delivered: notices.reduce((a, n) => a + n.delivered, 0), failed: notices.reduce((a, n) => a + n.failed, 0),
      noChannel: notices.reduce((a, n) => a + n.no_channel, 0), cancelled: notices.reduce((a, n) => a + n.cancelled, 0),
    },
    manualTasks: Object.fromEntries(tasks.map((t) => [t.kind, { opened: t.opened, closed: t.closed }])),
    staffing: {
      assumptions: STAFFING,
      manual: { readers: manualReaders, dunners: manualDunners, total: manualTotal, householdsPerPerson: manualTotal ? Math.round(size.customers / manualTotal) : 0 },
      zeroTouch: { collectionOperators: operators, reReaders, dunners, total: ztTotal, householdsPerPerson: ztTotal ? Math.round(size.customers / ztTotal) : 0 },
      reduction: ratio(manualTotal - ztTotal, manualTotal),
    },
  };
}

/** The report as the table the CLI prints. */
export function reportTable(r: SimulationReport): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const rows: [string, string][] = [
    ['window', `${r.window.from} → ${r.window.to} (${r.window.days} days; bills to ${r.window.billingEnd}), ${r.window.wallSeconds} s`],
    ['customers / meters', `${r.customers} / ${r.meters}`],
    ['read success (average, worst day)', `${pct(r.readSuccess.average)}, ${pct(r.readSuccess.worstDay)} (automatic only ${pct(r.readSuccess.automatic)})`],
    ['re-read tasks opened / closed', `${r.reReadTasks.opened} / ${r.reReadTasks.closed} (on site ${r.reReadTasks.closedOnSite}, late automatic ${r.reReadTasks.closedByLateReading})`],
    ['bills issued / held for review', `${r.bills.issued} / ${r.bills.held}`],
    ['billed / collected (yuan)', `${r.bills.billedYuan} / ${r.collection.collectedYuan}`],
    ['collection rate (window end, month end)', `${pct(r.collection.rate)}, ${pct(r.collection.rateAtMonthEnd)}`],
    ['late fees collected (yuan)', r.collection.lateFeesYuan],
    ['overdue cases', String(r.chase.overdueCases)],
    ['cleared without a person', `${r.chase.clearedWithoutPerson} (${pct(r.chase.clearedWithoutPersonShare)})`],
    ['escalated to a community manager', String(r.chase.escalated)],
    ['notices by step', Object.entries(r.chase.notices).map(([k, v]) => `${k} ${v}`).join(', ')],
    ['notices delivered / failed', `${r.chase.delivered} / ${r.chase.failed} (no channel ${r.chase.noChannel}, cancelled by payment ${r.chase.cancelled})`],
    ['manual tasks (opened/closed)', Object.entries(r.manualTasks).map(([k, v]) => `${k} ${v.opened}/${v.closed}`).join(', ')],
    ['staff (FTE), manual baseline', `${r.staffing.manual.total} (${r.staffing.manual.readers} readers + ${r.staffing.manual.dunners} dunners), ${r.staffing.manual.householdsPerPerson} households/person`],
    ['staff (FTE), ZeroTouch', `${r.staffing.zeroTouch.total} (${r.staffing.zeroTouch.collectionOperators} operators + ${r.staffing.zeroTouch.reReaders} re-readers + ${r.staffing.zeroTouch.dunners} collectors), ${r.staffing.zeroTouch.householdsPerPerson} households/person`],
    ['staff reduction', pct(r.staffing.reduction)],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}
