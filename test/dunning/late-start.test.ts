/**
 * Runs that start the chase late (the first run after a long outage, a catch-up run for a missed day
 * executed after later events): the steps with effects on people and supply still follow DOMAIN.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { TestContext } from '../support/db.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import type { Dispatcher } from '../../src/dunning/index.ts';
import { chaseContext, customersWithChannels, drain, pay, releaseBills, tasksOf } from './support.ts';

type Customer = { id: number; number: string };
let ctx: TestContext;
let dispatcher: Dispatcher;
let closeChase: (() => Promise<void>) | undefined;
let late: Customer;
let payer: Customer;
let debtor: Customer;
let settler: Customer;
let owing: Customer;

const runAt = async (date: string) => {
  ctx.clock.set(`${date}T09:00:00+08:00`);
  return runDunning(ctx, date);
};
const escalationsOf = async (customerId: number) => (await sql<{ kind: string; reason: string; created_on: string }>`
  SELECT kind, reason, created_on::text FROM dunning_escalation WHERE customer_id = ${customerId} ORDER BY id`.execute(ctx.db)).rows;
const suspensionNoticeOf = async (customerId: number) => (await sql<{ status: string; cancel_reason: string | null }>`
  SELECT status, cancel_reason FROM dunning_notice WHERE customer_id = ${customerId} AND step = 'suspension_notice'`.execute(ctx.db)).rows;
/** The dispatcher's part, done here: the notices decided and waiting went out. */
const sendPending = (step: string) => sql`
  UPDATE dunning_notice SET status = 'delivered', dispatched_on = created_on WHERE step = ${step} AND status = 'pending'`.execute(ctx.db);
const billOf = (c: Customer, dueDate: string) => ({
  customerId: c.id, period: dueDate.slice(0, 7), amount: '75.00', issuedOn: dueDate.slice(0, 8) + '01', dueDate,
  releasedAt: new Date(`${dueDate.slice(0, 8)}01T08:00:00+08:00`),
});

beforeAll(async () => {
  ({ ctx, dispatcher, close: closeChase } = await chaseContext({ customers: 300, now: '2026-02-01T09:00:00+08:00' }));
  [late, payer, debtor, settler, owing] = (await customersWithChannels(ctx, ['sms'], 5)) as [Customer, Customer, Customer, Customer, Customer];
  // field meters: a cut is a field task, visible in tasksOf
  await sql`UPDATE meter SET cost_control = false FROM service_point sp
            WHERE sp.meter_id = meter.id AND sp.customer_id IN (${late.id}, ${payer.id}, ${debtor.id})`.execute(ctx.db);
  // payer and debtor are chased from notice 3 on (due + 15), and notice 3 went out
  await releaseBills(ctx, [payer, debtor].map((c) => billOf(c, '2026-02-16')));
  await runAt('2026-03-03');
  await sendPending('overdue_3');
  // late's debt, due the same day, meets its first run 32 days past the due date (a province starting late)
  await releaseBills(ctx, [billOf(late, '2026-02-16')]);
}, 180_000);
afterAll(() => closeChase?.());

describe('a chase that starts late', () => {
  it('gives no suspension notice for a debt never reminded, and hands it to the grid manager at once, once', async () => {
    // no run for late until 32 days past the due date: the step due is the suspension notice, no reminder went out
    const r = await runAt('2026-03-20');
    // over 30 days overdue: the legal notice is the step due for all three
    expect(r.notices).toContainEqual({ step: 'suspension_notice', status: 'pending', n: 3 });
    // it goes out to payer and debtor, reminded (notice 3 went out), and not to late, never reminded
    ctx.clock.set('2026-03-20T10:00:00+08:00');
    await drain(ctx, dispatcher, { receipts: false });
    expect(await suspensionNoticeOf(late.id)).toEqual([{ status: 'cancelled', cancel_reason: 'no_reminder_given' }]);
    expect(await suspensionNoticeOf(payer.id)).toEqual([{ status: expect.stringMatching(/^(sent|delivered)$/), cancel_reason: null }]);
    expect(r.manualCollection).toBe(3);
    expect((await tasksOf(ctx, late.id)).map((t) => t.kind)).toEqual(['manual_collection']);
    expect(await escalationsOf(late.id)).toEqual([{ kind: 'manual_collection', reason: 'past_notice_3', created_on: '2026-03-20' }]);
    expect((await escalationsOf(debtor.id)).map((e) => e.reason)).toEqual(['after_notice_3']);
    const again = await runAt('2026-03-21');
    expect(again.manualCollection).toBe(0);
    expect(again.notices).toEqual([]);
  });

  it('a catch-up run for a day before the customer paid does not cut the paid-up supply; the debt never reminded is not cut', async () => {
    // the legal notice went out on 03-20 (above); the cut is due on 03-27 (7 days)
    // the run of 03-27 did not happen that day; the customer paid on 03-28, then the missed day is run
    ctx.clock.set('2026-03-28T10:00:00+08:00');
    await pay(ctx, payer.number, '200.00', '2026-03-28', 'late-start-1');
    const missed = await runAt('2026-03-27');
    expect(missed.suspended).toEqual({ remote: 0, field: 1 });
    expect((await tasksOf(ctx, debtor.id)).map((t) => t.kind)).toEqual(['manual_collection', 'disconnect']);
    expect((await tasksOf(ctx, payer.id)).map((t) => t.kind)).toEqual(['manual_collection']);
    expect((await escalationsOf(payer.id)).map((e) => e.kind)).toEqual(['manual_collection']);
    expect((await tasksOf(ctx, late.id)).map((t) => t.kind)).toEqual(['manual_collection']);
    // and the run of the payment day has nothing to reconnect
    expect((await runAt('2026-03-28')).reconnected).toBe(0);
  });

  it('a catch-up run for a day before the customer paid does not hand the paid debt to the grid manager', async () => {
    await releaseBills(ctx, [settler, owing].map((c) => billOf(c, '2026-04-16')));
    // notice 3 on due + 15; the manual collection is due on due + 18 (05-04)
    expect((await runAt('2026-05-01')).notices).toContainEqual({ step: 'overdue_3', status: 'pending', n: 2 });
    // the run of 05-04 did not happen that day; settler paid on 05-05, then the missed day is run
    ctx.clock.set('2026-05-05T10:00:00+08:00');
    await pay(ctx, settler.number, '100.00', '2026-05-05', 'late-start-2');
    ctx.clock.set('2026-05-05T11:00:00+08:00');
    const missed = await runDunning(ctx, '2026-05-04');
    expect(missed.manualCollection).toBe(1);
    expect(await escalationsOf(settler.id)).toEqual([]);
    expect(await tasksOf(ctx, settler.id)).toEqual([]);
    expect(await escalationsOf(owing.id)).toEqual([{ kind: 'manual_collection', reason: 'after_notice_3', created_on: '2026-05-04' }]);
  });
});
