import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { signIn, testApp } from '../support/http.ts';
import { giveReadings, setTariff, type ReadingSpec } from './builders.ts';

// February 2026 of cycle C01 (readings of 1 January and 1 February) with the registers of a few meters
// rolling over past 999999.99 kWh, beside meters that really read less at the end than at the start.
let ctx: TestContext;
let app: FastifyInstance;
let admin: { authorization: string };
const who: Record<'wrapped' | 'touWrapped' | 'reverse' | 'bigFall' | 'wideRegister', { id: number; number: string }> = {} as never;

beforeAll(async () => {
  ctx = await testContext({ customers: 200, now: '2026-02-02T09:00:00+08:00' });
  const meters = (await sql<{ customer_id: number; number: string; meter_id: number }>`
    SELECT c.id AS customer_id, c.number, sp.meter_id FROM customer c JOIN service_point sp ON sp.customer_id = c.id AND sp.removed_on IS NULL
    WHERE c.billing_cycle = 'C01' AND c.tariff_code = 'RES-TIER' ORDER BY c.id`.execute(ctx.db)).rows;
  const keys = ['wrapped', 'touWrapped', 'reverse', 'bigFall', 'wideRegister'] as const;
  keys.forEach((k, i) => (who[k] = { id: Number(meters[i]!.customer_id), number: meters[i]!.number }));
  await setTariff(ctx, who.touWrapped.id, 'RES-TOU');
  const readings: ReadingSpec[] = [];
  for (const m of meters) {
    const at = (start: ReadingSpec['total'], end: ReadingSpec['total'], more: [Partial<ReadingSpec>, Partial<ReadingSpec>] = [{}, {}]) => readings.push(
      { meterId: Number(m.meter_id), date: '2026-01-01', total: start, ...more[0] },
      { meterId: Number(m.meter_id), date: '2026-02-01', total: end, ...more[1] });
    const id = Number(m.customer_id);
    // 999,900.00 → 150.00: 100 kWh up to the top of the register, 150 after it
    if (id === who.wrapped.id) at('999900.00', '150.00');
    // the total and the peak register wrap, the valley register does not
    else if (id === who.touWrapped.id) at('999950.00', '200.00', [{ peak: '999980.00', valley: '400000.00' }, { peak: '130.00', valley: '400100.00' }]);
    // a meter that reads 50 kWh less: no register runs half its range backwards, so no rollover
    else if (id === who.reverse.id) at('1250.00', '1200.00');
    // a fall of 400,000 kWh is less than half the register: not a plausible wrap either
    else if (id === who.bigFall.id) at('600000.00', '200000.00');
    // a register that reads above 999,999.99 is wider than six digits and does not wrap there
    else if (id === who.wideRegister.id) at('1500000.00', '200.00');
    else at('1000.00', '1200.00');
  }
  await giveReadings(ctx, readings);
  app = await testApp(ctx);
  admin = await signIn(app, 'admin');
  const run = await app.inject({ method: 'POST', url: '/api/v1/billing/runs', headers: admin, payload: { cycle: 'C01', period: '2026-02', wait: true } });
  expect(run.json()).toMatchObject({ status: 'completed' });
});
afterAll(async () => {
  await app?.close();
  await ctx?.drop();
});

/** The February bill of a customer as a clerk reads it over the API, with its holds. */
async function february(c: { number: string }) {
  const list = await app.inject({ url: `/api/v1/customers/${c.number}/bills`, headers: admin });
  const item = list.json().items.find((b: { period: string; kind: string }) => b.period === '2026-02' && b.kind === 'bill');
  return (await app.inject({ url: `/api/v1/bills/${item.id}`, headers: admin })).json();
}

describe('a meter register rolling over past 999999.99 kWh', () => {
  it('bills what the register counted up to the top and after it, and releases the bill', async () => {
    const b = await february(who.wrapped);
    expect(b).toMatchObject({ consumptionKwh: '250.0000', status: 'released', amount: '125.00', holds: [] });
  });

  it('bills each time-of-use register across its own rollover', async () => {
    const b = await february(who.touWrapped);
    // total 999,950 → 200 and peak 999,980 → 130 wrap; valley 400,000 → 400,100 does not
    expect(b).toMatchObject({ consumptionKwh: '250.0000', registers: { peak: '150.0000', valley: '100.0000' }, status: 'released', holds: [] });
    expect(b.lines.map((l: { register: string; quantity: string; amount: string }) => [l.register, l.quantity, l.amount])).toEqual([
      ['peak', '150.0000', '82.50'], ['valley', '100.0000', '30.00'],
    ]);
    expect(b.amount).toBe('112.50');
  });

  it('still holds a register that really went backwards, as negative consumption', async () => {
    for (const [c, kwh] of [[who.reverse, '-50.0000'], [who.bigFall, '-400000.0000'], [who.wideRegister, '-1499800.0000']] as const) {
      const b = await february(c);
      expect(b, c.number).toMatchObject({ consumptionKwh: kwh, status: 'held' });
      expect(b.holds.map((h: { rule: string }) => h.rule)).toContain('NEGATIVE_CONSUMPTION');
    }
  });
});
