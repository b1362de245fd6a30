/**
 * Reconnect (复电) within 24 hours of payment: the sweep between daily runs reconnects a suspended
 * customer whose bill the ledger says is paid, and the field job is due 24 h after the payment,
 * whoever notices it (the sweep or the daily run).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import { reconnectAfterPayment } from '../../src/flows/dunning-suspension.ts';
import { listSwitchCommands, markSwitch, reconnectDeadline, switchFallbackKey } from '../../src/dunning/index.ts';
import { openTasks } from '../../src/work/index.ts';
import { customersWithChannels, pay, releaseBills } from './support.ts';

type Customer = { id: number; number: string };
let ctx: TestContext;
let remote: Customer;
let field: Customer;
let fieldByRun: Customer;
let unpaid: Customer;
let partly: Customer;
let notCutYet: Customer;
let remoteFailed: Customer;

const runAt = async (date: string) => {
  ctx.clock.set(`${date}T09:00:00+08:00`);
  return runDunning(ctx, date);
};

const hours = (h: number) => h * 3600_000;

/** What a customer's reconnect has left behind: relay orders, field tasks (with their due time), notices, suspension state. */
async function reconnectOf(customerId: number) {
  const [commands, tasks, notices, suspension] = await Promise.all([
    sql<{ requested_at: Date }>`SELECT requested_at FROM remote_switch_command WHERE customer_id = ${customerId} AND action = 'reconnect'`.execute(ctx.db),
    sql<{ due_at: Date; opened_at: Date }>`SELECT due_at, opened_at FROM task WHERE customer_id = ${customerId} AND kind = 'reconnect'`.execute(ctx.db),
    sql<{ id: number }>`SELECT id FROM dunning_notice WHERE customer_id = ${customerId} AND step = 'reconnect'`.execute(ctx.db),
    sql<{ status: string; paid_at: Date | null }>`SELECT status, paid_at FROM dunning_suspension WHERE customer_id = ${customerId}`.execute(ctx.db),
  ]);
  return { commands: commands.rows, tasks: tasks.rows, notices: notices.rows.length, suspension: suspension.rows[0] };
}

beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: '2026-02-01T09:00:00+08:00' });
  [remote, field, fieldByRun, unpaid, partly, notCutYet, remoteFailed] = (await customersWithChannels(ctx, ['sms'], 7)) as Customer[] as
    [Customer, Customer, Customer, Customer, Customer, Customer, Customer];
  const all = [remote, field, fieldByRun, unpaid, partly, notCutYet, remoteFailed];
  await releaseBills(ctx, all.map((c) => ({
    customerId: c.id, period: '2026-01', amount: '120.50', issuedOn: '2026-02-01', dueDate: '2026-02-16', releasedAt: new Date('2026-02-01T08:00:00+08:00'),
  })));
  // two cost-control meters (a remote reconnect), the others read on site (a field task)
  await sql`UPDATE meter SET cost_control = (sp.customer_id IN (${remote.id}, ${remoteFailed.id})) FROM service_point sp
            WHERE sp.meter_id = meter.id AND sp.customer_id = ANY (${all.map((c) => c.id)}::bigint[])`.execute(ctx.db);
  // notice 3 went out (due + 15); over 30 days overdue: the legal notice, given (each debt also goes to the
  // grid manager); supply cut when its 7 days have run out
  await runAt('2026-03-03');
  await sql`UPDATE dunning_notice SET status = 'delivered' WHERE step = 'overdue_3' AND status = 'pending'`.execute(ctx.db);
  await runAt('2026-03-19');
  await sql`UPDATE dunning_notice SET status = 'delivered' WHERE step = 'suspension_notice' AND status = 'pending'`.execute(ctx.db);
  const cut = await runAt('2026-03-26');
  expect(cut.suspended).toEqual({ remote: 2, field: 5 });
  // the front-end sent the trip and the meter confirmed it; the crews cut the others, except notCutYet's
  for (const c of await listSwitchCommands(ctx.db, remote.id)) await markSwitch(ctx.db, Number(c.id), 'confirmed', ctx.clock.now());
  await sql`UPDATE task SET status = 'done', closed_at = ${ctx.clock.now()}::timestamptz WHERE kind = 'disconnect' AND customer_id <> ${notCutYet.id}`.execute(ctx.db);
  // remoteFailed's meter did not take the trip: the front-end failed it over to a field job, not done yet
  for (const c of await listSwitchCommands(ctx.db, remoteFailed.id)) {
    await markSwitch(ctx.db, Number(c.id), 'failed', ctx.clock.now(), 'the meter did not answer the concentrator');
    await openTasks(ctx.db, ctx.clock.now(), [{ kind: 'disconnect', idempotencyKey: switchFallbackKey(Number(c.id)), title: 'fallback', customerId: remoteFailed.id, createdBy: 'front-end' }]);
  }
}, 180_000);
afterAll(async () => ctx?.drop());

describe('reconnect within 24 hours of payment', () => {
  it('a suspended cost-control customer who pays gets the remote reconnect from the sweep, without a daily run', async () => {
    const paidAt = new Date('2026-03-26T14:05:00+08:00');
    ctx.clock.set(paidAt);
    await pay(ctx, remote.number, '1000.00', '2026-03-26', 'reconnect-remote');
    ctx.clock.set(new Date(paidAt.getTime() + 15 * 60_000));
    expect(await reconnectAfterPayment(ctx)).toBe(1);
    const r = await reconnectOf(remote.id);
    expect(r.commands.map((c) => c.requested_at)).toEqual([ctx.clock.now()]);
    expect(r.tasks).toEqual([]);
    expect(r.notices).toBe(1);
    // the payment time is kept, so the remote reconnect can be judged against it, and a field job
    // replacing an order the meter did not take is due when the remote one was
    expect(r.suspension).toEqual({ status: 'reconnect_requested', paid_at: paidAt });
    const [order] = (await listSwitchCommands(ctx.db, remote.id)).filter((c) => c.action === 'reconnect');
    expect(await reconnectDeadline(ctx.db, order!)).toEqual(new Date(paidAt.getTime() + hours(24)));
    const [trip] = (await listSwitchCommands(ctx.db, remote.id)).filter((c) => c.action === 'disconnect');
    expect(await reconnectDeadline(ctx.db, trip!)).toBeNull();
  });

  it('a field reconnect task is due 24 h after the payment, not 24 h after the sweep', async () => {
    const paidAt = new Date('2026-03-26T15:20:00+08:00');
    ctx.clock.set(paidAt);
    await pay(ctx, field.number, '1000.00', '2026-03-26', 'reconnect-field');
    ctx.clock.set(new Date(paidAt.getTime() + hours(5)));
    expect(await reconnectAfterPayment(ctx)).toBe(1);
    const r = await reconnectOf(field.id);
    expect(r.tasks).toEqual([{ opened_at: ctx.clock.now(), due_at: new Date(paidAt.getTime() + hours(24)) }]);
    expect(r.commands).toEqual([]);
  });

  it('a second sweep adds nothing', async () => {
    const written = async () => (await sql<{ commands: number; tasks: number; notices: number; escalations: number; suspensions: string }>`
      SELECT (SELECT count(*) FROM remote_switch_command WHERE action = 'reconnect')::int AS commands,
             (SELECT count(*) FROM task WHERE kind = 'reconnect')::int AS tasks,
             (SELECT count(*) FROM dunning_notice WHERE step = 'reconnect')::int AS notices,
             (SELECT count(*) FROM dunning_escalation WHERE kind = 'reconnect')::int AS escalations,
             (SELECT string_agg(status || ' ' || coalesce(reconnect_requested_at::text, '-'), ', ' ORDER BY customer_id) FROM dunning_suspension) AS suspensions
      `.execute(ctx.db)).rows[0]!;
    const before = await written();
    expect(before).toMatchObject({ commands: 1, tasks: 1, notices: 2, escalations: 2 });
    ctx.clock.set('2026-03-26T21:00:00+08:00');
    expect(await reconnectAfterPayment(ctx)).toBe(0);
    expect(await written()).toEqual(before);
  });

  it('a suspended customer who has not paid stays disconnected', async () => {
    expect(await reconnectAfterPayment(ctx)).toBe(0);
    expect(await reconnectOf(unpaid.id)).toEqual({ commands: [], tasks: [], notices: 0, suspension: { status: 'disconnect_requested', paid_at: null } });
  });

  it('a part payment that leaves the bill open does not reconnect', async () => {
    ctx.clock.set('2026-03-26T21:30:00+08:00');
    await pay(ctx, partly.number, '60.00', '2026-03-26', 'reconnect-partly');
    ctx.clock.set('2026-03-26T22:00:00+08:00');
    expect(await reconnectAfterPayment(ctx)).toBe(0);
    expect(await reconnectOf(partly.id)).toEqual({ commands: [], tasks: [], notices: 0, suspension: { status: 'disconnect_requested', paid_at: null } });
  });

  it('a customer who pays before the crew cut the supply has the disconnect job called off, and no reconnect job', async () => {
    ctx.clock.set('2026-03-26T22:10:00+08:00');
    await pay(ctx, notCutYet.number, '1000.00', '2026-03-26', 'reconnect-not-cut');
    ctx.clock.set('2026-03-26T22:20:00+08:00');
    expect(await reconnectAfterPayment(ctx)).toBe(1);
    const jobs = await sql<{ kind: string; status: string; outcome: unknown }>`
      SELECT kind, status, outcome FROM task WHERE customer_id = ${notCutYet.id} AND kind <> 'manual_collection' ORDER BY id`.execute(ctx.db);
    expect(jobs.rows).toEqual([{ kind: 'disconnect', status: 'cancelled', outcome: { closedBy: 'payment' } }]);
    expect((await reconnectOf(notCutYet.id)).suspension!.status).toBe('reconnect_requested');
  });

  it('a customer whose remote cut failed over to a field job has that job called off when paying', async () => {
    ctx.clock.set('2026-03-26T22:30:00+08:00');
    await pay(ctx, remoteFailed.number, '1000.00', '2026-03-26', 'reconnect-remote-failed');
    ctx.clock.set('2026-03-26T22:40:00+08:00');
    expect(await reconnectAfterPayment(ctx)).toBe(1);
    const jobs = await sql<{ kind: string; status: string; outcome: unknown }>`
      SELECT kind, status, outcome FROM task WHERE customer_id = ${remoteFailed.id} AND kind <> 'manual_collection' ORDER BY id`.execute(ctx.db);
    expect(jobs.rows).toEqual([{ kind: 'disconnect', status: 'cancelled', outcome: { closedBy: 'payment' } }]);
    expect((await reconnectOf(remoteFailed.id)).commands).toHaveLength(1);
  });

  it('when the daily run is what notices the payment, the field task is still due 24 h after the payment', async () => {
    const paidAt = new Date('2026-03-26T23:10:00+08:00');
    ctx.clock.set(paidAt);
    await pay(ctx, fieldByRun.number, '1000.00', '2026-03-26', 'reconnect-by-run');
    const run = await runAt('2026-03-27');
    expect(run.reconnected).toBe(1);
    const r = await reconnectOf(fieldByRun.id);
    expect(r.tasks).toEqual([{ opened_at: ctx.clock.now(), due_at: new Date(paidAt.getTime() + hours(24)) }]);
    expect(r.suspension).toEqual({ status: 'reconnect_requested', paid_at: paidAt });
    // the unpaid and the part-paid stay cut off through the run as well
    expect((await reconnectOf(unpaid.id)).suspension!.status).toBe('disconnect_requested');
    expect((await reconnectOf(partly.id)).suspension!.status).toBe('disconnect_requested');
  });
});
