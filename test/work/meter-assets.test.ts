import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { signIn, testApp } from '../support/http.ts';
import { openTasks } from '../../src/work/index.ts';
import { ensureReadingPartitions, upsertReadings } from '../../src/metering/index.ts';
import { runBilling } from '../../src/billing/index.ts';

let ctx: TestContext;
let app: FastifyInstance;
const post = (url: string, headers: Record<string, string>, payload: unknown = {}) => app.inject({ method: 'POST', url, headers, payload: payload as object });

interface Place { id: number; number: string; meter_id: number; asset_no: string; team: string; concentrator_id: number; measuring_point: number }
async function residentialC01(county: string, offset: number): Promise<Place> {
  const r = await sql<Place>`
    SELECT c.id::int AS id, c.number, m.id::int AS meter_id, m.asset_no, t.code AS team, m.concentrator_id, m.measuring_point
    FROM customer c JOIN service_point sp ON sp.customer_id = c.id AND sp.removed_on IS NULL JOIN meter m ON m.id = sp.meter_id
    JOIN transformer_area ta ON ta.id = c.transformer_area_id JOIN team t ON t.id = ta.team_id
    WHERE c.org_path LIKE ${`%/${county}/%`} AND c.tariff_code = 'RES-TIER' AND c.billing_cycle = 'C01'
    ORDER BY c.number OFFSET ${offset} LIMIT 1`.execute(ctx.db);
  return r.rows[0]!;
}

/** A new meter brought to the given state through the asset API. */
async function newMeter(headers: Record<string, string>, n: number, upTo: 'arrived' | 'in_stock' | 'dispatched', orgCode = 'LN0101'): Promise<string> {
  const assetNo = `NEW${String(n).padStart(9, '0')}`;
  const r = await post('/api/v1/meters', headers, { assetNo, commAddress: `88${String(n).padStart(10, '0')}`, meterType: 'single_phase', manufacturedOn: '2026-01-05', place: '计量中心库房', orgCode });
  expect(r.statusCode, r.body).toBe(201);
  const steps = upTo === 'arrived' ? [] : [{ event: 'verified', result: 'pass' }, { event: 'in_stock' }, ...(upTo === 'dispatched' ? [{ event: 'dispatched' }] : [])];
  for (const s of steps) expect((await post(`/api/v1/meters/${assetNo}/events`, headers, { ...s, place: '计量中心' })).statusCode).toBe(200);
  return assetNo;
}

async function exchangeTask(p: Place, key: string): Promise<number> {
  await openTasks(ctx.db, ctx.clock.now(), [{ kind: 'meter_exchange', idempotencyKey: key, title: '换表', customerId: p.id, meterId: p.meter_id, createdBy: 'test' }]);
  return Number((await sql<{ id: number }>`SELECT id FROM task WHERE idempotency_key = ${key}`.execute(ctx.db)).rows[0]!.id);
}

beforeAll(async () => {
  ctx = await testContext({ customers: 600, now: '2026-02-15T10:00:00+08:00' });
  app = await testApp(ctx);
  await ensureReadingPartitions(ctx.db, '2026-01-01', '2026-03-31');
});
afterAll(async () => {
  await app?.close();
  await ctx?.drop();
});

describe('meter assets', () => {
  it('keeps every lifecycle event with who, where and when, and the meter state follows the latest event', async () => {
    const admin = await signIn(app, 'admin');
    const failed = await newMeter(admin, 1, 'arrived');
    await post(`/api/v1/meters/${failed}/events`, admin, { event: 'verified', result: 'fail', place: '计量中心检定线' });
    const refused = await post(`/api/v1/meters/${failed}/events`, admin, { event: 'in_stock', place: '库房' });
    expect([refused.statusCode, refused.json().code]).toEqual([409, 'ASSET_TRANSITION_REFUSED']);
    const scrapped = (await post(`/api/v1/meters/${failed}/events`, admin, { event: 'scrapped', place: '报废库', note: '误差超差' })).json();
    expect(scrapped.state).toBe('scrapped');
    expect(scrapped.events.map((e: { event: string; toState: string }) => [e.event, e.toState])).toEqual([['arrived', 'arrived'], ['verified', 'verify_failed'], ['scrapped', 'scrapped']]);
    expect(scrapped.events[2]).toMatchObject({ place: '报废库', actor: expect.stringMatching(/^staff:/), at: expect.any(String) });
    const direct = await post(`/api/v1/meters/${await newMeter(admin, 2, 'in_stock')}/events`, admin, { event: 'installed', place: 'x' });
    expect(direct.json().code).toBe('ASSET_INSTALL_THROUGH_TASK');
    const drift = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM meter m JOIN LATERAL (SELECT to_state FROM meter_event e WHERE e.meter_id = m.id ORDER BY e.id DESC LIMIT 1) last ON true
      WHERE last.to_state <> m.state`.execute(ctx.db);
    expect(drift.rows[0]!.n).toBe(0);
  });

  it('lists meters due for rotation after the period held as data, within the caller scope', async () => {
    const team = await signIn(app, `team.${(await residentialC01('LN0101', 0)).team}.1`);
    const due = (await app.inject({ url: '/api/v1/meters/rotation-due?limit=500', headers: team })).json();
    expect(due.total).toBeGreaterThan(0);
    for (const m of due.items) {
      expect(m.rotation_due_on <= '2026-02-15').toBe(true);
      expect(m.org_path).toMatch(/\/LN0101\//);
    }
    await sql`UPDATE meter_rotation_policy SET rotation_years = 30`.execute(ctx.db);
    expect((await app.inject({ url: '/api/v1/meters/rotation-due', headers: team })).json().total).toBe(0);
    await sql`UPDATE meter_rotation_policy SET rotation_years = 8`.execute(ctx.db);
    const other = await residentialC01('LN0201', 0);
    expect((await app.inject({ url: `/api/v1/meters/${other.asset_no}`, headers: team })).statusCode).toBe(403);
  });
});

describe('meter exchange through a task', () => {
  it('refuses a new meter that is not in stock and leaves the service point and readings untouched', async () => {
    const p = await residentialC01('LN0101', 1);
    const admin = await signIn(app, 'admin');
    const notReady = await newMeter(admin, 3, 'arrived');
    const id = await exchangeTask(p, 'test:exchange:refused');
    const team = await signIn(app, `team.${p.team}.1`);
    await post(`/api/v1/tasks/${id}/start`, team);
    const r = await post(`/api/v1/tasks/${id}/complete`, team, { outcome: { exchangeDate: '2026-02-15', oldFinalKwh: '1100', newMeterAssetNo: notReady, newInitialKwh: '0' } });
    expect([r.statusCode, r.json().code]).toEqual([409, 'ASSET_TRANSITION_REFUSED']);
    const sp = await sql<{ meter_id: number; removed_on: string | null }>`SELECT meter_id::int AS meter_id, removed_on FROM service_point WHERE customer_id = ${p.id}`.execute(ctx.db);
    expect(sp.rows).toEqual([{ meter_id: p.meter_id, removed_on: null }]);
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM meter_reading WHERE meter_id = ${p.meter_id}`.execute(ctx.db)).rows[0]!.n).toBe(0);
    expect((await app.inject({ url: `/api/v1/tasks/${id}`, headers: team })).json().status).toBe('in_progress');
  });

  it("refuses a new meter from another county's store, or still at the city's, before anything changes", async () => {
    const p = await residentialC01('LN0101', 3);
    const admin = await signIn(app, 'admin');
    const id = await exchangeTask(p, 'test:exchange:other-store');
    const team = await signIn(app, `team.${p.team}.1`);
    await post(`/api/v1/tasks/${id}/start`, team);
    for (const [n, orgCode] of [[5, 'LN0201'], [6, 'LN01']] as const) {
      const assetNo = await newMeter(admin, n, 'dispatched', orgCode);
      const r = await post(`/api/v1/tasks/${id}/complete`, team, { outcome: { exchangeDate: '2026-02-15', oldFinalKwh: '1100', newMeterAssetNo: assetNo, newInitialKwh: '0' } });
      expect([r.statusCode, r.json().code], orgCode).toEqual([403, 'ASSET_OUT_OF_SCOPE']);
      expect((await app.inject({ url: `/api/v1/meters/${assetNo}`, headers: admin })).json().state).toBe('dispatched');
    }
    const sp = await sql<{ meter_id: number; removed_on: string | null }>`SELECT meter_id::int AS meter_id, removed_on FROM service_point WHERE customer_id = ${p.id}`.execute(ctx.db);
    expect(sp.rows).toEqual([{ meter_id: p.meter_id, removed_on: null }]);
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM meter_reading WHERE meter_id = ${p.meter_id}`.execute(ctx.db)).rows[0]!.n).toBe(0);
    expect((await app.inject({ url: `/api/v1/tasks/${id}`, headers: team })).json().status).toBe('in_progress');
  });

  it('moves the service point, writes final and initial registers, and the next bill adds both meters', async () => {
    const p = await residentialC01('LN0101', 2);
    const admin = await signIn(app, 'admin');
    const assetNo = await newMeter(admin, 4, 'dispatched');
    await upsertReadings(ctx.db, ctx.clock.now(), [{ meterId: p.meter_id, readingDate: '2026-02-01', totalKwh: '1000', quality: 'actual', source: 'frontend' }]);
    const id = await exchangeTask(p, 'test:exchange:ok');
    const team = await signIn(app, `team.${p.team}.2`);
    for (const step of ['accept', 'start']) await post(`/api/v1/tasks/${id}/${step}`, team);
    const r = await post(`/api/v1/tasks/${id}/complete`, team, {
      outcome: { exchangeDate: '2026-02-15', oldFinalKwh: '1100.5', newMeterAssetNo: assetNo, newInitialKwh: '3.2', newInitialRegisters: { peakKwh: '1.2', valleyKwh: '2' } },
    });
    expect(r.statusCode, r.body).toBe(200);

    const newId = r.json().outcome.newMeterId as number;
    const sps = await sql<{ meter_id: number; installed_on: string; removed_on: string | null }>`
      SELECT meter_id::int AS meter_id, installed_on, removed_on FROM service_point WHERE customer_id = ${p.id} ORDER BY installed_on, id`.execute(ctx.db);
    expect(sps.rows).toEqual([
      { meter_id: p.meter_id, installed_on: '2025-01-01', removed_on: '2026-02-15' },
      { meter_id: newId, installed_on: '2026-02-15', removed_on: null },
    ]);
    const regs = await sql<{ meter_id: number; total_kwh: string; quality: string; source: string }>`
      SELECT meter_id::int AS meter_id, total_kwh, quality, source FROM meter_reading WHERE reading_date = '2026-02-15' AND meter_id IN (${p.meter_id}, ${newId}) ORDER BY meter_id`.execute(ctx.db);
    expect(regs.rows).toEqual([
      { meter_id: p.meter_id, total_kwh: '1100.5000', quality: 'actual', source: 'manual' },
      { meter_id: newId, total_kwh: '3.2000', quality: 'actual', source: 'manual' },
    ]);
    const tou = await sql<{ peak_kwh: string; valley_kwh: string }>`SELECT peak_kwh, valley_kwh FROM meter_reading WHERE meter_id = ${newId}`.execute(ctx.db);
    expect(tou.rows).toEqual([{ peak_kwh: '1.2000', valley_kwh: '2.0000' }]);
    const meters = await sql<{ id: number; state: string; concentrator_id: number | null; measuring_point: number | null }>`
      SELECT id::int AS id, state, concentrator_id, measuring_point FROM meter WHERE id IN (${p.meter_id}, ${newId}) ORDER BY id`.execute(ctx.db);
    expect(meters.rows).toEqual([
      { id: p.meter_id, state: 'removed', concentrator_id: null, measuring_point: null },
      { id: newId, state: 'installed', concentrator_id: p.concentrator_id, measuring_point: p.measuring_point },
    ]);

    await upsertReadings(ctx.db, ctx.clock.now(), [{ meterId: newId, readingDate: '2026-03-01', totalKwh: '53.2', quality: 'actual', source: 'frontend' }]);
    ctx.clock.set('2026-03-02T09:00:00+08:00');
    await runBilling(ctx, { cycle: 'C01', period: '2026-03' });
    const bill = await sql<{ consumption_kwh: string }>`SELECT consumption_kwh FROM bill WHERE customer_id = ${p.id} AND period = '2026-03' AND kind = 'bill'`.execute(ctx.db);
    // old meter 1000 → 1100.5 until the exchange, new meter 3.2 → 53.2 after it
    expect(bill.rows).toEqual([{ consumption_kwh: '150.5000' }]);
  });
});
