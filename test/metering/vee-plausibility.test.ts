import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { estimateCycleReadings, loadMeteringPolicy, runVeeRules, upsertReadings, type ReadingUpsert } from '../../src/metering/index.ts';
import { meterRefs, readingOf, series, type MeterRef } from './support.ts';

// A DL/T 645 energy register holds XXXXXX.XX kWh: after 999999.99 it reads 0 again.
const D = '2026-01-11';
let ctx: TestContext;
let m: MeterRef[];
let c11: MeterRef[];
let fresh: MeterRef[]; // new meters, two days of history: no median to judge by

const at = (meterId: number, readingDate: string, totalKwh: string): ReadingUpsert => ({ meterId, readingDate, totalKwh, quality: 'actual', source: 'frontend' });

beforeAll(async () => {
  ctx = await testContext({ customers: 120, now: '2026-01-12T10:00:00+08:00' });
  m = await meterRefs(ctx, 5, sql`c.billing_cycle <> 'C11'`);
  c11 = await meterRefs(ctx, 2, sql`c.billing_cycle = 'C11'`);
  fresh = (await meterRefs(ctx, 30, sql`c.billing_cycle <> 'C11' AND c.kind = 'residential' AND c.contract_capacity_kva IS NULL`)).slice(-3);
  await sql`UPDATE customer SET contract_capacity_kva = 10 WHERE id = ${fresh[2]!.customerId}`.execute(ctx.db);
  await upsertReadings(ctx.db, ctx.clock.now(), series(fresh.map((x) => x.id), '2026-01-09', 2, 10, 100));
  // 31 days up to D-1 at +10 kWh a day, ending at 999990 (the C11 meters at 999995)
  await upsertReadings(ctx.db, ctx.clock.now(), [
    ...series(m.map((x) => x.id), '2025-12-11', 31, 10, 999_690),
    ...series(c11.map((x) => x.id), '2025-12-11', 31, 10, 999_695),
  ]);
  await upsertReadings(ctx.db, ctx.clock.now(), [
    at(m[0]!.id, D, '8.5'), // wrapped: 18.5 kWh used
    at(m[1]!.id, D, '900'), // wrapped, but 910 kWh in a day
    at(m[2]!.id, D, '999000'), // went back 990 kWh below the top
    // the total wrapped, the tariff registers not: they sum to 1000018.5, the total reads 18.5; on the other meter 17.5 is off
    { ...at(m[3]!.id, D, '18.5'), sharpKwh: '60000', peakKwh: '300000', flatKwh: '320000', valleyKwh: '320018.5' },
    { ...at(m[4]!.id, D, '18.5'), sharpKwh: '60000', peakKwh: '300000', flatKwh: '320000', valleyKwh: '320017.5' },
    at(c11[1]!.id, '2026-01-12', '15'), // the day after the cycle day, past the wrap
    at(fresh[0]!.id, D, '1010'), // 900 kWh in a day: more than a household meter can register (528)
    at(fresh[1]!.id, D, '410'), // 300 kWh: a cold day with electric heating, possible
    at(fresh[2]!.id, D, '360'), // 250 kWh on a 10 kVA contract: more than 240
  ]);
});
afterAll(async () => ctx?.drop());

describe('plausible consumption: a register that wraps at 999999.99 (rollover), a new meter', () => {
  it('is no reverse reading nor a tariff-sum mismatch; the consumption across the wrap is judged by the spike rule', async () => {
    await runVeeRules(ctx.db, D, ctx.clock.now(), await loadMeteringPolicy(ctx.db));
    const got = (await sql<{ meter_id: number; rule: string; detail: { used?: string } }>`
      SELECT meter_id::int AS meter_id, rule, detail FROM vee_flag WHERE reading_date = ${D}::date ORDER BY meter_id, rule`.execute(ctx.db)).rows;
    const rulesOf = (x: MeterRef) => got.filter((f) => f.meter_id === x.id).map((f) => f.rule);
    expect(rulesOf(m[0]!)).toEqual([]);
    expect(rulesOf(m[1]!)).toEqual(['spike']);
    expect(Number(got.find((f) => f.meter_id === m[1]!.id)!.detail.used)).toBe(910);
    expect(rulesOf(m[2]!)).toEqual(['reverse']);
    expect(rulesOf(m[3]!)).toEqual([]);
    expect(rulesOf(m[4]!)).toEqual(['tariff_sum']);
  });

  it('a new meter without history is judged by what its supply can deliver in a day', async () => {
    const got = (await sql<{ meter_id: number; rule: string; detail: { ceiling?: string } }>`
      SELECT meter_id::int AS meter_id, rule, detail FROM vee_flag WHERE reading_date = ${D}::date AND meter_id IN (${fresh[0]!.id}, ${fresh[1]!.id}, ${fresh[2]!.id})
      ORDER BY meter_id`.execute(ctx.db)).rows;
    expect(got.map((f) => [f.meter_id, f.rule, Number(f.detail.ceiling)])).toEqual([[fresh[0]!.id, 'spike', 528], [fresh[2]!.id, 'spike', 240]]);
  });

  it('a cycle estimate runs on past the top of the register from 0', async () => {
    const r = await estimateCycleReadings(ctx.db, D, ctx.clock.now(), await loadMeteringPolicy(ctx.db));
    expect(r).toEqual({ interpolated: 1, extrapolated: 1 });
    // 999995 on D-1 at +10 a day: 5 on D; between 999995 and 15 two days later: 5 too
    expect(await readingOf(ctx, c11[0]!.id, D)).toMatchObject({ total_kwh: '5.0000', quality: 'estimated' });
    expect(await readingOf(ctx, c11[1]!.id, D)).toMatchObject({ total_kwh: '5.0000', quality: 'estimated' });
  });
});
