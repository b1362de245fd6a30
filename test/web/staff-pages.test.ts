import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { startWeb, signInAs, screenshot, eventually, type WebHarness } from './harness.ts';
import { customersWithChannels, releaseBills } from '../dunning/support.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';

let web: WebHarness;
let heldBillId: number;
let chased: { id: number; number: string };

beforeAll(async () => {
  web = await startWeb({
    customers: 600, now: '2026-01-11T09:00:00+08:00',
    prepare: async (ctx) => {
      const [a, b] = await customersWithChannels(ctx, ['sms'], 2);
      chased = a!;
      await releaseBills(ctx, [{ customerId: a!.id, period: '2025-12', amount: '88.00', issuedOn: '2025-12-05', dueDate: '2025-12-20', releasedAt: new Date('2025-12-05T10:00:00+08:00') }]);
      await runDunning(ctx, '2026-01-10');
      // a bill the review rules held, as a billing run leaves it
      heldBillId = (await sql<{ id: number }>`
        INSERT INTO bill (bill_no, kind, customer_id, cycle_code, period, org_path, tariff_code, period_start, period_end, consumption_kwh, amount, status, created_at)
        SELECT 'BTEST-HELD-' || c.number, 'bill', c.id, c.billing_cycle, '2026-01', c.org_path, c.tariff_code, '2026-01-01', '2026-01-31', 4210, 2468.30, 'held', now()
        FROM customer c WHERE c.id = ${b!.id} RETURNING id`.execute(ctx.db)).rows[0]!.id;
      await sql`INSERT INTO bill_hold (bill_id, rule_code, detail) VALUES (${heldBillId}, 'spike', 'consumption 4210 kWh is 9.8x the customer average')`.execute(ctx.db);
    },
  });
}, 300_000);
afterAll(async () => {
  await web?.close();
});

describe('staff pages in the browser', () => {
  it('a billing clerk sees why a bill is held and releases it', async () => {
    const page = await web.page();
    await signInAs(page, web.url, 'staff', 'admin');
    await page.goto(`${web.url}/billing`);
    const table = page.getByTestId('review-table');
    await eventually(() => table.textContent()).toContain('spike');
    expect(await table.textContent()).toContain('2468.30');
    await screenshot(page, 'billing-review');
    await page.getByTestId(`release-${heldBillId}`).click();
    await eventually(async () => (await sql<{ status: string }>`SELECT status FROM bill WHERE id = ${heldBillId}`.execute(web.ctx.db)).rows[0]!.status).toBe('released');
    await eventually(() => page.getByTestId('review-total').textContent()).toMatch(/: 0$/);
  });

  it('dunning shows the notices with their states and a customer chase timeline', async () => {
    const page = await web.page();
    await signInAs(page, web.url, 'staff', 'admin');
    await page.goto(`${web.url}/dunning`);
    const expected = (await sql<{ step: string }>`SELECT step FROM dunning_notice WHERE customer_id = ${chased.id} ORDER BY id LIMIT 1`.execute(web.ctx.db)).rows[0]!;
    await eventually(() => page.getByTestId('notices-table').textContent()).toContain(chased.number);
    await screenshot(page, 'dunning-notices');
    await page.getByTestId('notices-table').getByText(chased.number).first().click();
    await eventually(() => page.getByTestId('chase-timeline').textContent()).toContain('pending');
    expect(await page.getByTestId(`notice-${expected.step}`).count()).toBeGreaterThan(0);
    await screenshot(page, 'dunning-timeline');
  });

  it('service lists meter assets with their rotation due dates', async () => {
    const page = await web.page();
    await signInAs(page, web.url, 'staff', 'admin');
    await page.goto(`${web.url}/service?tab=assets`);
    const first = (await sql<{ asset_no: string }>`SELECT asset_no FROM meter ORDER BY asset_no LIMIT 1`.execute(web.ctx.db)).rows[0]!;
    await eventually(() => page.getByTestId('meters-table').textContent()).toContain(first.asset_no);
    await screenshot(page, 'service-assets');
    await page.goto(`${web.url}/service`);
    await page.getByTestId('orders-table').waitFor();
    await screenshot(page, 'service-orders');
  });
});
