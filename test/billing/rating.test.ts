import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { rateOne, runBilling } from '../../src/billing/index.ts';
import { billsOf, giveReadings, linesOfBill, setTariff } from './builders.ts';

// Hand-computed bills, to the fen. Period 2026-02 of cycle C01 runs 2026-01-01 → 2026-02-01 (31 days).
let ctx: TestContext;
let c: number[];
let straddling: number;
beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: '2026-02-02T09:00:00+08:00' });
  c = (await sql<{ id: number }>`SELECT id FROM customer WHERE billing_cycle = 'C01' ORDER BY id LIMIT 8`.execute(ctx.db)).rows.map((r) => r.id);
  const [monthly, annual, tou, gen, li, exchanged, febYear] = c as [number, number, number, number, number, number, number];

  await setTariff(ctx, monthly, 'RES-TIER-M');
  await setTariff(ctx, annual, 'RES-TIER');
  await setTariff(ctx, tou, 'RES-TOU');
  await setTariff(ctx, gen, 'GEN-TOU', 50);
  await setTariff(ctx, li, 'LI-2P', 500);
  await setTariff(ctx, exchanged, 'RES-TIER-M');
  // a tier year starting in February: period 2026-02 starts a new year, so January's use does not count
  await sql`INSERT INTO tariff (code, name, name_en, category, tier_basis, tier_year_start_month) VALUES
    ('RES-TIER-FEB', '居民阶梯(二月起)', 'Residential tiered, tier year from February', 'residential', 'annual', 2)`.execute(ctx.db);
  await sql`INSERT INTO tariff_version (id, tariff_code, effective_from, tier1_limit_kwh, tier2_limit_kwh) VALUES (101, 'RES-TIER-FEB', '2024-01-01', 2160, 3360)`.execute(ctx.db);
  await sql`INSERT INTO tariff_rate (version_id, component, register, tier, price) VALUES (101, 'energy', 'total', 1, 0.50), (101, 'energy', 'total', 2, 0.55), (101, 'energy', 'total', 3, 0.80)`.execute(ctx.db);
  await setTariff(ctx, febYear, 'RES-TIER-FEB');
  // GEN-TOU prices change on 2026-01-17: 16 days at the old version, 15 at the new one
  await sql`INSERT INTO tariff_version (id, tariff_code, effective_from, pf_standard, pf_min_kva) VALUES (102, 'GEN-TOU', '2026-01-17', 0.85, 100)`.execute(ctx.db);
  await sql`INSERT INTO tariff_rate (version_id, component, register, tier, price) VALUES
    (102, 'energy', 'sharp', 0, 0.7100), (102, 'energy', 'peak', 0, 0.5900), (102, 'energy', 'flat', 0, 0.3950), (102, 'energy', 'valley', 0, 0.2000),
    (102, 'transmission', 'total', 0, 0.2141), (102, 'line_loss', 'total', 0, 0.0160), (102, 'system_operation', 'total', 0, 0.0330),
    (102, 'government_funds', 'total', 0, 0.0286)`.execute(ctx.db);
  await sql`INSERT INTO billing_period_measure (customer_id, period, reactive_kvarh) VALUES (${li}, '2026-02', 60000)`.execute(ctx.db);

  // the exchanged meter: old meter removed 2026-01-15 at 1100 (100 kWh), new meter from 0 to 50
  await sql`UPDATE service_point SET removed_on = '2026-01-15' WHERE customer_id = ${exchanged}`.execute(ctx.db);
  await sql`INSERT INTO meter (id, asset_no, comm_address, meter_type, state, manufactured_on)
    VALUES (900001, '3310900001', '900000000001', 'single_phase', 'installed', '2025-06-01')`.execute(ctx.db);
  await sql`INSERT INTO service_point (id, customer_id, meter_id, installed_on) VALUES (900001, ${exchanged}, 900001, '2026-01-15')`.execute(ctx.db);

  await giveReadings(ctx, [
    { meterId: monthly, date: '2026-01-01', total: '5000' }, { meterId: monthly, date: '2026-02-01', total: '5300' },
    { meterId: annual, date: '2025-12-01', total: '0' }, { meterId: annual, date: '2026-01-01', total: '2000' },
    { meterId: annual, date: '2026-02-01', total: '2333.33' },
    { meterId: tou, date: '2025-12-01', total: '0', peak: '0', flat: '0', valley: '0' },
    { meterId: tou, date: '2026-01-01', total: '100', peak: '100', flat: '0', valley: '0' },
    { meterId: tou, date: '2026-02-01', total: '2500', peak: '1700', flat: '0', valley: '800' },
    { meterId: gen, date: '2026-01-01', total: '10000', sharp: '1000', peak: '3000', flat: '4000', valley: '2000' },
    { meterId: gen, date: '2026-02-01', total: '13100', sharp: '1100', peak: '4000', flat: '5200', valley: '2800' },
    { meterId: li, date: '2026-01-01', total: '0', sharp: '0', peak: '0', flat: '0', valley: '0' },
    { meterId: li, date: '2026-02-01', total: '100000', sharp: '0', peak: '30000', flat: '40000', valley: '30000' },
    { meterId: exchanged, date: '2026-01-01', total: '1000' }, { meterId: exchanged, date: '2026-01-15', total: '1100' },
    { meterId: 900001, date: '2026-01-15', total: '0' }, { meterId: 900001, date: '2026-02-01', total: '50' },
    { meterId: febYear, date: '2025-12-01', total: '0' }, { meterId: febYear, date: '2026-01-01', total: '2000' },
    { meterId: febYear, date: '2026-02-01', total: '2333.33' },
  ]);
  // a C21 customer (periods run from the 21st) on annual tiers from January: period 2026-01 straddles 2026-01-01
  straddling = (await sql<{ id: number }>`SELECT min(id)::int AS id FROM customer WHERE billing_cycle = 'C21'`.execute(ctx.db)).rows[0]!.id;
  await setTariff(ctx, straddling, 'RES-TIER');
  await giveReadings(ctx, [
    { meterId: straddling, date: '2025-11-21', total: '0' }, { meterId: straddling, date: '2025-12-21', total: '2100' },
    { meterId: straddling, date: '2026-01-21', total: '2410' }, { meterId: straddling, date: '2026-02-21', total: '4410' },
  ]);
  ctx.clock.set('2025-12-22T09:00:00+08:00');
  await runBilling(ctx, { cycle: 'C21', period: '2025-12' });
  ctx.clock.set('2026-01-02T09:00:00+08:00');
  await runBilling(ctx, { cycle: 'C01', period: '2026-01' });
  ctx.clock.set('2026-01-22T09:00:00+08:00');
  await runBilling(ctx, { cycle: 'C21', period: '2026-01' });
  ctx.clock.set('2026-02-02T09:00:00+08:00');
  await runBilling(ctx, { cycle: 'C01', period: '2026-02' });
  ctx.clock.set('2026-02-22T09:00:00+08:00');
  await runBilling(ctx, { cycle: 'C21', period: '2026-02' });
});
afterAll(async () => ctx?.drop());

const billFor = async (customerId: number, period = '2026-02') => {
  const b = (await billsOf(ctx, customerId)).find((x) => x.period === period && x.kind === 'bill');
  if (!b) throw new Error(`no ${period} bill for customer ${customerId}`);
  return { ...b, lines: (await linesOfBill(ctx, b.id)).map((l) => [l.component, l.register, l.tier, l.quantity, l.amount]) };
};

describe('hand-computed bills', () => {
  it('monthly tiers: 300 kWh = 180 × 0.50 + 100 × 0.55 + 20 × 0.80 = 161.00', async () => {
    const b = await billFor(c[0]!);
    expect(b.lines).toEqual([
      ['energy', 'total', 1, '180.0000', '90.00'], ['energy', 'total', 2, '100.0000', '55.00'], ['energy', 'total', 3, '20.0000', '16.00'],
    ]);
    expect(b.amount).toBe('161.00');
  });

  it('annual tiers count from the tier year\'s first day: December\'s 2,000 kWh (period 2026-01) does not count in 2026', async () => {
    expect((await billFor(c[1]!, '2026-01')).amount).toBe('1000.00');
    const b = await billFor(c[1]!);
    // period 2026-02 is January 2026: a new tier year, 333.33 × 0.50 = 166.665 → 166.67 (half-up)
    expect(b.lines).toEqual([['energy', 'total', 1, '333.3300', '166.67']]);
    expect(b.amount).toBe('166.67');
  });

  it('a tier year starting in February still counts December: 2,000 kWh, then 333.33 kWh in January crosses 2,160', async () => {
    const b = await billFor(c[6]!);
    // 160 × 0.50 = 80.00; 173.33 × 0.55 = 95.3315 → 95.33
    expect(b.lines).toEqual([['energy', 'total', 1, '160.0000', '80.00'], ['energy', 'total', 2, '173.3300', '95.33']]);
    expect(b.amount).toBe('175.33');
  });

  it('a tier year starting inside a bill period splits it by days: the part from the new year counts from zero', async () => {
    // 2025-12-21 → 2026-01-21, 310 kWh over 31 days: 11 days (110 kWh) close 2025 from 2,100; 20 days (200 kWh) open 2026
    const b = await billFor(straddling, '2026-01');
    expect(b.lines).toEqual([
      ['energy', 'total', 1, '60.0000', '30.00'], ['energy', 'total', 2, '50.0000', '27.50'], ['energy', 'total', 1, '200.0000', '100.00'],
    ]);
    expect(b.amount).toBe('157.50');
    // the next period starts from the 200 kWh of 2026: 1,960 × 0.50 + 40 × 0.55 = 980.00 + 22.00
    const next = await billFor(straddling, '2026-02');
    expect(next.lines).toEqual([['energy', 'total', 1, '1960.0000', '980.00'], ['energy', 'total', 2, '40.0000', '22.00']]);
    expect(next.amount).toBe('1002.00');
  });

  it('residential TOU prices each register and adds the tier surcharge above tier 1', async () => {
    const b = await billFor(c[2]!);
    // peak 1,600 × 0.55 = 880.00; valley 800 × 0.30 = 240.00; 2,400 kWh in the tier year → 240 kWh in tier 2 × 0.05 = 12.00
    expect(b.lines).toEqual([
      ['energy', 'peak', 0, '1600.0000', '880.00'], ['energy', 'valley', 0, '800.0000', '240.00'], ['tier_surcharge', 'total', 2, '240.0000', '12.00'],
    ]);
    expect(b.amount).toBe('1132.00');
  });

  it('a tariff change mid-period splits consumption by days and prices each part with its version', async () => {
    const b = await billFor(c[3]!);
    // 3,100 kWh (sharp 100, peak 1000, flat 1200, valley 800) split 16/31 and 15/31
    expect(b.lines).toEqual([
      ['energy', 'sharp', 0, '51.6129', '35.87'], ['energy', 'peak', 0, '516.1290', '298.94'],
      ['energy', 'flat', 0, '619.3548', '239.13'], ['energy', 'valley', 0, '412.9032', '79.73'],
      ['transmission', 'total', 0, '1600.0000', '342.56'], ['line_loss', 'total', 0, '1600.0000', '24.48'],
      ['system_operation', 'total', 0, '1600.0000', '52.00'], ['government_funds', 'total', 0, '1600.0000', '45.76'],
      ['energy', 'sharp', 0, '48.3871', '34.35'], ['energy', 'peak', 0, '483.8710', '285.48'],
      ['energy', 'flat', 0, '580.6452', '229.35'], ['energy', 'valley', 0, '387.0968', '77.42'],
      ['transmission', 'total', 0, '1500.0000', '321.15'], ['line_loss', 'total', 0, '1500.0000', '24.00'],
      ['system_operation', 'total', 0, '1500.0000', '49.50'], ['government_funds', 'total', 0, '1500.0000', '42.90'],
    ]);
    expect(b.amount).toBe('2182.62');
  });

  it('a two-part bill adds the capacity charge and the power-factor surcharge on basic + energy', async () => {
    const b = await billFor(c[4]!);
    // pf = 100000 / √(100000² + 60000²) = 0.857 → 0.86, standard 0.90: +2.00 % of 70,943.00 = 1,418.86
    expect(b.lines).toEqual([
      ['energy', 'peak', 0, '30000.0000', '17376.00'], ['energy', 'flat', 0, '40000.0000', '15444.00'],
      ['energy', 'valley', 0, '30000.0000', '5793.00'], ['transmission', 'total', 0, '100000.0000', '15690.00'],
      ['line_loss', 'total', 0, '100000.0000', '1390.00'], ['system_operation', 'total', 0, '100000.0000', '3250.00'],
      ['government_funds', 'total', 0, '100000.0000', '2860.00'], ['basic_capacity', 'total', 0, '500.0000', '12000.00'],
      ['power_factor', 'total', 0, '70943.0000', '1418.86'],
    ]);
    expect(b.amount).toBe('75221.86');
  });

  it('a meter exchange adds the old meter up to its final register and the new one from its initial register', async () => {
    const b = await billFor(c[5]!);
    expect(b.consumption_kwh).toBe('150.0000');
    expect(b.amount).toBe('75.00');
  });

  it('a two-part customer of 100-159 kVA is held to the 0.85 standard (other customers from 100 kVA); from 160 kVA to 0.90', async () => {
    // pf = 100000 / √(100000² + 60000²) = 0.86: +2.00 % at standard 0.90, −0.10 % at 0.85
    const quote = (kva: string) => rateOne(ctx.db, { tariffCode: 'LI-2P', periodStart: '2026-01-01', periodEnd: '2026-02-01', totalKwh: '100000', capacityKva: kva, reactiveKvarh: '60000' });
    const pfLine = async (kva: string) => {
      const l = (await quote(kva)).lines.find((x) => x.component === 'power_factor');
      return l && [l.quantity, l.unit_price, l.amount];
    };
    // base = energy 38,610 + T&D 15,690 + line loss 1,390 + system 3,250 + basic kVA × 24
    expect(await pfLine('159')).toEqual(['62756.00', '-0.10', '-62.76']);
    expect(await pfLine('100')).toEqual(['61340.00', '-0.10', '-61.34']);
    expect(await pfLine('160')).toEqual(['62780.00', '2.00', '1255.60']);
    expect(await pfLine('99')).toBeUndefined();
  });

  it('agriculture is held to the 0.80 standard from 100 kVA', async () => {
    // pf = 10000 / √(10000² + 10000²) = 0.7071 → 0.71: +4.50 % of 4,880.00 = 219.60
    const r = await rateOne(ctx.db, { tariffCode: 'AGR', periodStart: '2026-01-01', periodEnd: '2026-02-01', totalKwh: '10000', capacityKva: '100', reactiveKvarh: '10000' });
    const pf = r.lines.find((l) => l.component === 'power_factor');
    expect(pf && [pf.quantity, pf.unit_price, pf.amount]).toEqual(['4880.00', '4.50', '219.60']);
  });

  it('a TOU tariff without a sharp price bills the sharp register at the peak price: no kWh goes unbilled', async () => {
    // RES-TOU prices peak / flat / valley only: sharp 10 + peak 30 = 40 × 0.55 = 22.00; flat 30 × 0.50; valley 30 × 0.30
    const r = await rateOne(ctx.db, { tariffCode: 'RES-TOU', periodStart: '2026-01-01', periodEnd: '2026-02-01', totalKwh: '100', sharpKwh: '10', peakKwh: '30', flatKwh: '30', valleyKwh: '30' });
    expect(r.lines.map((l) => [l.component, l.register, Number(l.quantity), l.amount])).toEqual([
      ['energy', 'peak', 40, '22.00'], ['energy', 'flat', 30, '15.00'], ['energy', 'valley', 30, '9.00'],
    ]);
    expect(r.amount).toBe('46.00');
  });

  it('the power-factor table follows 《功率因数调整电费办法》 row by row', async () => {
    const rows = (await sql<{ standard: string; power_factor: string; adjustment_pct: string }>`
      SELECT standard::text, power_factor::text, adjustment_pct::text FROM power_factor_adjustment ORDER BY standard, power_factor`.execute(ctx.db)).rows;
    // the official tables, in hundredths: rebates above the standard, then 0.5 % per 0.01 for 20 steps,
    // 1 % per 0.01 for 5 steps, 2 % per 0.01 below that
    const rebates: Record<string, number[]> = { '0.90': [15, 30, 45, 60, 75], '0.85': [10, 20, 30, 40, 50, 65, 80, 95, 110], '0.80': [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 115, 130] };
    const official = (std: string, pf: number): string => {
      const s = Math.round(Number(std) * 100);
      const r = rebates[std]!;
      const hundredths = pf === s ? 0 : pf > s ? -r[Math.min(pf - s, r.length) - 1]!
        : s - pf <= 20 ? (s - pf) * 50 : s - pf <= 25 ? 1000 + (s - pf - 20) * 100 : 1500 + (s - pf - 25) * 200;
      const v = Math.abs(hundredths);
      return `${hundredths < 0 ? '-' : ''}${Math.floor(v / 100)}.${String(v % 100).padStart(2, '0')}`;
    };
    expect(rows).toHaveLength(3 * 101);
    for (const r of rows) expect([r.standard, r.power_factor, r.adjustment_pct]).toEqual([r.standard, r.power_factor, official(r.standard, Math.round(Number(r.power_factor) * 100))]);
  });

  it('a power factor below 0.40 keeps adding 2 % per 0.01 (no floor): 0.35 at standard 0.90 is +75 %', async () => {
    // pf = 100000 / √(100000² + 267600²) = 0.3500…; base = energy 38,610 + T&D 15,690 + line loss 1,390 + system 3,250 + basic 12,000
    const r = await rateOne(ctx.db, { tariffCode: 'LI-2P', periodStart: '2026-01-01', periodEnd: '2026-02-01', totalKwh: '100000', capacityKva: '500', reactiveKvarh: '267600' });
    const pf = r.lines.find((l) => l.component === 'power_factor');
    expect(pf && [pf.quantity, pf.unit_price, pf.amount]).toEqual(['70940.00', '75.00', '53205.00']);
  });
});
