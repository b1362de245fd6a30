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
  window: { from: string; billingEnd: string; to: string; days: number; wallSeconds: number };
  customers: number;
  meters: number;
  readSuccess: { average: number; worstDay: number; meterDaysRead: number; meterDaysExpected: number };
  reReadTasks: { opened: number; closed: number; closedOnSite: number; closedByLateReading: number };
  bills: { issued: number; billedYuan: string; held: number };
  collection: { collectedYuan: string; rate: number; lateFeesYuan: string };
  chase: { overdueCases: number; clearedWithoutPerson: number; clearedWithoutPersonShare: number; escalated: number; stillOpen: number; notices: Record<string, number>; delivered: number; failed: number };
  manualTasks: Record<string, { opened: number; closed: number }>;
  staffing: {
    assumptions: typeof STAFFING;
    manual: { readers: number; dunners: number; total: number; householdsPerPerson: number };
    zeroTouch: { collectionOperators: number; reReaders: number; dunners: number; total: number; householdsPerPerson: number };
    reduction: number;
  };
}

const ratio = (a: number, b: number) => (b ? Math.round((a / b) * 10_000) / 10_000 : 0);

export async function simulationReport(ctx: AppContext, w: { from: string; billingEnd: string; to: string; seconds: number }): Promise<SimulationReport> {
  const db = ctx.db;
  const size = (await sql<{ customers: number; meters: number; areas: number }>`
    SELECT (SELECT count(*) FROM customer)::int AS customers, (SELECT count(*) FROM meter WHERE state = 'installed')::int AS meters,
           (SELECT count(*) FROM transformer_area)::int AS areas`.execute(db)).rows[0]!;
  // automatic reads (head-end or front-end) per meter-day of the window, against installed meters
  const reads = (await sql<{ read: number; days: number; worst: number | null }>`
    WITH d AS (SELECT reading_date, count(*) FILTER (WHERE source IN ('file', 'frontend', 'api', 'mqtt')) AS n
               FROM meter_reading WHERE reading_date BETWEEN ${w.from}::date AND ${w.to}::date GROUP BY reading_date)
    SELECT COALESCE(sum(n), 0)::int AS read, count(*)::int AS days, min(n)::int AS worst FROM d`.execute(db)).rows[0]!;
  const rr = (await sql<{ opened: number; closed: number; onsite: number; late: number }>`
    SELECT count(*)::int AS opened, count(*) FILTER (WHERE closed_at IS NOT NULL)::int AS closed,
           count(*) FILTER (WHERE outcome->>'closedBy' = 'manual_reading')::int AS onsite,
           count(*) FILTER (WHERE outcome->>'closedBy' = 'automatic_reading')::int AS late
    FROM task WHERE kind = 're_read'`.execute(db)).rows[0]!;
  const bills = (await sql<{ issued: number; billed: string; held: number }>`
    SELECT (SELECT count(*) FROM receivable WHERE kind = 'bill' AND issued_on BETWEEN ${w.from}::date AND ${w.billingEnd}::date)::int AS issued,
           (SELECT COALESCE(sum(amount), 0)::text FROM receivable WHERE kind = 'bill' AND issued_on BETWEEN ${w.from}::date AND ${w.billingEnd}::date) AS billed,
           (SELECT count(*) FROM bill_hold)::int AS held`.execute(db)).rows[0]!;
  // per bill of the window: paid by the due date, paid by the end, and whether a person was sent first
  const chase = (await sql<{ overdue: number; cleared_alone: number; escalated: number; open: number; collected: string; fees: string }>`
    WITH b AS (
      SELECT r.id, r.customer_id, r.amount, r.due_date FROM receivable r
      WHERE r.kind = 'bill' AND r.issued_on BETWEEN ${w.from}::date AND ${w.billingEnd}::date
    ), p AS (
      SELECT b.id, COALESCE(sum(a.principal) FILTER (WHERE a.applied_on <= b.due_date), 0) AS by_due,
             COALESCE(sum(a.principal), 0) AS total, COALESCE(sum(a.late_fee), 0) AS fees, max(a.applied_on) AS last_on
      FROM b LEFT JOIN allocation a ON a.receivable_id = b.id GROUP BY b.id
    ), c AS (
      SELECT b.*, p.by_due, p.total, p.fees, p.last_on,
             EXISTS (SELECT 1 FROM task t WHERE t.kind = 'manual_collection' AND t.customer_id = b.customer_id
                       AND t.opened_at::date > b.due_date AND t.opened_at::date <= COALESCE(p.last_on, ${w.to}::date)) AS escalated
      FROM b JOIN p ON p.id = b.id
    )
    SELECT count(*) FILTER (WHERE by_due < amount)::int AS overdue,
           count(*) FILTER (WHERE by_due < amount AND total >= amount AND NOT escalated)::int AS cleared_alone,
           count(*) FILTER (WHERE by_due < amount AND escalated)::int AS escalated,
           count(*) FILTER (WHERE total < amount)::int AS open,
           COALESCE(sum(total), 0)::text AS collected, COALESCE(sum(fees), 0)::text AS fees
    FROM c`.execute(db)).rows[0]!;
  const notices = (await sql<{ step: string; n: number; delivered: number; failed: number }>`
    SELECT step, count(*)::int AS n, count(*) FILTER (WHERE status = 'delivered')::int AS delivered,
           count(*) FILTER (WHERE status IN ('failed', 'no_channel'))::int AS failed
    FROM dunning_notice GROUP BY step ORDER BY step`.execute(db)).rows;
  const tasks = (await sql<{ kind: string; opened: number; closed: number }>`
    SELECT kind, count(*)::int AS opened, count(*) FILTER (WHERE closed_at IS NOT NULL)::int AS closed FROM task GROUP BY kind ORDER BY kind`.execute(db)).rows;

  const days = reads.days;
  const expected = size.meters * days;
  const manualCollection = tasks.find((t) => t.kind === 'manual_collection')?.opened ?? 0;
  const months = Math.max(1, days / 30);
  const manualReaders = Math.ceil(size.customers / STAFFING.manualHouseholdsPerReaderMonth);
  const manualDunners = Math.ceil(chase.overdue / months / STAFFING.visitsPerPersonMonth);
  const operators = Math.ceil(size.areas / STAFFING.areasPerOperator);
  const reReaders = Math.ceil(rr.opened / months / STAFFING.reReadsPerPersonMonth);
  const dunners = Math.ceil(manualCollection / months / STAFFING.visitsPerPersonMonth);
  const manualTotal = manualReaders + manualDunners;
  const ztTotal = operators + reReaders + dunners;
  return {
    window: { from: w.from, billingEnd: w.billingEnd, to: w.to, days, wallSeconds: Math.round(w.seconds) },
    customers: size.customers,
    meters: size.meters,
    readSuccess: { average: ratio(reads.read, expected), worstDay: ratio(reads.worst ?? 0, size.meters), meterDaysRead: reads.read, meterDaysExpected: expected },
    reReadTasks: { opened: rr.opened, closed: rr.closed, closedOnSite: rr.onsite, closedByLateReading: rr.late },
    bills: { issued: bills.issued, billedYuan: bills.billed, held: bills.held },
    collection: { collectedYuan: chase.collected, rate: ratio(Number(chase.collected), Number(bills.billed)), lateFeesYuan: chase.fees },
    chase: {
      overdueCases: chase.overdue, clearedWithoutPerson: chase.cleared_alone, clearedWithoutPersonShare: ratio(chase.cleared_alone, chase.overdue),
      escalated: chase.escalated, stillOpen: chase.open,
      notices: Object.fromEntries(notices.map((n) => [n.step, n.n])),
      delivered: notices.reduce((a, n) => a + n.delivered, 0), failed: notices.reduce((a, n) => a + n.failed, 0),
    },
    manualTasks: Object.fromEntries(tasks.map((t) => [t.kind, { opened: t.opened, closed: t.closed }])),
    staffing: {
      assumptions: STAFFING,
      manual: { readers: manualReaders, dunners: manualDunners, total: manualTotal, householdsPerPerson: Math.round(size.customers / Math.max(1, manualTotal)) },
      zeroTouch: { collectionOperators: operators, reReaders, dunners, total: ztTotal, householdsPerPerson: Math.round(size.customers / Math.max(1, ztTotal)) },
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
    ['read success (average, worst day)', `${pct(r.readSuccess.average)}, ${pct(r.readSuccess.worstDay)}`],
    ['re-read tasks opened / closed', `${r.reReadTasks.opened} / ${r.reReadTasks.closed} (on site ${r.reReadTasks.closedOnSite}, late automatic ${r.reReadTasks.closedByLateReading})`],
    ['bills issued / held for review', `${r.bills.issued} / ${r.bills.held}`],
    ['billed / collected (yuan)', `${r.bills.billedYuan} / ${r.collection.collectedYuan}`],
    ['collection rate', pct(r.collection.rate)],
    ['late fees collected (yuan)', r.collection.lateFeesYuan],
    ['overdue cases', String(r.chase.overdueCases)],
    ['cleared without a person', `${r.chase.clearedWithoutPerson} (${pct(r.chase.clearedWithoutPersonShare)})`],
    ['escalated to a community manager', String(r.chase.escalated)],
    ['notices by step', Object.entries(r.chase.notices).map(([k, v]) => `${k} ${v}`).join(', ')],
    ['notices delivered / failed', `${r.chase.delivered} / ${r.chase.failed}`],
    ['manual tasks (opened/closed)', Object.entries(r.manualTasks).map(([k, v]) => `${k} ${v.opened}/${v.closed}`).join(', ')],
    ['staff, manual baseline', `${r.staffing.manual.total} (${r.staffing.manual.readers} readers + ${r.staffing.manual.dunners} dunners), ${r.staffing.manual.householdsPerPerson} households/person`],
    ['staff, ZeroTouch', `${r.staffing.zeroTouch.total} (${r.staffing.zeroTouch.collectionOperators} operators + ${r.staffing.zeroTouch.reReaders} re-readers + ${r.staffing.zeroTouch.dunners} collectors), ${r.staffing.zeroTouch.householdsPerPerson} households/person`],
    ['staff reduction', pct(r.staffing.reduction)],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}
