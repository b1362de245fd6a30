import { sql } from 'kysely';
import { AppError, audit, conflict, notFound, today, type AppContext, type Db } from '../platform/index.ts';
import { rateOne, type RatingInput, type TariffSpan } from './store/rating.ts';
import { customerTariffSpans } from './store/tariffs.repository.ts';
import type { BillRow } from './store/bills.repository.ts';

/** A reviewer's corrected measures; registers omitted keep the bill's values. */
export interface Correction {
  totalKwh: string;
  sharpKwh?: string | null;
  peakKwh?: string | null;
  flatKwh?: string | null;
  valleyKwh?: string | null;
  maxDemandKw?: string | null;
  reactiveKvarh?: string | null;
}

export interface ReviewOutcome {
  bill: BillRow;
  creditBillId?: number;
  rebillId?: number;
}

const DECIMAL = /^-?\d{1,12}(\.\d{1,4})?$/;
// a maximum demand or reactive energy below zero would price a negative basic charge or power factor
const MEASURE = /^\d{1,12}(\.\d{1,4})?$/;

async function lockBill(trx: Db, id: number): Promise<BillRow> {
  const b = (await sql<BillRow>`SELECT * FROM bill WHERE id = ${id} FOR UPDATE`.execute(trx)).rows[0];
  if (!b) throw notFound('BILLING_BILL_UNKNOWN', `no bill ${id}`);
  return b;
}

function requireReason(reason: string | undefined): string {
  if (!reason?.trim()) throw new AppError('BILLING_REASON_REQUIRED', 'give a reason for the correction or void');
  return reason.trim();
}

async function releaseValues(trx: Db, cycle: string, day: string) {
  const c = (await sql<{ due: string }>`SELECT (${day}::date + due_days)::text AS due FROM billing_cycle WHERE code = ${cycle}`.execute(trx)).rows[0];
  return { issuedOn: day, dueDate: c?.due ?? day };
}

async function recordAction(trx: Db, ctx: AppContext, a: { billId: number; action: 'release' | 'correct' | 'void'; reason: string | null; actor: string; oldAmount: string; newAmount: string | null; creditBillId?: number; rebillId?: number }) {
  await sql`
    INSERT INTO bill_review_action (bill_id, action, reason, actor, at, old_amount, new_amount, credit_bill_id, rebill_id)
    VALUES (${a.billId}, ${a.action}, ${a.reason}, ${a.actor}, ${ctx.clock.now()}, ${a.oldAmount}, ${a.newAmount}, ${a.creditBillId ?? null}, ${a.rebillId ?? null})`.execute(trx);
  await audit(trx, ctx.clock, { actor: a.actor, action: `bill.${a.action}`, subject: `bill:${a.billId}`, detail: { reason: a.reason, oldAmount: a.oldAmount, newAmount: a.newAmount } });
}

/** Release a held bill as it is (复核通过). */
export async function releaseBill(ctx: AppContext, id: number, actor: string, reason?: string): Promise<ReviewOutcome> {
  return ctx.db.transaction().execute(async (trx) => {
    const b = await lockBill(trx, id);
    if (b.status !== 'held') throw conflict('BILLING_BILL_NOT_HELD', `bill ${b.bill_no} is ${b.status}; only held bills are released by a reviewer`);
    const v = await releaseValues(trx, b.cycle_code, today(ctx.clock));
    await sql`UPDATE bill SET status = 'released', issued_on = ${v.issuedOn}, due_date = ${v.dueDate}, released_at = ${ctx.clock.now()}, released_by = ${actor}
      WHERE id = ${id}`.execute(trx);
    await recordAction(trx, ctx, { billId: id, action: 'release', reason: reason ?? null, actor, oldAmount: b.amount, newAmount: b.amount });
    return { bill: (await lockBill(trx, id)) };
  });
}

function ratingInputFor(b: BillRow, c: Correction, tariffSpans: TariffSpan[] | null): RatingInput {
  for (const v of [c.totalKwh, c.sharpKwh, c.peakKwh, c.flatKwh, c.valleyKwh, c.maxDemandKw, c.reactiveKvarh]) {
    if (v !== undefined && v !== null && !DECIMAL.test(v)) throw new AppError('BILLING_CORRECTION_INVALID', `not a decimal quantity: ${v}`);
  }
  for (const v of [c.maxDemandKw, c.reactiveKvarh]) {
    if (v !== undefined && v !== null && !MEASURE.test(v)) throw new AppError('BILLING_CORRECTION_INVALID', `a maximum demand or reactive energy is at least 0: ${v}`);
  }
  const pick = (x: string | null | undefined, old: string | null) => (x === undefined ? old : x);
  return {
    tariffCode: b.tariff_code, periodStart: b.period_start, periodEnd: b.period_end, totalKwh: c.totalKwh,
    sharpKwh: pick(c.sharpKwh, b.sharp_kwh), peakKwh: pick(c.peakKwh, b.peak_kwh), flatKwh: pick(c.flatKwh, b.flat_kwh),
    valleyKwh: pick(c.valleyKwh, b.valley_kwh), ytdKwh: b.ytd_kwh, capacityKva: b.capacity_kva,
    maxDemandKw: pick(c.maxDemandKw, b.max_demand_kw), reactiveKvarh: pick(c.reactiveKvarh, b.reactive_kvarh), tariffSpans,
  };
}

async function insertLines(trx: Db, billId: number, customerId: number, lines: Awaited<ReturnType<typeof rateOne>>['lines']) {
  if (!lines.length) return;
  await trx.insertInto('bill_line').values(lines.map((l) => ({
    bill_id: billId, line_no: l.line_no, customer_id: customerId, component: l.component, register: l.register, tier: l.tier,
    tariff_version_id: l.version_id, segment_start: l.seg_start, segment_end: l.seg_end, quantity: l.quantity, unit_price: l.unit_price, amount: l.amount,
  }))).execute();
}

/** A credit note cancelling a released document: its lines negated, released at once. */
async function issueCredit(trx: Db, ctx: AppContext, b: BillRow, reason: string, actor: string): Promise<number> {
  const v = await releaseValues(trx, b.cycle_code, today(ctx.clock));
  const ins = await sql<{ id: number }>`
    INSERT INTO bill (bill_no, kind, customer_id, run_id, cycle_code, period, org_path, tariff_code, period_start, period_end,
      consumption_kwh, sharp_kwh, peak_kwh, flat_kwh, valley_kwh, ytd_kwh, capacity_kva, max_demand_kw, reactive_kvarh, reading_quality,
      amount, status, original_bill_id, reason, issued_on, due_date, released_at, released_by, created_at)
    SELECT 'CR-' || bill_no, 'credit', customer_id, run_id, cycle_code, period, org_path, tariff_code, period_start, period_end,
      -consumption_kwh, -sharp_kwh, -peak_kwh, -flat_kwh, -valley_kwh, ytd_kwh, capacity_kva, max_demand_kw, reactive_kvarh, reading_quality,
      -amount, 'released', id, ${reason}, ${v.issuedOn}, ${v.dueDate}, ${ctx.clock.now()}, ${actor}, ${ctx.clock.now()}
    FROM bill WHERE id = ${b.id}
    ON CONFLICT ON CONSTRAINT bill_customer_period_key DO NOTHING
    RETURNING id`.execute(trx);
  const credit = ins.rows[0];
  if (!credit) throw conflict('BILLING_ALREADY_CORRECTED', `bill ${b.bill_no} already has a credit note`);
  await sql`
    INSERT INTO bill_line (bill_id, line_no, customer_id, component, register, tier, tariff_version_id, segment_start, segment_end, quantity, unit_price, amount)
    SELECT ${credit.id}, line_no, customer_id, component, register, tier, tariff_version_id, segment_start, segment_end, -quantity, unit_price, -amount
    FROM bill_line WHERE bill_id = ${b.id}`.execute(trx);
  return credit.id;
}

/**
 * Correct a bill's measures with a reason. A held bill is re-rated in place and released; a released
 * bill stays as issued and gets a credit note plus a rebill, so the history is kept.
 */
export async function correctBill(ctx: AppContext, id: number, actor: string, reason: string | undefined, c: Correction): Promise<ReviewOutcome> {
  const why = requireReason(reason);
  return ctx.db.transaction().execute(async (trx) => {
    const b = await lockBill(trx, id);
    // re-rated as the run rated it: a tariff change inside the period keeps its parts
    const input = ratingInputFor(b, c, await customerTariffSpans(trx, b.customer_id, b.period_start, b.period_end));
    const rated = await rateOne(trx, input);
    const v = await releaseValues(trx, b.cycle_code, today(ctx.clock));
    const measures = {
      consumption_kwh: input.totalKwh, sharp_kwh: input.sharpKwh ?? null, peak_kwh: input.peakKwh ?? null, flat_kwh: input.flatKwh ?? null,
      valley_kwh: input.valleyKwh ?? null, max_demand_kw: input.maxDemandKw ?? null, reactive_kvarh: input.reactiveKvarh ?? null,
    };
    if (b.status === 'held') {
      await sql`DELETE FROM bill_line WHERE bill_id = ${id}`.execute(trx);
      await insertLines(trx, id, b.customer_id, rated.lines);
      await trx.updateTable('bill').set({
        ...measures, amount: rated.amount, reason: why, status: 'released', issued_on: v.issuedOn, due_date: v.dueDate,
        released_at: ctx.clock.now(), released_by: actor,
      }).where('id', '=', id).execute();
      await recordAction(trx, ctx, { billId: id, action: 'correct', reason: why, actor, oldAmount: b.amount, newAmount: rated.amount });
      return { bill: await lockBill(trx, id) };
    }
    if (b.status !== 'released') throw conflict('BILLING_BILL_NOT_CORRECTABLE', `bill ${b.bill_no} is ${b.status}`);
    if (b.kind === 'credit') throw conflict('BILLING_BILL_NOT_CORRECTABLE', 'a credit note is not corrected; correct its rebill');
    const creditBillId = await issueCredit(trx, ctx, b, why, actor);
    const re = await sql<{ id: number }>`
      INSERT INTO bill (bill_no, kind, customer_id, run_id, cycle_code, period, org_path, tariff_code, period_start, period_end,
        consumption_kwh, sharp_kwh, peak_kwh, flat_kwh, valley_kwh, ytd_kwh, capacity_kva, max_demand_kw, reactive_kvarh, reading_quality,
        amount, status, original_bill_id, reason, issued_on, due_date, released_at, released_by, created_at)
      SELECT 'RB-' || bill_no, 'rebill', customer_id, run_id, cycle_code, period, org_path, tariff_code, period_start, period_end,
        ${measures.consumption_kwh}, ${measures.sharp_kwh}, ${measures.peak_kwh}, ${measures.flat_kwh}, ${measures.valley_kwh}, ytd_kwh,
        capacity_kva, ${measures.max_demand_kw}, ${measures.reactive_kvarh}, 'edited', ${rated.amount}, 'released', id, ${why},
        ${v.issuedOn}, ${v.dueDate}, ${ctx.clock.now()}, ${actor}, ${ctx.clock.now()}
      FROM bill WHERE id = ${id}
      RETURNING id`.execute(trx);
    const rebillId = re.rows[0]!.id;
    await insertLines(trx, rebillId, b.customer_id, rated.lines);
    await recordAction(trx, ctx, { billId: id, action: 'correct', reason: why, actor, oldAmount: b.amount, newAmount: rated.amount, creditBillId, rebillId });
    return { bill: b, creditBillId, rebillId };
  });
}

/** Void: a held bill is withdrawn; a released one is cancelled by a credit note (no rebill). */
export async function voidBill(ctx: AppContext, id: number, actor: string, reason: string | undefined): Promise<ReviewOutcome> {
  const why = requireReason(reason);
  return ctx.db.transaction().execute(async (trx) => {
    const b = await lockBill(trx, id);
    if (b.status === 'held') {
      await sql`UPDATE bill SET status = 'voided', reason = ${why} WHERE id = ${id}`.execute(trx);
      await recordAction(trx, ctx, { billId: id, action: 'void', reason: why, actor, oldAmount: b.amount, newAmount: null });
      return { bill: await lockBill(trx, id) };
    }
    if (b.status !== 'released' || b.kind === 'credit') throw conflict('BILLING_BILL_NOT_VOIDABLE', `bill ${b.bill_no} is a ${b.status} ${b.kind}`);
    const creditBillId = await issueCredit(trx, ctx, b, why, actor);
    await recordAction(trx, ctx, { billId: id, action: 'void', reason: why, actor, oldAmount: b.amount, newAmount: '0.00', creditBillId });
    return { bill: b, creditBillId };
  });
}
