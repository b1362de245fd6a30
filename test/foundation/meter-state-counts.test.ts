/**
 * Meter counts by lifecycle state for a past day are the states the meters were in at the end of that day, read
 * from their lifecycle events, counted where they were then: not today's states.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { signIn, testApp } from '../support/http.ts';
import { recordMeterEvents, METER_LIFECYCLE_STATES } from '../../src/assets/index.ts';

type Headers = { authorization: string };
let ctx: TestContext;
let app: FastifyInstance;
let admin: Headers;
/** A seeded meter running in county LN0101, removed on 02-11, and its grid. */
let running: { id: number; grid: string };
const COUNTY = 'LN0101';
const GRID = 'LN0101S01G01';

const counts = async (day: string, org: string, headers: Headers = admin): Promise<Record<string, number>> => {
  const res = await app.inject({ url: `/api/v1/meters/state-counts?day=${day}&org=${org}`, headers });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().counts;
};
const post = async (url: string, payload: object) => {
  const res = await app.inject({ method: 'POST', url, headers: admin, payload });
  expect(res.statusCode, `${url} ${res.body}`).toBeLessThan(300);
};
const event = (assetNo: string, payload: object) => post(`/api/v1/meters/${assetNo}/events`, { place: '县公司库房', ...payload });

beforeAll(async () => {
  ctx = await testContext({ customers: 200, now: '2026-02-10T10:00:00+08:00' });
  app = await testApp(ctx);
  admin = await signIn(app, 'admin');
  const r = await sql<{ id: number; grid: string }>`
    SELECT m.id::int AS id, g.code AS grid FROM meter m JOIN concentrator k ON k.id = m.concentrator_id
    JOIN transformer_area ta ON ta.id = k.transformer_area_id JOIN org_unit g ON g.id = ta.grid_id
    WHERE m.state = 'installed' AND g.path LIKE ${`%/${COUNTY}/%`} ORDER BY m.id LIMIT 1`.execute(ctx.db);
  running = r.rows[0]!;

  // 02-10: two meters arrive at the county store
  for (const n of [1, 2]) {
    await post('/api/v1/meters', { assetNo: `HIST0000${n}`, commAddress: `66000000000${n}`, meterType: 'single_phase', manufacturedOn: '2026-01-05', place: '县公司库房', orgCode: COUNTY });
  }
  // 02-11: one passes verification and goes to stock, the other fails; the running meter is taken off
  ctx.clock.set('2026-02-11T10:00:00+08:00');
  await event('HIST00001', { event: 'verified', result: 'pass' });
  await event('HIST00001', { event: 'in_stock' });
  await event('HIST00002', { event: 'verified', result: 'fail' });
  await ctx.db.transaction().execute((trx) => recordMeterEvents(trx, ctx.clock.now(), [{ meterId: running.id, event: 'removed', actor: 'test', place: 'customer address' }]));
  // 02-12: the stocked meter is dispatched to a grid, the failed one scrapped
  ctx.clock.set('2026-02-12T10:00:00+08:00');
  await event('HIST00001', { event: 'dispatched', orgCode: GRID });
  await event('HIST00002', { event: 'scrapped' });
});
afterAll(async () => {
  await app?.close();
  await ctx?.drop();
});

describe('meter counts by lifecycle state for a day', () => {
  it('today: the states the meters are in now, as the meter list counts them', async () => {
    const now = await counts('2026-02-12', COUNTY);
    for (const state of METER_LIFECYCLE_STATES) {
      const listed = await app.inject({ url: `/api/v1/meters?state=${state}&limit=1`, headers: await signIn(app, 'agent.LN0101') });
      expect(now[state], state).toBe(listed.json().total);
    }
    expect(now).toMatchObject({ dispatched: 1, scrapped: 1, removed: 1, arrived: 0, in_stock: 0, verify_failed: 0 });
  });

  it('a past day: the states at the end of that day, from the lifecycle events', async () => {
    const installedNow = (await counts('2026-02-12', COUNTY)).installed!;
    expect(await counts('2026-02-09', COUNTY)).toMatchObject({ arrived: 0, verified: 0, in_stock: 0, removed: 0, installed: installedNow + 1 });
    expect(await counts('2026-02-10', COUNTY)).toMatchObject({ arrived: 2, verified: 0, in_stock: 0, verify_failed: 0, removed: 0, installed: installedNow + 1 });
    expect(await counts('2026-02-11', COUNTY)).toMatchObject({ arrived: 0, in_stock: 1, verify_failed: 1, dispatched: 0, scrapped: 0, removed: 1, installed: installedNow });
  });

  it('a past day counts each meter where it was then', async () => {
    expect(await counts('2026-02-11', GRID)).toMatchObject({ in_stock: 0, dispatched: 0 });
    expect(await counts('2026-02-12', GRID)).toMatchObject({ in_stock: 0, dispatched: 1 });
    const before = await counts('2026-02-10', running.grid);
    const after = await counts('2026-02-11', running.grid);
    expect([after.installed! - before.installed!, after.removed! - before.removed!]).toEqual([-1, 1]);
  });

  it("stays in the caller's scope and refuses days to come", async () => {
    const far = await signIn(app, 'agent.LN0201');
    const forbidden = await app.inject({ url: `/api/v1/meters/state-counts?day=2026-02-10&org=${COUNTY}`, headers: far });
    expect([forbidden.statusCode, forbidden.json().code]).toEqual([403, 'AUTH_FORBIDDEN']);
    const own = await app.inject({ url: '/api/v1/meters/state-counts?day=2026-02-10', headers: far });
    expect(own.json().counts.arrived).toBe(0);
    const future = await app.inject({ url: '/api/v1/meters/state-counts?day=2026-02-13', headers: admin });
    expect([future.statusCode, future.json().code]).toEqual([400, 'ASSET_DATE_IN_FUTURE']);
    const bad = await app.inject({ url: '/api/v1/meters/state-counts?day=2026-02-30', headers: admin });
    expect([bad.statusCode, bad.json().code]).toEqual([400, 'ASSET_DATE_INVALID']);
  });
});
