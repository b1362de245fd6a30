import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { signIn, signInCustomer, testApp } from '../support/http.ts';
import { readWholeCycle } from './builders.ts';

let ctx: TestContext;
let app: FastifyInstance;
let admin: { authorization: string };
let spikeId: number;
beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: '2026-02-02T09:00:00+08:00' });
  spikeId = (await sql<{ id: number }>`SELECT min(id)::int AS id FROM customer WHERE billing_cycle = 'C01' AND tariff_code = 'RES-TIER'`.execute(ctx.db)).rows[0]!.id;
  // one customer far above its peers so the review queue has an entry
  await readWholeCycle(ctx, 'C01', '2026-01-01', '2026-02-01', (id) => (id === spikeId ? 5000 : 100 + (id % 5) * 20));
  app = await testApp(ctx);
  admin = await signIn(app, 'admin');
});
afterAll(async () => {
  await app?.close();
  await ctx?.drop();
});

describe('billing API', () => {
  it('starts a run, shows its progress, and a second start returns the same completed run', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/billing/runs', headers: admin, payload: { cycle: 'C01', period: '2026-02', wait: true } });
    expect(res.statusCode).toBe(200);
    const run = res.json();
    expect(run).toMatchObject({ status: 'completed', progress: 1 });
    const got = await app.inject({ method: 'GET', url: `/api/v1/billing/runs/${run.id}`, headers: admin });
    expect(got.json()).toMatchObject({ id: run.id, billsCreated: run.billsCreated });
    const again = await app.inject({ method: 'POST', url: '/api/v1/billing/runs', headers: admin, payload: { cycle: 'C01', period: '2026-02' } });
    expect(again.json()).toMatchObject({ id: run.id, billsCreated: run.billsCreated });
  });

  it('a customer sees its own bills with lines and its electronic bill, not another customer\'s', async () => {
    const [mine, other] = (await sql<{ number: string; id: number }>`
      SELECT c.number, b.id FROM bill b JOIN customer c ON c.id = b.customer_id WHERE b.status = 'released' ORDER BY b.id LIMIT 2`.execute(ctx.db)).rows;
    const me = await signInCustomer(app, mine!.number);
    const list = await app.inject({ method: 'GET', url: `/api/v1/customers/${mine!.number}/bills`, headers: me });
    expect(list.statusCode).toBe(200);
    expect(list.json().items[0].lines.length).toBeGreaterThan(0);
    expect((await app.inject({ method: 'GET', url: `/api/v1/customers/${other!.number}/bills`, headers: me })).statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: `/api/v1/bills/${other!.id}`, headers: me })).statusCode).toBe(403);
    const html = await app.inject({ method: 'GET', url: `/api/v1/bills/${mine!.id}/document`, headers: me });
    expect(html.headers['content-type']).toMatch(/text\/html/);
    expect(html.body).toContain('应缴金额');
    expect(html.body).toContain('缴费截止日期:2026-02-17');
    const pdf = await app.inject({ method: 'GET', url: `/api/v1/bills/${mine!.id}/document?format=pdf`, headers: me });
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(pdf.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
  });

  it('the review queue lists held bills with reasons in scope only, and a clerk releases one', async () => {
    const q = await app.inject({ method: 'GET', url: '/api/v1/billing/review?limit=10', headers: admin });
    const held = q.json();
    expect(held.total).toBeGreaterThan(0);
    const spike = held.items.find((b: { customerId: number }) => b.customerId === spikeId);
    expect(spike.holds.map((h: { rule: string }) => h.rule)).toContain('HIGH_VS_PEERS');
    const path = (await sql<{ org_path: string }>`SELECT org_path FROM customer WHERE id = ${spikeId}`.execute(ctx.db)).rows[0]!.org_path;
    const city = path.split('/')[3]!;
    const otherCity = city === 'LN01' ? 'LN02' : 'LN01';
    const outsider = await signIn(app, `clerk.${otherCity}`);
    const theirs = (await app.inject({ method: 'GET', url: '/api/v1/billing/review?limit=500', headers: outsider })).json();
    expect(theirs.items.some((b: { customerId: number }) => b.customerId === spikeId)).toBe(false);
    expect((await app.inject({ method: 'POST', url: `/api/v1/bills/${spike.id}/release`, headers: outsider, payload: {} })).statusCode).toBe(403);
    const clerk = await signIn(app, `clerk.${city}`);
    const rel = await app.inject({ method: 'POST', url: `/api/v1/bills/${spike.id}/release`, headers: clerk, payload: { reason: 'new heat pump, confirmed by phone' } });
    expect(rel.json()).toMatchObject({ status: 'released', dueDate: '2026-02-17' });
  });

  it('quotes a consumption with the same rating as the run, to the fen', async () => {
    const me = await signInCustomer(app, '2100000001');
    const q = await app.inject({ method: 'POST', url: '/api/v1/tariffs/RES-TIER-M/quote', headers: me, payload: { kwh: '300' } });
    expect(q.json()).toMatchObject({ amount: '161.00', lines: [{ tier: 1, amount: '90.00' }, { tier: 2, amount: '55.00' }, { tier: 3, amount: '16.00' }] });
    const tou = await app.inject({ method: 'POST', url: '/api/v1/tariffs/RES-TOU/quote', headers: me, payload: { registers: { peak: '200', valley: 100 }, ytdKwh: '2100' } });
    expect(tou.json()).toMatchObject({ kwh: '300.0000', amount: '152.00' });
    // a sharp register on a tariff without a sharp price is billed at the peak price, not dropped
    const sharp = await app.inject({ method: 'POST', url: '/api/v1/tariffs/RES-TOU/quote', headers: me, payload: { registers: { sharp: '50', peak: '150', valley: 100 }, ytdKwh: '2100' } });
    expect(sharp.json()).toMatchObject({ kwh: '300.0000', amount: '152.00' });
    const bills = (await sql<{ tariff_code: string; consumption_kwh: string; ytd_kwh: string; amount: string }>`
      SELECT tariff_code, consumption_kwh, ytd_kwh, amount FROM bill WHERE tariff_code IN ('RES-TIER', 'AGR') ORDER BY id LIMIT 25`.execute(ctx.db)).rows;
    for (const b of bills) {
      const r = await app.inject({ method: 'POST', url: `/api/v1/tariffs/${b.tariff_code}/quote`, headers: me, payload: { kwh: b.consumption_kwh, ytdKwh: b.ytd_kwh, month: '2026-01' } });
      expect(r.json().amount).toBe(b.amount);
    }
    expect((await app.inject({ method: 'POST', url: '/api/v1/tariffs/NOPE/quote', headers: me, payload: { kwh: 1 } })).json().code).toBe('BILLING_TARIFF_UNKNOWN');
    // a tariff whose first prices start mid-month is not quoted for that month (a run would skip it: NO_TARIFF)
    await sql`INSERT INTO tariff (code, name, name_en, category, tier_basis) VALUES ('AGR-NEW', '农业(新)', 'Agriculture, new', 'agriculture', 'none')`.execute(ctx.db);
    await sql`INSERT INTO tariff_version (id, tariff_code, effective_from) VALUES (201, 'AGR-NEW', '2026-01-17')`.execute(ctx.db);
    await sql`INSERT INTO tariff_rate (version_id, component, register, tier, price) VALUES (201, 'energy', 'total', 0, 0.50)`.execute(ctx.db);
    const midMonth = await app.inject({ method: 'POST', url: '/api/v1/tariffs/AGR-NEW/quote', headers: me, payload: { kwh: '310', month: '2026-01' } });
    expect([midMonth.statusCode, midMonth.json().code]).toEqual([400, 'BILLING_TARIFF_NOT_EFFECTIVE']);
    expect((await app.inject({ method: 'POST', url: '/api/v1/tariffs/AGR-NEW/quote', headers: me, payload: { kwh: '310', month: '2026-02' } })).json().amount).toBe('155.00');
    expect((await app.inject({ method: 'POST', url: '/api/v1/tariffs/RES-TIER/quote', payload: { kwh: 1 } })).statusCode).toBe(401);
  });
});
