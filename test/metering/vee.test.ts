import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { editReading, estimateCycleReadings, loadMeteringPolicy, runVeeRules, upsertReadings, type ReadingUpsert } from '../../src/metering/index.ts';
import { meterRefs, readingOf, series, type MeterRef } from './support.ts';

const D = '2026-01-11';
let ctx: TestContext;
let m: MeterRef[];
let c11: MeterRef[];

const day = (offset: number) => {
  const d = new Date(`${D}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + offset);
  return d.toISOString().slice(0, 10);
};
const at = (date: string, r: Omit<ReadingUpsert, 'readingDate' | 'quality' | 'source'>): ReadingUpsert => ({ ...r, readingDate: date, quality: 'actual', source: 'frontend' });

beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: '2026-01-12T10:00:00+08:00' });
  m = await meterRefs(ctx, 9, sql`c.billing_cycle <> 'C11'`);
  c11 = await meterRefs(ctx, 2, sql`c.billing_cycle = 'C11'`);
  // 31 days of clean history (+10 kWh a day) up to the day before D for every test meter
  await upsertReadings(ctx.db, ctx.clock.now(), series([...m, ...c11].map((x) => x.id), day(-31), 31));
  const [, rev, spike, zero, stuck, tariff, drift, future] = m;
  const rows: ReadingUpsert[] = [
    at(D, { meterId: m[0]!.id, totalKwh: '1310' }), // clean
    at(D, { meterId: rev!.id, totalKwh: '1200' }),
    at(D, { meterId: spike!.id, totalKwh: '1400' }),
    at(D, { meterId: tariff!.id, totalKwh: '1310', sharpKwh: '10', peakKwh: '500', flatKwh: '500', valleyKwh: '250' }),
    at(D, { meterId: drift!.id, totalKwh: '1310', clockDriftSeconds: 900 }),
    at(day(2), { meterId: c11[1]!.id, totalKwh: '1330' }),
  ];
  for (let k = -7; k <= 0; k++) {
    if (k >= -6) rows.push(at(day(k), { meterId: zero!.id, totalKwh: '1240' }));
    rows.push(at(day(k), { meterId: stuck!.id, totalKwh: '1230', peakKwh: String(600 + 10 * (k + 7)) }));
  }
  await upsertReadings(ctx.db, ctx.clock.now(), rows);
  // not read yesterday: the previous reading is the day before
  await sql`DELETE FROM meter_reading WHERE meter_id = ${m[8]!.id} AND reading_date = ${day(-1)}::date`.execute(ctx.db);
  await upsertReadings(ctx.db, ctx.clock.now(), [at(D, { meterId: m[8]!.id, totalKwh: '1200' })]);
  // dated D but received the evening before (Shanghai)
  await upsertReadings(ctx.db, new Date('2026-01-10T20:00:00+08:00'), [at(D, { meterId: future!.id, totalKwh: '1310' })]);
});
afterAll(async () => ctx?.drop());

const flags = async () => (await sql<{ meter_id: number; rule: string; detail: { reason: string } }>`
  SELECT meter_id::int AS meter_id, rule, detail FROM vee_flag WHERE reading_date = ${D}::date ORDER BY meter_id, rule`.execute(ctx.db)).rows;

describe('VEE rules', () => {
  it('flag each implausible reading with its reason and leave clean data alone', async () => {
    const policy = await loadMeteringPolicy(ctx.db);
    await runVeeRules(ctx.db, D, ctx.clock.now(), policy);
    const got = await flags();
    const rulesOf = (x: MeterRef) => got.filter((f) => f.meter_id === x.id).map((f) => f.rule);
    expect(rulesOf(m[0]!)).toEqual([]);
    expect(rulesOf(m[1]!)).toEqual(['reverse']);
    expect(rulesOf(m[2]!)).toEqual(['spike']);
    expect(rulesOf(m[3]!)).toEqual(['zero_streak']);
    expect(rulesOf(m[4]!)).toContain('stuck_register');
    expect(rulesOf(m[4]!)).not.toContain('zero_streak');
    expect(rulesOf(m[5]!)).toEqual(['tariff_sum']);
    expect(rulesOf(m[6]!)).toEqual(['clock_error']);
    expect(rulesOf(m[7]!)).toEqual(['clock_error']);
    expect(rulesOf(m[8]!)).toEqual(['reverse']);
    expect(got.find((f) => f.meter_id === m[8]!.id)!.detail).toMatchObject({ previousDate: day(-2) });
    expect(new Set(got.map((f) => f.meter_id))).toEqual(new Set(m.slice(1).map((x) => x.id)));
    expect(got.find((f) => f.rule === 'reverse')!.detail.reason).toMatch(/below the previous reading/);
    // rerunning adds nothing
    const again = await runVeeRules(ctx.db, D, ctx.clock.now(), policy);
    expect(Object.values(again).every((n) => n === 0)).toBe(true);
  });

  it('an automatic reading received on its own day is a clock error (its register freezes at midnight after it); a person\'s on-site read is not', async () => {
    // the front-end writes without the ingest's quarantine (not_yet_frozen): the day-end VEE is what catches such a reading
    const [auto, onSite, yesterday] = (await meterRefs(ctx, 14, sql`c.billing_cycle <> 'C11'`)).slice(11);
    const today = '2026-01-12';
    await upsertReadings(ctx.db, ctx.clock.now(), [
      at(today, { meterId: auto!.id, totalKwh: '1330' }),
      { meterId: onSite!.id, readingDate: today, totalKwh: '1330', quality: 're_read', source: 'manual' },
      at(day(0), { meterId: yesterday!.id, totalKwh: '1310' }),
    ]);
    const policy = await loadMeteringPolicy(ctx.db);
    await runVeeRules(ctx.db, today, ctx.clock.now(), policy);
    const got = await sql<{ meter_id: number; rule: string; detail: { reason: string } }>`
      SELECT meter_id::int AS meter_id, rule, detail FROM vee_flag WHERE reading_date = ${today}::date AND rule = 'clock_error'`.execute(ctx.db);
    expect(got.rows.map((f) => f.meter_id)).toEqual([auto!.id]);
    expect(got.rows[0]!.detail.reason).toBe('reading dated 2026-01-12 arrived on 2026-01-12, before its register was frozen');
    // a reading of yesterday received today is on time
    await runVeeRules(ctx.db, day(0), ctx.clock.now(), policy);
    expect((await flags()).filter((f) => f.meter_id === yesterday!.id)).toEqual([]);
  });

  it('estimates a missing cycle reading, by interpolation when a later reading exists, marked estimated', async () => {
    const r = await estimateCycleReadings(ctx.db, D, ctx.clock.now(), await loadMeteringPolicy(ctx.db));
    expect(r).toEqual({ interpolated: 1, extrapolated: 1 });
    // history ends D-1 at 1300 (+10/day): extrapolated to 1310; the neighbour 1330 on D+2 gives 1300 + 30/3
    expect(await readingOf(ctx, c11[0]!.id, D)).toMatchObject({ total_kwh: '1310.0000', quality: 'estimated', source: 'estimate' });
    expect(await readingOf(ctx, c11[1]!.id, D)).toMatchObject({ total_kwh: '1310.0000', quality: 'estimated' });
    const none = await sql<{ n: number }>`SELECT count(*)::int AS n FROM meter_reading WHERE reading_date = ${D}::date AND quality = 'estimated'
      AND meter_id NOT IN (${c11[0]!.id}, ${c11[1]!.id})`.execute(ctx.db);
    expect(none.rows[0]!.n).toBe(0);
  });

  it('a manual edit keeps the original and who changed it, and resolves the flag billing sees', async () => {
    const rev = m[1]!;
    const view = () => sql<{ has_open_vee_flag: boolean; quality: string; total_kwh: string }>`
      SELECT has_open_vee_flag, quality, total_kwh FROM v_meter_reading WHERE meter_id = ${rev.id} AND reading_date = ${D}::date`.execute(ctx.db);
    expect((await view()).rows[0]).toMatchObject({ has_open_vee_flag: true, quality: 'actual' });
    await ctx.db.transaction().execute((trx) =>
      editReading(trx, ctx.clock.now(), { meterId: rev.id, date: D, values: { total: '1310' }, reason: 'meter replaced, register misread', editedBy: 'staff:7' }));
    expect((await view()).rows[0]).toEqual({ has_open_vee_flag: false, quality: 'edited', total_kwh: '1310.0000' });
    const hist = await sql<{ original: { total: number; quality: string }; edited_by: string; reason: string }>`
      SELECT original, edited_by, reason FROM reading_edit WHERE meter_id = ${rev.id}`.execute(ctx.db);
    expect(hist.rows).toEqual([{ original: expect.objectContaining({ total: 1200, quality: 'actual' }), edited_by: 'staff:7', reason: 'meter replaced, register misread' }]);
  });
});
