import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { signIn, testApp } from '../support/http.ts';
import { upsertReadings } from '../../src/metering/index.ts';
import { runMeteringDay } from '../../src/flows/metering-day.ts';
import { meterRefs, series, type MeterRef } from './support.ts';

let ctx: TestContext;
let app: FastifyInstance;
let all: MeterRef[];
let admin: { authorization: string };

beforeAll(async () => {
  ctx = await testContext({ customers: 600, now: '2026-01-10T10:00:00+08:00' });
  app = await testApp(ctx);
  all = await meterRefs(ctx, 10_000);
  admin = await signIn(app, 'admin');
});
afterAll(async () => {
  await app?.close();
  await ctx?.drop();
});

const teamCode = async (teamId: number) => (await sql<{ code: string }>`SELECT code FROM team WHERE id = ${teamId}`.execute(ctx.db)).rows[0]!.code;

describe('metering API', () => {
  it('POST /readings stores the good rows of a batch and quarantines the bad ones, listed with their reason', async () => {
    const [a, b] = all;
    const res = await app.inject({
      method: 'POST', url: '/api/v1/readings', headers: admin,
      payload: { readings: [{ meter: a!.commAddress, date: '2026-01-09', total: 100.5 }, { meter: b!.assetNo, date: '2026-01-09', total: 'x' }, { meter: '000000000000', date: '2026-01-09', total: 1 }] },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ stored: 1, quarantined: 2, byReason: { not_numeric: 1, unknown_meter: 1 } });
    const q = await app.inject({ url: '/api/v1/readings/quarantine?reason=not_numeric', headers: admin });
    expect(q.json()).toMatchObject({ total: 1, items: [{ reason: 'not_numeric', source: 'api', raw: { total: 'x' } }] });
    const series = await app.inject({ url: `/api/v1/meters/${a!.commAddress}/readings?from=2026-01-01&to=2026-01-10`, headers: admin });
    expect(series.json().items).toEqual([expect.objectContaining({ date: '2026-01-09', totalKwh: '100.5000', quality: 'actual', hasOpenVeeFlag: false })]);
  });

  it('POST /readings quarantines a reading dated today (its register is frozen only at midnight) and stores the rest of the batch', async () => {
    const [a, b] = all.slice(20);
    const res = await app.inject({
      method: 'POST', url: '/api/v1/readings', headers: admin,
      payload: [{ meter: a!.commAddress, date: '2026-01-10', total: 120 }, { meter: b!.commAddress, date: '2026-01-09', total: 80 }],
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ stored: 1, quarantined: 1, byReason: { not_yet_frozen: 1 }, errors: [{ row: 1, reason: 'not_yet_frozen' }] });
    const q = await app.inject({ url: '/api/v1/readings/quarantine?reason=not_yet_frozen', headers: admin });
    expect(q.json()).toMatchObject({ total: 1, items: [{ reason: 'not_yet_frozen', source: 'api', raw: { date: '2026-01-10', total: 120 } }] });
    const stored = await app.inject({ url: `/api/v1/meters/${a!.commAddress}/readings?from=2026-01-09&to=2026-01-10`, headers: admin });
    expect(stored.json().items).toEqual([]);
  });

  it('a collection team cannot ingest readings for meters outside its county', async () => {
    const mine = all[0]!;
    const other = all.find((x) => !x.orgPath.startsWith(mine.orgPath.split('/').slice(0, 5).join('/') + '/'))!;
    const team = await signIn(app, `team.${await teamCode(mine.teamId)}.1`);
    const res = await app.inject({ method: 'POST', url: '/api/v1/readings', headers: team, payload: [{ meter: other.commAddress, date: '2026-01-09', total: 5 }] });
    expect(res.json()).toMatchObject({ stored: 0, byReason: { out_of_scope: 1 } });
  });

  it('shows read success per org level, the unread meters and re-read tasks per team; a manual reading closes the task', async () => {
    const unread = all[10]!;
    await upsertReadings(ctx.db, ctx.clock.now(), series(all.filter((x) => x.id !== unread.id).map((x) => x.id), '2026-01-08', 3));
    await runMeteringDay(ctx, '2026-01-10');
    const hq = await app.inject({ url: '/api/v1/metering/success?day=2026-01-10&org=SGCC', headers: admin });
    expect(hq.json().org).toMatchObject({ meters: 600, read: 599, rate: 0.9983 });
    expect(hq.json().children).toEqual([expect.objectContaining({ code: 'LN', meters: 600, read: 599 })]);
    const county = unread.orgPath.split('/')[4]!;
    const c = await app.inject({ url: `/api/v1/metering/success?day=2026-01-10&org=${county}`, headers: admin });
    expect(c.json().teams).toContainEqual(expect.objectContaining({ id: unread.teamId, read: expect.any(Number) }));
    const list = await app.inject({ url: `/api/v1/metering/unread?day=2026-01-10&team=${unread.teamId}`, headers: admin });
    expect(list.json()).toMatchObject({ total: 1, items: [{ commAddress: unread.commAddress, lastReadOn: null }] });

    const team = await signIn(app, `team.${await teamCode(unread.teamId)}.1`);
    const load = await app.inject({ url: '/api/v1/metering/reread-tasks?day=2026-01-10', headers: team });
    expect(load.json().teams).toEqual([expect.objectContaining({ teamId: unread.teamId, open: 1 })]);
    const entered = await app.inject({ method: 'POST', url: `/api/v1/meters/${unread.commAddress}/manual-reading`, headers: team, payload: { date: '2026-01-10', total: '1020.5' } });
    expect(entered.statusCode).toBe(200);
    expect(entered.json()).toMatchObject({ quality: 're_read', tasksClosed: 1 });
    const analyst = await signIn(app, 'analyst');
    const refused = await app.inject({ method: 'POST', url: `/api/v1/meters/${unread.commAddress}/manual-reading`, headers: analyst, payload: { date: '2026-01-10', total: '1' } });
    expect(refused.statusCode).toBe(403);
  });

  it('an edit through the API keeps the original in the edit history', async () => {
    const a = all[0]!;
    const res = await app.inject({ method: 'POST', url: `/api/v1/meters/${a.commAddress}/readings/2026-01-09/edit`, headers: admin, payload: { total: '1011', reason: 'register misread' } });
    expect(res.statusCode).toBe(200);
    const hist = await app.inject({ url: `/api/v1/meters/${a.commAddress}/readings/2026-01-09/edits`, headers: admin });
    expect(hist.json().items).toEqual([expect.objectContaining({ reason: 'register misread', original: expect.objectContaining({ total: 1010 }), edited: expect.objectContaining({ total: 1011, quality: 'edited' }) })]);
  });
});
