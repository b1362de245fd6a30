import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { runBilling } from '../../src/billing/index.ts';
import { correctBill, releaseBill, voidBill } from '../../src/billing/review.ts';
import { billsOf, giveReadings, setTariff, type ReadingSpec } from './builders.ts';

// Four months of C01 bills at 100 kWh a month, then a February with the cases each rule must catch.
let ctx: TestContext;
let all: number[];
const who: Record<string, number> = {};
const DAYS = ['2025-10-01', '2025-11-01', '2025-12-01', '2026-01-01', '2026-02-01'];

beforeAll(async () => {
  ctx = await testContext({ customers: 400, now: '2026-02-02T09:00:00+08:00' });
  all = (await sql<{ id: number }>`SELECT id FROM customer WHERE billing_cycle = 'C01' AND tariff_code = 'RES-TIER' ORDER BY id`.execute(ctx.db)).rows.map((r) => r.id);
  ['spike', 'zero', 'negative', 'estimated', 'vee', 'general', 'normal'].forEach((k, i) => (who[k] = all[i]!));
  await setTariff(ctx, who.general!, 'GEN-TOU', 50);
  const readings: ReadingSpec[] = [];
  for (const id of all) {
    DAYS.forEach((date, m) => {
      let total = 1000 + m * (id === who.general ? 2000 : 100);
      if (date === '2026-02-01' && id === who.spike) total = 1300 + 2300;
      if (date === '2026-02-01' && id === who.zero) total = 1300;
      if (date === '2026-02-01' && id === who.negative) total = 1250;
      const quality = id === who.estimated && m >= 2 ? 'estimated' : 'actual';
      readings.push({ meterId: id, date, total: String(total), quality });
    });
  }
  await giveReadings(ctx, readings);
  for (const [period, day] of [['2025-11', '2025-11-02'], ['2025-12', '2025-12-02'], ['2026-01', '2026-01-02']] as const) {
    ctx.clock.set(`${day}T09:00:00+08:00`);
    await runBilling(ctx, { cycle: 'C01', period });
  }
  // rules are data: a tighter amount threshold for general customers, and an open VEE flag from metering
  await sql`UPDATE review_rule SET threshold = 500 WHERE code = 'AMOUNT_ABOVE' AND category = 'general'`.execute(ctx.db);
  await sql`INSERT INTO vee_flag (meter_id, reading_date, rule, detail, created_at) VALUES (${who.vee}, '2026-02-01', 'spike', '{}', now())`.execute(ctx.db);
  ctx.clock.set('2026-02-02T09:00:00+08:00');
  await runBilling(ctx, { cycle: 'C01', period: '2026-02' });
});
afterAll(async () => ctx?.drop());

const feb = async (id: number) => {
  const b = (await billsOf(ctx, id)).find((x) => x.period === '2026-02' && x.kind === 'bill')!;
  const holds = (await sql<{ rule_code: string }>`SELECT rule_code FROM bill_hold WHERE bill_id = ${b.id} ORDER BY rule_code`.execute(ctx.db)).rows.map((r) => r.rule_code);
  return { ...b, holds };
};

describe('review rules (核)', () => {
  it('hold consumption far above the own history and the peers', async () => {
    expect((await feb(who.spike!)).holds).toEqual(['AMOUNT_ABOVE', 'HIGH_VS_HISTORY', 'HIGH_VS_PEERS']);
  });
  it('hold zero consumption on an active meter, and negative consumption', async () => {
    expect((await feb(who.zero!)).holds).toEqual(['ZERO_ON_ACTIVE']);
    expect((await feb(who.negative!)).holds).toEqual(['NEGATIVE_CONSUMPTION']);
  });
  it('hold the third estimated period in a row, not the first two', async () => {
    expect((await feb(who.estimated!)).holds).toEqual(['ESTIMATED_STREAK']);
    const jan = (await billsOf(ctx, who.estimated!)).find((x) => x.period === '2026-01')!;
    expect(jan.status).toBe('released');
  });
  it('hold a bill whose reading carries an open VEE flag', async () => {
    expect((await feb(who.vee!)).holds).toEqual(['VEE_FLAG']);
  });
  it('hold an amount above the category threshold', async () => {
    expect((await feb(who.general!)).holds).toEqual(['AMOUNT_ABOVE']);
  });
  it('each hold tells the reviewer why, with the figures the rule compared', async () => {
    const details = async (id: number) => Object.fromEntries((await sql<{ rule_code: string; detail: string }>`
      SELECT h.rule_code, h.detail FROM bill_hold h JOIN bill b ON b.id = h.bill_id
      WHERE b.customer_id = ${id} AND b.period = '2026-02' AND b.kind = 'bill'`.execute(ctx.db)).rows.map((r) => [r.rule_code, r.detail]));
    expect(await details(who.zero!)).toEqual({ ZERO_ON_ACTIVE: 'zero consumption on an active customer' });
    expect(await details(who.negative!)).toEqual({ NEGATIVE_CONSUMPTION: 'consumption -50.0000 kWh' });
    expect(await details(who.estimated!)).toEqual({ ESTIMATED_STREAK: '3 estimated periods in a row' });
    expect(await details(who.vee!)).toEqual({ VEE_FLAG: 'open VEE flag on a reading used' });
    // the customer stays residential (only its tariff is GEN-TOU): the residential threshold applies
    expect((await details(who.general!)).AMOUNT_ABOVE).toMatch(/^amount \d+\.\d{2} above 1000\.00$/);
    const spike = await details(who.spike!);
    // 2,300 kWh over the 31 days of the period
    expect(spike.HIGH_VS_HISTORY).toMatch(/^74\.19 kWh\/day vs own average 3\.\d{2}$/);
    expect(spike.HIGH_VS_PEERS).toMatch(/^74\.19 kWh\/day vs peer average \d+\.\d{2}$/);
    expect(spike.AMOUNT_ABOVE).toMatch(/^amount \d+\.\d{2} above 1000\.00$/);
  });
  it('release an ordinary bill automatically at the end of the run', async () => {
    const b = await feb(who.normal!);
    expect(b.holds).toEqual([]);
    expect(b.status).toBe('released');
  });
});

describe('reviewer decisions', () => {
  it('a reviewer releases a held bill, which then appears in the receivable view with its due date', async () => {
    const b = await feb(who.vee!);
    await releaseBill(ctx, b.id, 'staff:1');
    const r = (await sql<{ amount: string; due_date: string; issued_on: string }>`SELECT amount, due_date, issued_on FROM v_billing_receivable WHERE bill_id = ${b.id}`.execute(ctx.db)).rows;
    expect(r).toEqual([{ amount: b.amount, issued_on: '2026-02-02', due_date: '2026-02-17' }]);
    await expect(releaseBill(ctx, b.id, 'staff:1')).rejects.toMatchObject({ code: 'BILLING_BILL_NOT_HELD' });
  });

  it('correcting a held bill re-rates it with a reason and releases it', async () => {
    const b = await feb(who.negative!);
    await expect(correctBill(ctx, b.id, 'staff:1', '', { totalKwh: '100' })).rejects.toMatchObject({ code: 'BILLING_REASON_REQUIRED' });
    const r = await correctBill(ctx, b.id, 'staff:1', 'register misread on site', { totalKwh: '100' });
    // tier year 2026 had 100 kWh in January: 100 more stay in tier 1 at 0.50
    expect(r.bill).toMatchObject({ status: 'released', amount: '50.00', consumption_kwh: '100.0000', reason: 'register misread on site' });
  });

  it('a correction with a negative maximum demand or reactive energy is refused and leaves the bill held', async () => {
    const b = await feb(who.estimated!);
    for (const bad of [{ maxDemandKw: '-5' }, { reactiveKvarh: '-1.5' }]) {
      await expect(correctBill(ctx, b.id, 'staff:1', 'demand read from the meter', { totalKwh: '100', ...bad })).rejects.toMatchObject({ code: 'BILLING_CORRECTION_INVALID' });
    }
    expect((await feb(who.estimated!)).status).toBe('held');
  });

  it('a released bill is immutable; a correction issues a credit note and a rebill that keep the history', async () => {
    const b = await feb(who.normal!);
    await expect(sql`UPDATE bill SET amount = 0 WHERE id = ${b.id}`.execute(ctx.db)).rejects.toThrow(/immutable/);
    const r = await correctBill(ctx, b.id, 'staff:1', 'customer moved out mid-month', { totalKwh: '60' });
    const docs = await sql<{ kind: string; amount: string; original_bill_id: number | null }>`
      SELECT v.kind, v.amount::text AS amount, b.original_bill_id FROM v_billing_receivable v JOIN bill b ON b.id = v.bill_id
      WHERE v.customer_id = ${who.normal} AND v.period = '2026-02' ORDER BY bill_id`.execute(ctx.db);
    expect(docs.rows).toEqual([
      { kind: 'bill', amount: '50.00', original_bill_id: null },
      { kind: 'credit', amount: '-50.00', original_bill_id: b.id },
      { kind: 'rebill', amount: '30.00', original_bill_id: b.id },
    ]);
    expect(r.creditBillId).toBeGreaterThan(0);
    await expect(correctBill(ctx, b.id, 'staff:1', 'again', { totalKwh: '70' })).rejects.toMatchObject({ code: 'BILLING_ALREADY_CORRECTED' });
  });

  it('voiding a held bill withdraws it; a rerun of the run does not bring it back', async () => {
    const b = await feb(who.zero!);
    await voidBill(ctx, b.id, 'staff:1', 'meter disconnected, customer away');
    await runBilling(ctx, { cycle: 'C01', period: '2026-02' });
    const docs = (await billsOf(ctx, who.zero!)).filter((x) => x.period === '2026-02');
    expect(docs.map((d) => [d.kind, d.status])).toEqual([['bill', 'voided']]);
  });
});
