/**
 * The people the reform keeps, simulated: customers paying (early, on a notice, or only when the
 * community manager calls), collection teams entering on-site re-reads and doing the disconnect and
 * reconnect jobs remote switching could not, community managers recording collection and contact
 * outcomes. Every choice is a deterministic function of (seed, who, what),
 * computed in SQL where it touches many rows; what they do goes through the same functions as the API.
 */
import { sql } from 'kysely';
import { businessDate, businessHour, type AppContext, type Db } from '../platform/index.ts';
import { postPaymentBatch, validatePayment, type PaymentInput } from '../payments/index.ts';
import { customerSlices, inRange, type CustomerRange } from '../customers/index.ts';
import { completeTasksWithOutcomes } from '../flows/work-task-outcome.ts';
import { closeReReadTasks } from '../flows/metering-reread.ts';
import { ensureReadingPartitions, upsertReadings } from '../metering/index.ts';
import { dailyFrozenRegisters, type MeterCategory } from './meter-model.ts';

/** How customers respond to the chase (shares of customers; the rest never pay within the month). */
export const PAYER_PROFILES = [
  { profile: 'prompt', share: 0.5 },
  { profile: 'reminder', share: 0.15 },
  { profile: 'overdue_1', share: 0.12 },
  { profile: 'overdue_2', share: 0.07 },
  { profile: 'overdue_3', share: 0.05 },
  { profile: 'person', share: 0.08 },
] as const;

const STEP_RANK = { reminder: 1, overdue_1: 2, overdue_2: 3, overdue_3: 4 } as const;

/** A uniform number in [0,1) from (seed, key), the same on both engines: md5 is portable, hashtext is not. */
const unit = (seed: number, key: ReturnType<typeof sql>) =>
  sql`(('x' || substr(md5(${String(seed)} || ':' || ${key}), 1, 8))::bit(32)::bigint / 4294967296.0)`;

/** The payer profile of a customer as a SQL CASE over the cumulative shares. */
function profileSql(seed: number) {
  let acc = 0;
  const u = unit(seed, sql`'payer:' || c.id`);
  const arms = PAYER_PROFILES.map((p) => {
    acc += p.share;
    return sql`WHEN ${u} < ${acc} THEN ${p.profile}`;
  });
  return sql`CASE ${sql.join(arms, sql` `)} ELSE 'holdout' END`;
}

/**
 * Customers who decide to pay today settle everything they owe, through a bank, wallet or counter. Who
 * pays is chosen over the whole ledger's open debt: in slices of the customers, two at once on the server.
 */
export async function customersPay(ctx: AppContext, seed: number): Promise<number> {
  const day = businessDate(ctx.clock.now());
  const slices = await customerSlices(ctx.db, ctx.database.engine === 'postgres' ? 2 : 1);
  const payers = (await Promise.all(slices.map((range) => payersOf(ctx.db, day, seed, range)))).flat();
  if (!payers.length) return 0;
  const rows: { line: number; p: PaymentInput }[] = [];
  for (const [i, r] of payers.entries()) {
    const v = validatePayment({ channel: r.channel, reference: `SIM-${day}-${r.customer_id}`, customerNumber: r.number, amount: r.amount, currency: 'CNY', paidOn: day }, day);
    if (!('code' in v)) rows.push({ line: i + 1, p: v });
  }
  const res = await postPaymentBatch(ctx.db, ctx.clock, rows, 'sim:customers', 'api');
  return res.filter((r) => r.status === 'posted').length;
}

/** The customers of `range` who pay today, with what they owe and the channel they pay through. */
async function payersOf(db: Db, day: string, seed: number, range: CustomerRange) {
  const rank = sql.join(Object.entries(STEP_RANK).map(([s, r]) => sql`WHEN ${s} THEN ${r}::int`), sql` `);
  const r = await sql<{ number: string; amount: string; channel: string; customer_id: number }>`
    WITH debt AS (
      SELECT d.customer_id, sum(d.outstanding + d.late_fee) AS amount, min(r.issued_on) AS first_issued
      FROM payments_open_debt(${day}::date, ${range.lo}::bigint, ${range.hi}::bigint) d JOIN v_billing_receivable r ON r.bill_id = d.bill_id
      WHERE ${inRange('r.customer_id', range)}
      GROUP BY d.customer_id HAVING sum(d.outstanding + d.late_fee) > 0
    ), who AS (
      SELECT c.id, c.number, debt.amount, debt.first_issued, ${profileSql(seed)} AS profile,
             ${unit(seed, sql`'delay:' || c.id`)} AS u
      FROM debt JOIN customer c ON c.id = debt.customer_id
    )
    SELECT w.id AS customer_id, w.number, w.amount::text AS amount,
           (ARRAY['online_wallet','bank_withholding','bank_counter','service_hall','portal'])[1 + floor(w.u * 5)::int] AS channel
    FROM who w
    WHERE (w.profile = 'prompt' AND ${day}::date >= w.first_issued + (2 + floor(w.u * 10))::int)
       OR (w.profile IN ('reminder', 'overdue_1', 'overdue_2', 'overdue_3') AND EXISTS (
             SELECT 1 FROM dunning_notice n
             WHERE n.customer_id = w.id AND n.status = 'delivered' AND n.created_on < ${day}::date
               AND (CASE n.step ${rank} ELSE 0 END) >= (CASE w.profile ${rank} END)))
    ORDER BY w.id`.execute(db);
  return r.rows;
}

/**
 * Collection teams read on site the meters of re-read tasks open for a while (4–36 h, by task). The day's
 * visits are stored as one batch: the readings (quality re_read) and their audit entries in one
 * transaction, then the cases and tasks they settle are closed in one set-based pass.
 */
export async function teamsReRead(ctx: AppContext, seed: number, meterModelSeed = 1): Promise<number> {
  const now = ctx.clock.now();
  const due = await sql<{ id: number; comm_address: string; meter_id: number; category: MeterCategory }>`
    SELECT t.id, m.comm_address, m.id AS meter_id, COALESCE(c.category, 'residential') AS category
    FROM task t JOIN meter m ON m.id = t.meter_id LEFT JOIN customer c ON c.id = t.customer_id
    WHERE t.kind = 're_read' AND t.closed_at IS NULL
      AND t.opened_at + make_interval(hours => 4 + floor(${unit(seed, sql`'reread:' || t.id`)} * 32)::int) <= ${now}::timestamptz
    ORDER BY t.id LIMIT 5000`.execute(ctx.db);
  if (!due.rows.length) return 0;
  const day = businessDate(now);
  const visits = due.rows.map((t) => ({ t, r: dailyFrozenRegisters(meterModelSeed, { meterId: Number(t.meter_id), category: t.category }, day) }));
  await ensureReadingPartitions(ctx.db, day, day);
  await ctx.db.transaction().execute(async (trx) => {
    await upsertReadings(trx, now, visits.map(({ t, r }) => ({
      meterId: Number(t.meter_id), readingDate: day, totalKwh: r.total, sharpKwh: r.sharp, peakKwh: r.peak, flatKwh: r.flat, valleyKwh: r.valley,
      quality: 're_read' as const, source: 'manual' as const,
    })));
    await trx.insertInto('audit_log').values(visits.map(({ t, r }) => ({
      at: now, actor: 'sim:collection-team', action: 'reading.reread.enter', subject: `meter:${t.comm_address}`, detail: JSON.stringify({ date: day, ...r }),
    }))).execute();
  });
  await closeReReadTasks(ctx, visits.map(({ t }) => Number(t.meter_id)));
  return visits.length;
}

/**
 * The area's collection team does its field disconnect and reconnect jobs during the day (8:00–18:00):
 * a reconnect 1–12 h after it opens (the customer paid: 24 h at most), a disconnect 4–28 h after it
 * opens. The crew reads the register at the meter when it switches it.
 */
export async function crewsSwitchSupply(ctx: AppContext, seed: number, meterModelSeed = 1): Promise<number> {
  const now = ctx.clock.now();
  const hour = businessHour(now);
  if (hour < 8 || hour >= 18) return 0;
  const due = await sql<{ id: number; status: string; meter_id: number | null; category: MeterCategory }>`
    SELECT t.id, t.status, sp.meter_id, COALESCE(c.category, 'residential') AS category
    FROM task t
    LEFT JOIN customer c ON c.id = t.customer_id
    LEFT JOIN LATERAL (SELECT min(s.meter_id) AS meter_id FROM service_point s WHERE s.customer_id = t.customer_id AND s.removed_on IS NULL) sp ON true
    WHERE t.kind IN ('disconnect', 'reconnect') AND t.closed_at IS NULL
      AND t.opened_at + make_interval(hours => CASE WHEN t.kind = 'reconnect' THEN 1 + floor(${unit(seed, sql`'reconnect:' || t.id`)} * 12)
                                                    ELSE 4 + floor(${unit(seed, sql`'disconnect:' || t.id`)} * 24) END::int) <= ${now}::timestamptz
    ORDER BY t.due_at LIMIT 5000`.execute(ctx.db);
  if (!due.rows.length) return 0;
  const day = businessDate(now);
  const jobs = due.rows.map((t) => {
    const registerKwh = t.meter_id === null ? null : dailyFrozenRegisters(meterModelSeed, { meterId: Number(t.meter_id), category: t.category }, day).total;
    return { taskId: Number(t.id), outcome: { registerKwh }, start: t.status !== 'in_progress' };
  });
  const done = await completeTasksWithOutcomes(ctx, { actor: 'sim:collection-team' }, jobs);
  return done.filter((r) => !(r instanceof Error)).length;
}

/**
 * Community managers work their manual-collection and contact-verification tasks during the day
 * (8:00–18:00), 1–3 days after they open: most owing customers pay on site; holdouts dispute or
 * the premises are vacant; a wrong number is corrected.
 */
export async function gridManagersWork(ctx: AppContext, seed: number): Promise<number> {
  const now = ctx.clock.now();
  const hour = businessHour(now);
  if (hour < 8 || hour >= 18) return 0;
  const day = businessDate(now);
  const due = await sql<{ id: number; kind: string; status: string; customer_id: number; profile: string; u: number }>`
    SELECT t.id, t.kind, t.status, t.customer_id, ${profileSql(seed)} AS profile, ${unit(seed, sql`'visit:' || t.id`)} AS u
    FROM task t JOIN customer c ON c.id = t.customer_id
    WHERE t.kind IN ('manual_collection', 'contact_verification') AND t.closed_at IS NULL
      AND t.opened_at + make_interval(hours => 24 + floor(${unit(seed, sql`'visit-delay:' || t.id`)} * 48)::int) <= ${now}::timestamptz
    ORDER BY t.due_at LIMIT 5000`.execute(ctx.db);
  if (!due.rows.length) return 0;
  // what each visited customer owes today, in one pass over their debts
  const owing = [...new Set(due.rows.filter((t) => t.kind === 'manual_collection').map((t) => Number(t.customer_id)))];
  const owed = new Map(owing.length ? (await sql<{ customer_id: number; owed: string }>`
    SELECT d.customer_id, sum(d.outstanding + d.late_fee)::numeric(14,2)::text AS owed
    FROM payments_debt_as_of(${day}::date, ${owing}::bigint[]) d WHERE d.bill_id IS NOT NULL
    GROUP BY d.customer_id HAVING sum(d.outstanding + d.late_fee) > 0`.execute(ctx.db)).rows.map((r) => [Number(r.customer_id), r.owed]) : []);
  const visits = due.rows.map((t) => {
    const corrected = { kind: 'mobile', value: `139${String(10_000_000 + (t.id % 89_999_999)).padStart(8, '0')}` };
    const debt = owed.get(Number(t.customer_id));
    let outcome: Record<string, unknown>;
    if (t.kind === 'contact_verification') outcome = { result: 'corrected', contact: corrected };
    else if (!debt) outcome = { result: 'dispute', reason: 'already settled when visited' };
    else if (t.profile === 'holdout') outcome = t.u < 0.5 ? { result: 'vacant_premises' } : { result: 'dispute', reason: 'disputes the reading' };
    else if (t.u < 0.1) outcome = { result: 'wrong_contact_corrected', contact: corrected };
    else outcome = { result: 'paid_on_site', amount: debt };
    return { taskId: Number(t.id), outcome, start: t.status !== 'in_progress' };
  });
  const done = await completeTasksWithOutcomes(ctx, { actor: 'sim:grid-manager' }, visits);
  return done.filter((r) => !(r instanceof Error)).length;
}
