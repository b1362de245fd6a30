/**
 * A move-out closes the account and ends its service point at the final reading (work-business-change):
 * the next run of its cycle still bills it once, from the period's start reading to the final one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { signIn, testApp } from '../support/http.ts';
import { billsOf, giveReadings, type ReadingSpec } from './builders.ts';

let ctx: TestContext;
let app: FastifyInstance;
const who: Record<'movedOutInPeriod' | 'movedOutBefore' | 'movedOutOnStart', number> = {} as never;

/** What the move-out leaves: the service point ended on the final reading's day, the account closed. */
const moveOut = (customerId: number, on: string) => sql`
  WITH sp AS (UPDATE service_point SET removed_on = ${on}::date WHERE customer_id = ${customerId} AND removed_on IS NULL)
  UPDATE customer SET status = 'closed' WHERE id = ${customerId}`.execute(ctx.db);

beforeAll(async () => {
  ctx = await testContext({ customers: 120, now: '2026-02-02T09:00:00+08:00' });
  const meters = (await sql<{ customer_id: number; meter_id: number }>`
    SELECT c.id AS customer_id, sp.meter_id FROM customer c JOIN service_point sp ON sp.customer_id = c.id AND sp.removed_on IS NULL
    WHERE c.billing_cycle = 'C01' AND c.tariff_code = 'RES-TIER' ORDER BY c.id`.execute(ctx.db)).rows;
  [who.movedOutInPeriod, who.movedOutBefore, who.movedOutOnStart] = meters.slice(0, 3).map((m) => Number(m.customer_id)) as [number, number, number];
  const readings: ReadingSpec[] = [];
  for (const m of meters) {
    const id = Number(m.customer_id);
    const meterId = Number(m.meter_id);
    if (id === who.movedOutInPeriod) readings.push({ meterId, date: '2026-01-01', total: '1000.00' }, { meterId, date: '2026-01-20', total: '1080.00' });
    else if (id === who.movedOutBefore) readings.push({ meterId, date: '2025-12-20', total: '900.00' });
    else readings.push({ meterId, date: '2026-01-01', total: '1000.00' }, { meterId, date: '2026-02-01', total: '1100.00' });
  }
  await giveReadings(ctx, readings);
  await moveOut(who.movedOutInPeriod, '2026-01-20');
  await moveOut(who.movedOutBefore, '2025-12-20');
  await moveOut(who.movedOutOnStart, '2026-01-01');
  app = await testApp(ctx);
  const run = await app.inject({ method: 'POST', url: '/api/v1/billing/runs', headers: await signIn(app, 'admin'), payload: { cycle: 'C01', period: '2026-02', wait: true } });
  expect(run.json()).toMatchObject({ status: 'completed' });
});
afterAll(async () => {
  await app?.close();
  await ctx?.drop();
});

describe('the final bill of a moved-out account', () => {
  it('bills the consumption from the period start to the final reading, once', async () => {
    expect((await billsOf(ctx, who.movedOutInPeriod)).map((b) => [b.period, b.kind, b.consumption_kwh, b.amount, b.status])).toEqual([
      ['2026-02', 'bill', '80.0000', '40.00', 'released'],
    ]);
  });

  it('bills no account whose service ended before the period, or on its first day', async () => {
    expect(await billsOf(ctx, who.movedOutBefore)).toEqual([]);
    expect(await billsOf(ctx, who.movedOutOnStart)).toEqual([]);
  });
});
