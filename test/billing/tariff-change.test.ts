import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { billHtml, findBill, linesOf, runBilling } from '../../src/billing/index.ts';
import { applyDueCustomerChanges, recordCustomerChange } from '../../src/customers/index.ts';
import { signIn, testApp } from '../support/http.ts';
import { readWholeCycle, setTariff } from './builders.ts';

let ctx: TestContext;
let changed: number;
let unchanged: number;
let changedAfter: number;
let changesLater: number;

/** A residential customer of cycle C01 (reading day 1: period 2026-02 is 2026-01-01 to 2026-02-01, 31 days). */
async function residentialOfC01(offset: number): Promise<number> {
  const r = await sql<{ id: string }>`
    SELECT c.id::text AS id FROM customer c
    WHERE c.billing_cycle = 'C01' AND c.category = 'residential' AND c.status = 'active'
      AND EXISTS (SELECT 1 FROM service_point sp WHERE sp.customer_id = c.id AND sp.removed_on IS NULL)
    ORDER BY c.id OFFSET ${offset} LIMIT 1`.execute(ctx.db);
  return Number(r.rows[0]!.id);
}

async function changeTariff(customerId: number, effectiveOn: string, newTariffCode: string) {
  await recordCustomerChange(ctx.db, ctx.clock.now(), { customerId, type: 'tariff', effectiveOn, payload: { newTariffCode }, recordedBy: 'test' });
}

async function billOf(customerId: number) {
  const id = (await sql<{ id: string }>`SELECT id::text AS id FROM bill WHERE customer_id = ${customerId} AND period = '2026-02' AND kind = 'bill'`.execute(ctx.db)).rows[0]!.id;
  const bill = (await findBill(ctx.db, Number(id)))!;
  const lines = await linesOf(ctx.db, [bill.id]);
  const tariffs = (await sql<{ version_id: string; tariff_code: string }>`SELECT id::text AS version_id, tariff_code FROM tariff_version`.execute(ctx.db)).rows;
  const tariffOf = (v: number | null) => tariffs.find((t) => Number(t.version_id) === Number(v))?.tariff_code;
  return {
    bill,
    lines,
    parts: lines.map((l) => ({ tariff: tariffOf(l.tariff_version_id), from: l.segment_start, to: l.segment_end, tier: Number(l.tier), quantity: l.quantity, amount: l.amount })),
    html: billHtml({ bill, lines, customer: { number: '0', name: 'test', address: 'test' } }),
  };
}

beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: '2026-01-05T10:00:00+08:00' });
  [changed, unchanged, changedAfter, changesLater] = await Promise.all([0, 1, 2, 3].map(residentialOfC01));
  for (const id of [changed, unchanged, changedAfter, changesLater]) await setTariff(ctx, id, 'RES-TIER-M');
  // monthly tiers (180 / 280 kWh) until 2026-01-11, annual tiers (2,160 / 3,360 kWh a year) from it
  await changeTariff(changed, '2026-01-11', 'RES-TIER');
  // in force from the next period's first day, applied before this period is billed
  await changeTariff(changedAfter, '2026-02-01', 'RES-TIER');
  // effective after the run: not applied when the period is billed
  await changeTariff(changesLater, '2026-03-01', 'RES-TIER');
  ctx.clock.set('2026-01-10T23:59:00+08:00');
  expect(await applyDueCustomerChanges(ctx.db, ctx.clock.now(), '2026-01-11')).toBe(1);
  ctx.clock.set('2026-01-31T23:59:00+08:00');
  expect(await applyDueCustomerChanges(ctx.db, ctx.clock.now(), '2026-02-01')).toBe(1);
  await readWholeCycle(ctx, 'C01', '2026-01-01', '2026-02-01', () => 310);
  ctx.clock.set('2026-02-02T09:00:00+08:00');
  const run = await runBilling(ctx, { cycle: 'C01', period: '2026-02' });
  expect(run.status).toBe('completed');
});
afterAll(async () => ctx?.drop());

describe('a tariff change inside the billing period', () => {
  it('bills the days before the effective date at the old tariff and the days from it at the new one', async () => {
    const { bill, parts, html } = await billOf(changed);
    // 310 kWh over 31 days: 10 days (100 kWh) on monthly tiers, 21 days (210 kWh) on annual tiers.
    // Monthly limits for 10 of 31 days: 180 → 58.0645, 280 → 90.3226 kWh.
    expect(parts).toEqual([
      { tariff: 'RES-TIER-M', from: '2026-01-01', to: '2026-01-11', tier: 1, quantity: '58.0645', amount: '29.03' },
      { tariff: 'RES-TIER-M', from: '2026-01-01', to: '2026-01-11', tier: 2, quantity: '32.2581', amount: '17.74' },
      { tariff: 'RES-TIER-M', from: '2026-01-01', to: '2026-01-11', tier: 3, quantity: '9.6774', amount: '7.74' },
      // the annual tier counts on from the 100 kWh of the first part: still within 2,160
      { tariff: 'RES-TIER', from: '2026-01-11', to: '2026-02-01', tier: 1, quantity: '210.0000', amount: '105.00' },
    ]);
    expect(bill.amount).toBe('159.51');
    expect(bill.tariff_code).toBe('RES-TIER');
    expect(html).toContain('按各时段天数占本期天数的比例分摊');
    expect(html).toContain('(2026-01-01 至 2026-01-11)');
    expect(html).toContain('(2026-01-11 至 2026-02-01)');
  });

  it('bills a customer whose tariff did not change as before: the whole period at its tariff, no split', async () => {
    const { bill, parts, html } = await billOf(unchanged);
    expect(parts.map((p) => [p.tariff, p.from, p.to, p.quantity, p.amount])).toEqual([
      ['RES-TIER-M', '2026-01-01', '2026-02-01', '180.0000', '90.00'],
      ['RES-TIER-M', '2026-01-01', '2026-02-01', '100.0000', '55.00'],
      ['RES-TIER-M', '2026-01-01', '2026-02-01', '30.0000', '24.00'],
    ]);
    expect(bill.amount).toBe('169.00');
    expect(html).not.toContain('比例分摊');
  });

  it('a correction of the bill re-rates each part at its own tariff, as the run did', async () => {
    const { bill } = await billOf(changed);
    const app = await testApp(ctx);
    try {
      const res = await app.inject({
        method: 'POST', url: `/api/v1/bills/${bill.id}/correct`, headers: await signIn(app, 'admin'),
        payload: { totalKwh: '620', reason: 'meter re-read on site' },
      });
      expect(res.statusCode).toBe(200);
      const rebill = await app.inject({ method: 'GET', url: `/api/v1/bills/${res.json().rebillId ?? bill.id}`, headers: await signIn(app, 'admin') });
      // 620 kWh: 10 days (200 kWh) on monthly tiers (58.0645 / 90.3226 kWh), 21 days (420 kWh) on annual tiers from 200
      expect(rebill.json().lines.map((l: { segmentStart: string; tier: number; quantity: string; amount: string }) => [l.segmentStart, l.tier, l.quantity, l.amount])).toEqual([
        ['2026-01-01', 1, '58.0645', '29.03'], ['2026-01-01', 2, '32.2581', '17.74'], ['2026-01-01', 3, '109.6774', '87.74'],
        ['2026-01-11', 1, '420.0000', '210.00'],
      ]);
      expect(rebill.json().amount).toBe('344.51');
    } finally {
      await app.close();
    }
  });

  it('prices the period at the tariff in force during it when the change takes effect after it, applied or not', async () => {
    for (const id of [changedAfter, changesLater]) {
      const { bill, parts, html } = await billOf(id);
      expect(parts.every((p) => p.tariff === 'RES-TIER-M' && p.from === '2026-01-01' && p.to === '2026-02-01')).toBe(true);
      expect(bill.amount).toBe('169.00');
      expect(bill.tariff_code).toBe('RES-TIER-M');
      expect(html).not.toContain('比例分摊');
    }
  });
});
