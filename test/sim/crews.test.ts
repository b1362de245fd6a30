/**
 * The simulated collection teams do the field disconnect and reconnect jobs: in working hours, after a
 * delay drawn per job, reading the register at the meter; a reconnect well within its 24 hours.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTasks } from '../../src/work/index.ts';
import { crewsSwitchSupply } from '../../src/sim/behaviour.ts';
import { dailyFrozenRegisters } from '../../src/sim/meter-model.ts';
import { testContext, type TestContext } from '../support/db.ts';

const SEED = 3;
let ctx: TestContext;

beforeAll(async () => {
  ctx = await testContext({ customers: 40, now: '2026-01-05T09:00:00+08:00' });
  await openTasks(ctx.db, ctx.clock.now(), [
    { kind: 'disconnect', idempotencyKey: 'test:disconnect:1', title: '欠费停电', customerId: 1, createdBy: 'dunning' },
    { kind: 'reconnect', idempotencyKey: 'test:reconnect:2', title: '缴费复电', customerId: 2, createdBy: 'dunning', dueAt: new Date('2026-01-06T09:00:00+08:00') },
  ]);
}, 120_000);
afterAll(async () => ctx?.drop());

const jobs = async () => (await sql<{ kind: string; status: string; customer_id: number; closed_at: Date | null; due_at: Date; outcome: { registerKwh?: string } | null }>`
  SELECT kind, status, customer_id, closed_at, due_at, outcome FROM task WHERE kind IN ('disconnect', 'reconnect') ORDER BY kind`.execute(ctx.db)).rows;

describe('collection teams switching supply on site (simulated)', () => {
  it('no job at night, none before its delay', async () => {
    ctx.clock.set('2026-01-05T09:30:00+08:00');
    expect(await crewsSwitchSupply(ctx, SEED, SEED)).toBe(0);
    ctx.clock.set('2026-01-06T06:00:00+08:00');
    expect(await crewsSwitchSupply(ctx, SEED, SEED)).toBe(0);
    expect((await jobs()).every((j) => j.status === 'open')).toBe(true);
  });

  it('done in working hours with the register read at the meter; the reconnect before it is due', async () => {
    ctx.clock.set('2026-01-06T08:00:00+08:00');
    const first = await crewsSwitchSupply(ctx, SEED, SEED);
    ctx.clock.set('2026-01-06T17:00:00+08:00');
    expect(first + (await crewsSwitchSupply(ctx, SEED, SEED))).toBe(2);
    for (const j of await jobs()) {
      expect(j.status).toBe('done');
      const meter = (await sql<{ meter_id: number; category: 'residential' }>`
        SELECT sp.meter_id, c.category FROM service_point sp JOIN customer c ON c.id = sp.customer_id WHERE sp.customer_id = ${j.customer_id}`.execute(ctx.db)).rows[0]!;
      expect(j.outcome?.registerKwh).toBe(dailyFrozenRegisters(SEED, { meterId: Number(meter.meter_id), category: meter.category }, '2026-01-06').total);
      if (j.kind === 'reconnect') expect(j.closed_at!.getTime()).toBeLessThanOrEqual(j.due_at.getTime());
    }
    // a done job is not done again
    expect(await crewsSwitchSupply(ctx, SEED, SEED)).toBe(0);
  });
});
