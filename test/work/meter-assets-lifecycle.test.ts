import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { signIn, testApp } from '../support/http.ts';
import { openTasks } from '../../src/work/index.ts';
import { ensureReadingPartitions } from '../../src/metering/index.ts';

let ctx: TestContext;
let app: FastifyInstance;
let admin: Record<string, string>;
const post = (url: string, headers: Record<string, string>, payload: unknown = {}) => app.inject({ method: 'POST', url, headers, payload: payload as object });
const event = (assetNo: string, body: object, headers = admin) => post(`/api/v1/meters/${assetNo}/events`, headers, { place: '计量中心', ...body });
const history = async (assetNo: string) => (await app.inject({ url: `/api/v1/meters/${assetNo}`, headers: admin })).json().events as { event: string; toState: string }[];

let serial = 100;
/** A new meter registered through the asset API and walked through the given events. */
async function newMeter(...steps: object[]): Promise<string> {
  const n = serial++;
  const assetNo = `LC${String(n).padStart(10, '0')}`;
  const r = await post('/api/v1/meters', admin, { assetNo, commAddress: `77${String(n).padStart(10, '0')}`, meterType: 'single_phase', manufacturedOn: '2026-01-05', place: '计量中心库房', orgCode: 'LN0101' });
  expect(r.statusCode, r.body).toBe(201);
  for (const s of steps) {
    const e = await event(assetNo, s);
    expect(e.statusCode, e.body).toBe(200);
  }
  return assetNo;
}
const PASS = { event: 'verified', result: 'pass' };
const STOCK = [PASS, { event: 'in_stock' }];

interface Place { id: number; meter_id: number; asset_no: string; team: string }
async function installedMeter(offset: number): Promise<Place> {
  const r = await sql<Place>`
    SELECT c.id::int AS id, m.id::int AS meter_id, m.asset_no, t.code AS team
    FROM customer c JOIN service_point sp ON sp.customer_id = c.id AND sp.removed_on IS NULL JOIN meter m ON m.id = sp.meter_id
    JOIN transformer_area ta ON ta.id = c.transformer_area_id JOIN team t ON t.id = ta.team_id
    WHERE c.org_path LIKE '%/LN0101/%' ORDER BY c.number OFFSET ${offset} LIMIT 1`.execute(ctx.db);
  return r.rows[0]!;
}

/** Exchange the customer's meter for `newAssetNo` through a meter-exchange task done by the area's team. */
async function exchange(p: Place, newAssetNo: string, date: string) {
  const key = `test:lc:${p.id}:${newAssetNo}`;
  await openTasks(ctx.db, ctx.clock.now(), [{ kind: 'meter_exchange', idempotencyKey: key, title: '换表', customerId: p.id, meterId: p.meter_id, createdBy: 'test' }]);
  const id = Number((await sql<{ id: number }>`SELECT id FROM task WHERE idempotency_key = ${key}`.execute(ctx.db)).rows[0]!.id);
  const team = await signIn(app, `team.${p.team}.1`);
  await post(`/api/v1/tasks/${id}/start`, team);
  const r = await post(`/api/v1/tasks/${id}/complete`, team, { outcome: { exchangeDate: date, oldFinalKwh: '100', newMeterAssetNo: newAssetNo, newInitialKwh: '0' } });
  return { r, team };
}

beforeAll(async () => {
  ctx = await testContext({ customers: 600, now: '2026-02-15T10:00:00+08:00' });
  app = await testApp(ctx);
  await ensureReadingPartitions(ctx.db, '2026-01-01', '2034-12-31');
  admin = await signIn(app, 'admin');
});
afterAll(async () => {
  await app?.close();
  await ctx?.drop();
});

describe('meter lifecycle through the API', () => {
  it('a meter that failed verification may be re-verified and, once it passes, go to stock; nothing else', async () => {
    const assetNo = await newMeter({ event: 'verified', result: 'fail' });
    for (const e of [{ event: 'in_stock' }, { event: 'dispatched' }]) {
      const r = await event(assetNo, e);
      expect([r.statusCode, r.json().code]).toEqual([409, 'ASSET_TRANSITION_REFUSED']);
    }
    expect((await event(assetNo, { event: 'verified', result: 'pass', note: '返厂维修后复检' })).json().state).toBe('verified');
    expect((await event(assetNo, { event: 'in_stock' })).json().state).toBe('in_stock');
    expect((await history(assetNo)).map((e) => e.toState)).toEqual(['arrived', 'verify_failed', 'verified', 'in_stock']);
  });

  it('refuses scrapping an installed meter and dispatching a scrapped one, with a stable code', async () => {
    const installed = await installedMeter(0);
    const r1 = await event(installed.asset_no, { event: 'scrapped' });
    expect([r1.statusCode, r1.json().code]).toEqual([409, 'ASSET_TRANSITION_REFUSED']);
    const scrapped = await newMeter({ event: 'verified', result: 'fail' }, { event: 'scrapped' });
    const r2 = await event(scrapped, { event: 'dispatched' });
    expect([r2.statusCode, r2.json().code]).toEqual([409, 'ASSET_TRANSITION_REFUSED']);
    expect((await history(scrapped)).map((e) => e.toState)).toEqual(['arrived', 'verify_failed', 'scrapped']);
  });

  it('a verification result on any other event is a bad request, and nothing is recorded', async () => {
    const assetNo = await newMeter(PASS);
    const r = await event(assetNo, { event: 'in_stock', result: 'pass' });
    expect([r.statusCode, r.json().code]).toEqual([400, 'ASSET_EVENT_INVALID']);
    expect((await history(assetNo)).map((e) => e.toState)).toEqual(['arrived', 'verified']);
  });

  it('a blank place is refused: every event says where it happened', async () => {
    const assetNo = await newMeter();
    const r = await event(assetNo, { ...PASS, place: '   ' });
    expect([r.statusCode, r.json().code]).toEqual([400, 'REQUEST_INVALID']);
    const a = await post('/api/v1/meters', admin, { assetNo: 'LC9999999999', commAddress: '779999999999', meterType: 'single_phase', manufacturedOn: '2026-01-05', place: ' ' });
    expect([a.statusCode, a.json().code]).toEqual([400, 'REQUEST_INVALID']);
    expect((await history(assetNo)).map((e) => e.toState)).toEqual(['arrived']);
  });

  it('answers unknown asset numbers and wrong event names with a clear 4xx code', async () => {
    expect((await app.inject({ url: '/api/v1/meters/NOSUCH0001', headers: admin })).json().code).toBe('ASSET_UNKNOWN');
    const unknown = await event('NOSUCH0001', PASS);
    expect([unknown.statusCode, unknown.json().code]).toEqual([404, 'ASSET_UNKNOWN']);
    const assetNo = await newMeter();
    const wrong = await event(assetNo, { event: 'repaired' });
    expect([wrong.statusCode, wrong.json().code]).toEqual([400, 'REQUEST_INVALID']);
  });

  it('two requests moving the same meter at once: one succeeds, the other is refused', async () => {
    const assetNo = await newMeter(...STOCK);
    const rs = await Promise.all([event(assetNo, { event: 'dispatched' }), event(assetNo, { event: 'dispatched' })]);
    expect(rs.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    expect((await history(assetNo)).filter((e) => e.event === 'dispatched')).toHaveLength(1);
  });
});

describe('a meter removed in an exchange', () => {
  it('stays with the grid it ran in, so the team that removed it can see it, have it re-verified or scrap it', async () => {
    const p = await installedMeter(1);
    const { r, team } = await exchange(p, await newMeter(...STOCK), '2026-02-15');
    expect(r.statusCode, r.body).toBe(200);
    const old = await app.inject({ url: `/api/v1/meters/${p.asset_no}`, headers: team });
    expect(old.statusCode, old.body).toBe(200);
    expect(old.json()).toMatchObject({ state: 'removed', custody_org_path: expect.stringMatching(/\/LN0101\//) });
    expect((await app.inject({ url: '/api/v1/meters?state=removed&limit=500', headers: team })).json().items.map((m: { asset_no: string }) => m.asset_no)).toContain(p.asset_no);
    const stock = await event(p.asset_no, { event: 'in_stock' }, team);
    expect([stock.statusCode, stock.json().code]).toEqual([409, 'ASSET_TRANSITION_REFUSED']);
    expect((await event(p.asset_no, { event: 'scrapped', place: '县公司报废库' }, team)).json().state).toBe('scrapped');
  });

  it('refuses a meter that failed verification or is already installed elsewhere as the new meter', async () => {
    const failed = await newMeter({ event: 'verified', result: 'fail' });
    const a = await exchange(await installedMeter(2), failed, '2026-02-15');
    expect([a.r.statusCode, a.r.json().code]).toEqual([409, 'ASSET_TRANSITION_REFUSED']);
    const b = await exchange(await installedMeter(3), (await installedMeter(4)).asset_no, '2026-02-15');
    expect([b.r.statusCode, b.r.json().code]).toEqual([409, 'ASSET_TRANSITION_REFUSED']);
  });
});

describe('rotation due', () => {
  it('lists the most overdue first when types have different rotation periods', async () => {
    await sql`UPDATE meter_rotation_policy SET rotation_years = 2 WHERE meter_type <> 'single_phase'`.execute(ctx.db);
    try {
      const due = (await app.inject({ url: '/api/v1/meters/rotation-due?limit=500', headers: admin })).json();
      const types = new Set(due.items.map((m: { meter_type: string }) => m.meter_type));
      expect(types.size).toBeGreaterThan(1);
      const dates = due.items.map((m: { rotation_due_on: string }) => m.rotation_due_on);
      expect(dates).toEqual([...dates].sort());
    } finally {
      await sql`UPDATE meter_rotation_policy SET rotation_years = 8`.execute(ctx.db);
    }
  });

  it('a meter type without a rotation policy is still listed, and never due', async () => {
    const all = async (q: string) => (await app.inject({ url: `/api/v1/meters?limit=1&${q}`, headers: admin })).json().total as number;
    const before = await all('');
    const policy = (await sql<{ rotation_years: number }>`SELECT rotation_years FROM meter_rotation_policy WHERE meter_type = 'three_phase'`.execute(ctx.db)).rows[0]!;
    await sql`DELETE FROM meter_rotation_policy WHERE meter_type = 'three_phase'`.execute(ctx.db);
    try {
      expect(await all('')).toBe(before);
      const due = (await app.inject({ url: '/api/v1/meters/rotation-due?limit=500', headers: admin })).json();
      expect(due.items.filter((m: { meter_type: string }) => m.meter_type === 'three_phase')).toEqual([]);
    } finally {
      await sql`INSERT INTO meter_rotation_policy (meter_type, rotation_years) VALUES ('three_phase', ${policy.rotation_years})`.execute(ctx.db);
    }
  });

  it('a meter installed on 15 Feb 2026 falls due on 15 Feb 2034, not a day earlier', async () => {
    const assetNo = await newMeter(...STOCK);
    expect((await exchange(await installedMeter(5), assetNo, '2026-02-15')).r.statusCode).toBe(200);
    const listed = async () => {
      for (let offset = 0; ; offset += 500) {
        const r = (await app.inject({ url: `/api/v1/meters/rotation-due?limit=500&offset=${offset}`, headers: admin })).json();
        const m = r.items.find((x: { asset_no: string }) => x.asset_no === assetNo);
        if (m || offset + 500 >= r.total) return m;
      }
    };
    ctx.clock.set('2034-02-14T23:59:00+08:00');
    expect(await listed()).toBeUndefined();
    ctx.clock.set('2034-02-15T00:00:00+08:00');
    expect(await listed()).toMatchObject({ installed_on: '2026-02-15', rotation_due_on: '2034-02-15' });
  });
});
