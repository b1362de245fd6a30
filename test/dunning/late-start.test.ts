/**
 * Runs that start the chase late (the first run after a long outage, a catch-up run for a missed day
 * executed after later events): the steps with effects on people and supply still follow DOMAIN.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import { customersWithChannels, pay, releaseBills, tasksOf } from './support.ts';

let ctx: TestContext;
let late: { id: number; number: string };
let payer: { id: number; number: string };
let debtor: { id: number; number: string };

const runAt = async (date: string) => {
  ctx.clock.set(`${date}T09:00:00+08:00`);
  return runDunning(ctx, date);
};
const escalationsOf = async (customerId: number) => (await sql<{ kind: string; reason: string; created_on: string }>`
  SELECT kind, reason, created_on::text FROM dunning_escalation WHERE customer_id = ${customerId} ORDER BY id`.execute(ctx.db)).rows;

beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: '2026-02-01T09:00:00+08:00' });
  [late, payer, debtor] = (await customersWithChannels(ctx, ['sms'], 3)) as [typeof late, typeof late, typeof late];
  // field meters: a cut is a field task, visible in tasksOf
  await sql`UPDATE meter SET cost_control = false FROM service_point sp
            WHERE sp.meter_id = meter.id AND sp.customer_id IN (${late.id}, ${payer.id}, ${debtor.id})`.execute(ctx.db);
  await releaseBills(ctx, [late, payer, debtor].map((c) => ({
    customerId: c.id, period: '2026-01', amount: '75.00', issuedOn: '2026-02-01', dueDate: '2026-02-16', releasedAt: new Date('2026-02-01T08:00:00+08:00'),
  })));
}, 180_000);
afterAll(async () => ctx?.drop());

describe('a chase that starts late', () => {
  it('hands a debt whose chase is already past notice 3 to the grid manager at once, once', async () => {
    // no run until 32 days past the due date: the step due is the suspension notice, notice 3 never went out
    const r = await runAt('2026-03-20');
    expect(r.notices).toContainEqual({ step: 'suspension_notice', status: 'pending', n: 3 });
    expect(r.manualCollection).toBe(3);
    expect((await tasksOf(ctx, late.id)).map((t) => t.kind)).toEqual(['manual_collection']);
    expect(await escalationsOf(late.id)).toEqual([{ kind: 'manual_collection', reason: 'past_notice_3', created_on: '2026-03-20' }]);
    expect((await runAt('2026-03-21')).manualCollection).toBe(0);
  });

  it('a catch-up run for a day before the customer paid does not cut the paid-up supply', async () => {
    // the legal notice went out; the cut is due on 03-27 (7 days)
    await sql`UPDATE dunning_notice SET status = 'delivered', dispatched_on = created_on WHERE step = 'suspension_notice'`.execute(ctx.db);
    // the run of 03-27 did not happen that day; the customer paid on 03-28, then the missed day is run
    ctx.clock.set('2026-03-28T10:00:00+08:00');
    await pay(ctx, payer.number, '200.00', '2026-03-28', 'late-start-1');
    const missed = await runAt('2026-03-27');
    expect(missed.suspended).toEqual({ remote: 0, field: 2 });
    expect((await tasksOf(ctx, debtor.id)).map((t) => t.kind)).toEqual(['manual_collection', 'disconnect']);
    expect((await tasksOf(ctx, payer.id)).map((t) => t.kind)).toEqual(['manual_collection']);
    expect((await escalationsOf(payer.id)).map((e) => e.kind)).toEqual(['manual_collection']);
    // and the run of the payment day has nothing to reconnect
    expect((await runAt('2026-03-28')).reconnected).toBe(0);
  });
});
