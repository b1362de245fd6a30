import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { startWeb, signInAs, screenshot, eventually, type WebHarness } from './harness.ts';
import { weekOfReadings } from './fixtures.ts';
import { customersWithChannels, releaseBills } from '../dunning/support.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import { openTasks } from '../../src/work/index.ts';

const LAST_DAY = '2026-01-10';
let web: WebHarness;
let payer: { id: number; number: string };
let debtor: { id: number; number: string; gridCode: string };

const notices = async (customerId: number) =>
  (await sql<{ step: string; status: string; cancel_reason: string | null }>`
    SELECT step, status, cancel_reason FROM dunning_notice WHERE customer_id = ${customerId} ORDER BY id`.execute(web.ctx.db)).rows;

beforeAll(async () => {
  web = await startWeb({
    customers: 600, now: '2026-01-11T09:00:00+08:00',
    prepare: async (ctx) => {
      await weekOfReadings(ctx, LAST_DAY, { kpis: false });
      const [a, b] = await customersWithChannels(ctx, ['sms'], 2);
      payer = a!;
      const grid = (await sql<{ code: string }>`SELECT o.code FROM customer c JOIN org_unit o ON o.id = c.grid_id WHERE c.id = ${b!.id}`.execute(ctx.db)).rows[0]!;
      debtor = { ...b!, gridCode: grid.code };
      await releaseBills(ctx, [a!, b!].map((c) => ({
        customerId: c.id, period: '2025-12', amount: '152.40', issuedOn: '2025-12-05', dueDate: '2025-12-20', releasedAt: new Date('2025-12-05T10:00:00+08:00'),
      })));
      await runDunning(ctx, LAST_DAY);
      await openTasks(ctx.db, ctx.clock.now(), [{
        kind: 'manual_collection', idempotencyKey: `web-test-collect-${debtor.id}`, title: '人工催费 2025-12', customerId: debtor.id, payload: { outstanding: '152.40' }, createdBy: 'test',
      }]);
    },
  });
}, 300_000);
afterAll(async () => {
  await web?.close();
});

describe('customer portal in the browser', () => {
  it('shows daily usage, pays the bill through the payments API, and the chase stops', async () => {
    const before = await notices(payer.id);
    expect(before.some((n) => n.status === 'pending' && n.step.startsWith('overdue'))).toBe(true);

    const page = await web.page();
    await signInAs(page, web.url, 'customer', payer.number);
    await page.getByTestId('usage-chart').locator('canvas').first().waitFor();
    await screenshot(page, 'portal-usage');

    await page.goto(`${web.url}/portal?tab=bills`);
    const due = (await sql<{ total: string }>`SELECT sum(outstanding + late_fee)::numeric(14,2)::text AS total FROM payments_debt_as_of('2026-01-11'::date, ARRAY[${payer.id}]::bigint[])`.execute(web.ctx.db)).rows[0]!.total;
    await eventually(() => page.getByTestId('total-due').textContent()).toBe(`¥${due}`);
    await eventually(() => page.getByTestId('chase-timeline').textContent()).toContain('pending');
    await screenshot(page, 'portal-bills-before-payment');
    await page.getByTestId('pay-open').click();
    // the payment's answer, so a refused or slow posting fails here with what the server said
    const posted = page.waitForResponse((r) => r.url().endsWith('/api/v1/payments') && r.request().method() === 'POST', { timeout: 60_000 });
    posted.catch(() => undefined); // awaited below; a click that never lands fails first, with Playwright's call log
    await page.getByTestId('pay-confirm').click({ timeout: 30_000 });
    const answer = await posted;
    expect(answer.status(), await answer.text()).toBe(201);
    await eventually(() => page.getByTestId('total-due').textContent()).toBe('¥0.00');
    const paid = (await sql<{ channel: string; amount: string }>`SELECT channel, amount::text FROM payment WHERE customer_id = ${payer.id}`.execute(web.ctx.db)).rows;
    expect(paid).toEqual([{ channel: 'portal', amount: due }]);

    // the next daily dunning run cancels what was still pending and starts nothing new
    await runDunning(web.ctx, '2026-01-11');
    const after = await notices(payer.id);
    expect(after.length).toBe(before.length);
    expect(after.filter((n) => n.step.startsWith('overdue')).every((n) => n.status !== 'pending')).toBe(true);
    expect(after.some((n) => n.cancel_reason === 'paid')).toBe(true);
    await page.reload();
    await eventually(() => page.getByTestId('chase-timeline').textContent()).toContain('cancelled');
    await screenshot(page, 'portal-chase-stopped');
  });

  it('withdraws a channel and the agreement records it', async () => {
    const page = await web.page();
    await signInAs(page, web.url, 'customer', payer.number);
    await page.goto(`${web.url}/portal?tab=account`);
    await page.getByTestId('channel-sms').waitFor();
    await page.getByTestId('add-channel-value').fill(`u${payer.id}@example.com`);
    await page.getByTestId('add-channel-kind').click();
    await page.locator('.ant-select-item-option').filter({ hasText: /电子邮件|Email/ }).click();
    await page.getByTestId('add-channel').click();
    await page.getByTestId('withdraw-sms').click();
    await page.getByTestId('save-channels').click();
    await eventually(async () => (await sql<{ channel: string; withdrawn: boolean }>`
      SELECT channel, withdrawn_at IS NOT NULL AS withdrawn FROM channel_agreement WHERE customer_id = ${payer.id} ORDER BY channel`.execute(web.ctx.db)).rows)
      .toEqual([{ channel: 'email', withdrawn: false }, { channel: 'sms', withdrawn: true }]);
    await screenshot(page, 'portal-channels');
  });
});

describe('customer tariff calculator', () => {
  it('quotes a consumption with the customer tariff through the billing API', async () => {
    const page = await web.page();
    await signInAs(page, web.url, 'customer', payer.number);
    await page.goto(`${web.url}/portal?tab=quote`);
    await page.getByTestId('quote-run').click();
    const tariff = (await sql<{ tariff_code: string }>`SELECT tariff_code FROM customer WHERE id = ${payer.id}`.execute(web.ctx.db)).rows[0]!.tariff_code;
    const headers = { authorization: `Bearer ${await page.evaluate<string>("localStorage.getItem('zt.token')")}` };
    const quote = await web.app.inject({ method: 'POST', url: `/api/v1/tariffs/${tariff}/quote`, headers, payload: { kwh: '200' } });
    await eventually(() => page.getByTestId('quote-amount').textContent()).toBe(`¥${quote.json().amount}`);
    await screenshot(page, 'portal-tariff-calculator');
  });
});

describe('grid-manager workbench on a phone', () => {
  it('records a collection outcome in a few taps from a 390x844 viewport', async () => {
    const page = await web.page({ phone: true });
    await signInAs(page, web.url, 'staff', `gm.${debtor.gridCode}`);
    const task = (await sql<{ id: number }>`SELECT id FROM task WHERE idempotency_key = ${`web-test-collect-${debtor.id}`}`.execute(web.ctx.db)).rows[0]!;
    const card = page.getByTestId(`task-${task.id}`);
    await card.waitFor();
    expect(await card.textContent()).toContain('152.40');
    await screenshot(page, 'workbench-phone-inbox');
    await card.click();
    await page.getByTestId('customer-card').waitFor();
    await eventually(() => page.getByTestId('card-number').textContent()).toBe(debtor.number);
    await screenshot(page, 'workbench-phone-task');
    await page.getByTestId('outcome-promise').click();
    await eventually(async () => (await sql<{ status: string; result: string }>`
      SELECT status, outcome->>'result' AS result FROM task WHERE id = ${task.id}`.execute(web.ctx.db)).rows[0])
      .toEqual({ status: 'done', result: 'promise_to_pay' });
    await eventually(() => page.getByTestId(`task-${task.id}`).count()).toBe(0);
  });
});
