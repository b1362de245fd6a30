import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { signIn, testApp } from '../support/http.ts';
import { ensureReadingPartitions, ingestReadingsFile, loadMeteringPolicy, runVeeRules, upsertReadings } from '../../src/metering/index.ts';
import { meterRefs, readingOf, series, type MeterRef } from './support.ts';

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

describe('VEE flags of a replaced reading', () => {
  // a month of clean history (+10 kWh a day) up to 2026-01-05 (1300 kWh), then a wrong value on 01-06 and a good one on 01-07
  const WRONG = '2026-01-06';
  const NEXT = '2026-01-07';
  const withWrongDay = async (m: MeterRef) => {
    await upsertReadings(ctx.db, ctx.clock.now(), series([m.id], '2025-12-06', 31));
    expect((await post([{ meter: m.commAddress, date: WRONG, total: '6310' }, { meter: m.commAddress, date: NEXT, total: '1320' }])).json()).toMatchObject({ stored: 2 });
    const policy = await loadMeteringPolicy(ctx.db);
    for (const day of [WRONG, NEXT]) await runVeeRules(ctx.db, day, ctx.clock.now(), policy);
  };
  const flagsOf = async (m: MeterRef) => (await sql<{ day: string; rule: string; open: boolean; resolved_by: string | null; used: string | null }>`
    SELECT to_char(reading_date, 'YYYY-MM-DD') AS day, rule, resolved_at IS NULL AS open, resolved_by, detail->>'used' AS used
    FROM vee_flag WHERE meter_id = ${m.id} ORDER BY reading_date, rule`.execute(ctx.db)).rows;
  const billingHolds = async (m: MeterRef) => (await sql<{ day: string; held: boolean }>`
    SELECT to_char(reading_date, 'YYYY-MM-DD') AS day, has_open_vee_flag AS held FROM v_meter_reading
    WHERE meter_id = ${m.id} AND reading_date IN (${WRONG}::date, ${NEXT}::date) ORDER BY reading_date`.execute(ctx.db)).rows;

  it('a head-end file resending the corrected value resolves the flags the wrong one raised, on its day and the next, and billing holds neither day', async () => {
    const m = meters[6]!;
    await withWrongDay(m);
    expect(await flagsOf(m)).toEqual([
      { day: WRONG, rule: 'spike', open: true, resolved_by: null, used: '5010.0000' },
      { day: NEXT, rule: 'reverse', open: true, resolved_by: null, used: null },
    ]);
    expect(await billingHolds(m)).toEqual([{ day: WRONG, held: true }, { day: NEXT, held: true }]);
    ctx.clock.advance(3_600_000);
    const p = path.join(dir, 'resend.csv');
    fs.writeFileSync(p, `meter,date,total\n${m.commAddress},${WRONG},1310\n`);
    expect(await ingestReadingsFile(ctx, p)).toMatchObject({ stored: 1, quarantined: 0 });
    expect(await flagsOf(m)).toEqual([
      { day: WRONG, rule: 'spike', open: false, resolved_by: 'vee_recheck', used: '5010.0000' },
      { day: NEXT, rule: 'reverse', open: false, resolved_by: 'vee_recheck', used: null },
    ]);
    expect(await billingHolds(m)).toEqual([{ day: WRONG, held: false }, { day: NEXT, held: false }]);
    const queued = await sql<{ n: number }>`SELECT count(*)::int AS n FROM vee_recheck`.execute(ctx.db);
    expect(queued.rows[0]!.n).toBe(0);
  });

  it('a resend that still fails keeps the flag open with the new reason; a stale resend of the wrong value raises it again', async () => {
    const m = meters[7]!;
    await withWrongDay(m);
    ctx.clock.advance(60_000);
    await post([{ meter: m.commAddress, date: WRONG, total: '4310' }]);
    expect((await flagsOf(m))[0]).toEqual({ day: WRONG, rule: 'spike', open: true, resolved_by: null, used: '3010.0000' });
    ctx.clock.advance(60_000);
    await post([{ meter: m.commAddress, date: WRONG, total: '1310' }]);
    expect((await flagsOf(m)).map((f) => [f.rule, f.open])).toEqual([['spike', false], ['reverse', false]]);
    // the wrong value once more (a resend arriving out of order): the rule fails again, and so does the next day's
    ctx.clock.advance(60_000);
    await post([{ meter: m.commAddress, date: WRONG, total: '6310' }]);
    expect(await flagsOf(m)).toEqual([
      { day: WRONG, rule: 'spike', open: true, resolved_by: null, used: '5010.0000' },
      { day: NEXT, rule: 'reverse', open: true, resolved_by: null, used: null },
    ]);
    expect(await billingHolds(m)).toEqual([{ day: WRONG, held: true }, { day: NEXT, held: true }]);
  });

  it('an on-site re-read replacing a flagged reading is judged again at the next VEE run', async () => {
    const m = meters[8]!;
    await withWrongDay(m);
    const res = await app.inject({ method: 'POST', url: `/api/v1/meters/${m.commAddress}/manual-reading`, headers: admin, payload: { date: WRONG, total: '1311' } });
    expect(res.statusCode, res.body).toBe(200);
    expect(await readingOf(ctx, m.id, WRONG)).toMatchObject({ total_kwh: '1311.0000', quality: 're_read' });
    await runVeeRules(ctx.db, DAY, ctx.clock.now(), await loadMeteringPolicy(ctx.db));
    expect((await flagsOf(m)).map((f) => [f.day, f.rule, f.open, f.resolved_by])).toEqual([[WRONG, 'spike', false, 'vee_recheck'], [NEXT, 'reverse', false, 'vee_recheck']]);
  });
});
