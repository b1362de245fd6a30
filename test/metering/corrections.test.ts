import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { signIn, testApp } from '../support/http.ts';
import { ensureReadingPartitions, ingestReadingsFile, upsertReadings } from '../../src/metering/index.ts';
import { meterRefs, readingOf, type MeterRef } from './support.ts';

/** A reading replaced by a later one keeps what it was, with when and from which source it came. */

let ctx: TestContext;
let app: FastifyInstance;
let meters: MeterRef[];
let admin: { authorization: string };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zt-corrections-'));
const DAY = '2026-01-09';

beforeAll(async () => {
  ctx = await testContext({ customers: 50, now: '2026-01-10T08:00:00+08:00' });
  app = await testApp(ctx);
  meters = await meterRefs(ctx, 10);
  admin = await signIn(app, 'admin');
  await ensureReadingPartitions(ctx.db, DAY, DAY);
});
afterAll(async () => {
  await app?.close();
  await ctx?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const post = (payload: Record<string, unknown>[]) => app.inject({ method: 'POST', url: '/api/v1/readings', headers: admin, payload });
const history = async (m: MeterRef, date = DAY) => (await app.inject({ url: `/api/v1/meters/${m.commAddress}/readings/${date}/edits`, headers: admin })).json();
const corrections = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM reading_correction`.execute(ctx.db)).rows[0]!.n;

describe('corrections of stored readings', () => {
  it('an API reading corrected by a later one shows the new value, and the history the old one with when and from where', async () => {
    const m = meters[0]!;
    const first = ctx.clock.now();
    expect((await post([{ meter: m.commAddress, date: DAY, total: '1200.5', valley: '300' }])).json()).toMatchObject({ stored: 1 });
    ctx.clock.advance(3_600_000);
    const second = ctx.clock.now();
    expect((await post([{ meter: m.commAddress, date: DAY, total: '1210.5' }])).json()).toMatchObject({ stored: 1 });

    const series = await app.inject({ url: `/api/v1/meters/${m.commAddress}/readings?from=${DAY}&to=${DAY}`, headers: admin });
    expect(series.json().items).toEqual([expect.objectContaining({ date: DAY, totalKwh: '1210.5000', valleyKwh: '300.0000', quality: 'actual' })]);
    const h = await history(m);
    expect(h.items).toEqual([]);
    expect(h.corrections).toEqual([{
      readingDate: DAY,
      previous: { total: '1200.5000', sharp: null, peak: null, flat: null, valley: '300.0000', quality: 'actual', source: 'api', receivedAt: first.toISOString() },
      replacedBy: { source: 'api', quality: 'actual' },
      replacedAt: second.toISOString(),
    }]);
  });

  it('the same reading again, or a register arriving after the others, adds no trace', async () => {
    const m = meters[1]!;
    await post([{ meter: m.commAddress, date: DAY, total: '500' }]);
    const before = await corrections();
    ctx.clock.advance(60_000);
    expect((await post([{ meter: m.commAddress, date: DAY, total: '500.00' }])).json()).toMatchObject({ stored: 1 });
    expect((await post([{ meter: m.commAddress, date: DAY, valley: '120' }])).json()).toMatchObject({ stored: 1 });
    // the front-end's upsert rewrites the row even when nothing changed
    await upsertReadings(ctx.db, ctx.clock.now(), [{ meterId: m.id, readingDate: DAY, totalKwh: '500', quality: 'actual', source: 'frontend' }]);
    expect(await readingOf(ctx, m.id, DAY)).toMatchObject({ total_kwh: '500.0000', valley_kwh: '120.0000' });
    expect(await corrections()).toBe(before);
    expect((await history(m)).corrections).toEqual([]);
  });

  it('a corrected head-end file keeps the value of the first file, with source file', async () => {
    const m = meters[2]!;
    const file = (name: string, total: string) => {
      const p = path.join(dir, name);
      fs.writeFileSync(p, `meter,date,total,sharp,peak,flat,valley\n${m.commAddress},${DAY},${total},10,20,30,40\n`);
      return p;
    };
    await ingestReadingsFile(ctx, file('a.csv', '100'));
    ctx.clock.advance(60_000);
    await ingestReadingsFile(ctx, file('b.csv', '100'));
    expect((await history(m)).corrections).toEqual([]);
    await ingestReadingsFile(ctx, file('c.csv', '101'));
    expect(await readingOf(ctx, m.id, DAY)).toMatchObject({ total_kwh: '101.0000', source: 'file' });
    expect((await history(m)).corrections).toEqual([expect.objectContaining({
      previous: expect.objectContaining({ total: '100.0000', sharp: '10.0000', quality: 'actual', source: 'file' }),
      replacedBy: { source: 'file', quality: 'actual' },
    })]);
  });

  it('an estimate replaced by the actual reading is kept with its quality, since a bill may have used it', async () => {
    const m = meters[3]!;
    await upsertReadings(ctx.db, ctx.clock.now(), [{ meterId: m.id, readingDate: DAY, totalKwh: '700', quality: 'estimated', source: 'estimate' }]);
    ctx.clock.advance(60_000);
    await upsertReadings(ctx.db, ctx.clock.now(), [{ meterId: m.id, readingDate: DAY, totalKwh: '702.5', quality: 'actual', source: 'frontend' }]);
    expect((await history(m)).corrections).toEqual([expect.objectContaining({
      previous: expect.objectContaining({ total: '700.0000', quality: 'estimated', source: 'estimate' }),
      replacedBy: { source: 'frontend', quality: 'actual' },
    })]);
    // confirmed to the kWh, the estimate is still what a bill may have been computed on
    const same = meters[5]!;
    await upsertReadings(ctx.db, ctx.clock.now(), [{ meterId: same.id, readingDate: DAY, totalKwh: '800', quality: 'estimated', source: 'estimate' }]);
    await upsertReadings(ctx.db, ctx.clock.now(), [{ meterId: same.id, readingDate: DAY, totalKwh: '800', quality: 'actual', source: 'frontend' }]);
    expect((await history(same)).corrections).toEqual([expect.objectContaining({ previous: expect.objectContaining({ total: '800.0000', quality: 'estimated' }) })]);
  });

  it('a manual edit lists among the edits with its reason, not among the corrections', async () => {
    const m = meters[4]!;
    await post([{ meter: m.commAddress, date: DAY, total: '1010' }]);
    const res = await app.inject({ method: 'POST', url: `/api/v1/meters/${m.commAddress}/readings/${DAY}/edit`, headers: admin, payload: { total: '1011', reason: 'register misread' } });
    expect(res.statusCode).toBe(200);
    const h = await history(m);
    expect(h.items).toEqual([expect.objectContaining({ reason: 'register misread', original: expect.objectContaining({ total: 1010 }), edited: expect.objectContaining({ total: 1011, quality: 'edited' }) })]);
    expect(h.corrections).toEqual([]);
  });
});
