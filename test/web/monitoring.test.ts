import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWeb, signInAs, screenshot, eventually, type WebHarness } from './harness.ts';
import { kpiValue, weekOfReadings } from './fixtures.ts';

const LAST_DAY = '2026-01-10';
let web: WebHarness;

const pct = (v: string | null) => `${(Number(v) * 100).toFixed(2)}%`;

beforeAll(async () => {
  web = await startWeb({ customers: 1200, now: '2026-01-11T09:00:00+08:00', prepare: (ctx) => weekOfReadings(ctx, LAST_DAY) });
}, 300_000);
afterAll(async () => {
  await web?.close();
});

describe('monitoring center in the browser', () => {
  it('shows the province read success from the rollup, a trend, and drills down to the worst city', async () => {
    const page = await web.page();
    await signInAs(page, web.url, 'staff', 'analyst');
    const started = Date.now();
    await page.goto(`${web.url}/monitoring`);
    const card = page.getByTestId('kpi-read_success');
    await card.waitFor();
    const province = await kpiValue(web.ctx, 'LN', LAST_DAY, 'read_success');
    await eventually(() => card.textContent()).toContain(pct(province.value));
    const firstPaintMs = Date.now() - started;
    // the page's own clock: from navigation start to the KPI numbers on screen
    const sinceNavigationMs = Math.round(await page.evaluate(() => performance.now()));
    console.log(`monitoring center first meaningful paint (KPI values shown): ${sinceNavigationMs} ms after navigation start, ${firstPaintMs} ms as seen by the test`);
    // the 2 s target is measured and printed; the bound only catches a page that never settles (CI machines are shared)
    expect(firstPaintMs).toBeLessThan(15_000);
    await page.getByTestId('trend-chart').locator('canvas').first().waitFor();
    await eventually(() => page.getByTestId('as-of').textContent()).toContain(LAST_DAY);
    await screenshot(page, 'monitoring-province');

    // worst first: Shenyang (LN01) holds the lagging county, so it heads the list
    const worst = await kpiValue(web.ctx, 'LN01', LAST_DAY, 'read_success');
    const rows = page.getByTestId('subjects-table').locator('tbody tr');
    await eventually(() => rows.first().textContent()).toContain(pct(worst.value));
    await page.getByTestId('drill-LN01').click();
    await eventually(() => page.getByTestId('drill-path').textContent()).toContain('沈阳');
    const county = await kpiValue(web.ctx, 'LN0101', LAST_DAY, 'read_success');
    await eventually(() => rows.first().textContent()).toContain(pct(county.value));
    await screenshot(page, 'monitoring-city-drilldown');
  });

  it('switches to English and keeps a city clerk inside the city', async () => {
    const page = await web.page();
    await signInAs(page, web.url, 'staff', 'clerk.LN04');
    await page.getByTestId('kpi-read_success').waitFor();
    await page.getByTestId('lang-toggle').click();
    await eventually(() => page.getByTestId('kpi-read_success').textContent()).toContain('read-success rate');
    await eventually(() => page.getByTestId('drill-path').textContent()).toContain('Fushun');
    const city = await kpiValue(web.ctx, 'LN04', LAST_DAY, 'read_success');
    await eventually(() => page.getByTestId('kpi-read_success').textContent()).toContain(pct(city.value));
    await page.goto(`${web.url}/monitoring?org=LN01`);
    await eventually(() => page.locator('.ant-alert-error').textContent()).toMatch(/scope/);
    await screenshot(page, 'monitoring-clerk-english');
  });
});

describe('numbers click through to the lists behind them', () => {
  it('opens the unread meters of a city from its read-success number', async () => {
    const page = await web.page();
    await signInAs(page, web.url, 'staff', 'analyst');
    await page.goto(`${web.url}/monitoring`);
    await page.getByTestId('value-LN01').click();
    await eventually(() => new URL(page.url()).pathname).toBe('/collection');
    const unread = await kpiValue(web.ctx, 'LN01', LAST_DAY, 'meters_unread');
    await eventually(() => page.getByTestId('unread-total').textContent()).toBe(String(Number(unread.value)));
    await page.getByTestId('unread-table').locator('tbody tr').first().waitFor();
    await screenshot(page, 'collection-unread-from-monitoring');
  });
});
