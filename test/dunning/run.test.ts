import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import { listSwitchCommands, markSwitch } from '../../src/dunning/index.ts';
import { decodeDlt645Message, fromHex } from '../../src/metering/protocols/index.ts';
import { agreeChannels, customersWithChannels, noticesOf, pay, releaseBills, tasksOf } from './support.ts';

let ctx: TestContext;
let smsOnly: { id: number; number: string }[];
let silent: { id: number; number: string };

const runAt = async (date: string) => {
  ctx.clock.set(`${date}T09:00:00+08:00`);
  return runDunning(ctx, date);
};

beforeAll(async () => {
  ctx = await testContext({ customers: 400, now: '2026-02-01T09:00:00+08:00' });
  smsOnly = await customersWithChannels(ctx, ['sms'], 6);
  silent = (await customersWithChannels(ctx, ['sms'], 7))[6]!;
  await agreeChannels(ctx, silent.id, []);
  await releaseBills(ctx, [...smsOnly, silent].map((c) => ({
    customerId: c.id, period: '2026-01', amount: '120.50', issuedOn: '2026-02-01', dueDate: '2026-02-16', releasedAt: new Date('2026-02-01T08:00:00+08:00'),
  })));
}, 180_000);
afterAll(async () => ctx?.drop());

describe('the daily dunning run', () => {
  it('writes one bill notice per released bill, and a rerun the same day adds nothing', async () => {
    const first = await runAt('2026-02-01');
    expect(first.notices).toContainEqual({ step: 'bill_notice', status: 'pending', n: 6 });
    expect(first.notices).toContainEqual({ step: 'bill_notice', status: 'no_channel', n: 1 });
    const again = await runAt('2026-02-01');
    expect(again.notices).toEqual([]);
  });

  it('sends the reminder three days before the due date and nothing in between', async () => {
    expect((await runAt('2026-02-12')).notices).toEqual([]);
    const r = await runAt('2026-02-13');
    expect(r.notices).toContainEqual({ step: 'reminder', status: 'pending', n: 6 });
  });

  it('opens a manual collection task at once for a customer without an agreed channel', async () => {
    const tasks = await tasksOf(ctx, silent.id);
    expect(tasks.map((t) => t.kind)).toEqual(['manual_collection']);
    expect(tasks[0]!.assignee_staff_id).not.toBeNull();
  });

  it('moves to overdue notice 1 the day after the due date; a payment cancels every pending chase notice for that bill', async () => {
    const r = await runAt('2026-02-17');
    expect(r.notices).toContainEqual({ step: 'overdue_1', status: 'pending', n: 6 });
    await pay(ctx, smsOnly[0]!.number, '1000.00', '2026-02-17', 'run-test-1');
    const next = await runAt('2026-02-18');
    expect(next.cancelled).toBe(2);
    const steps = await noticesOf(ctx, smsOnly[0]!.id);
    expect(steps.map((n) => `${n.step}:${n.status}`)).toEqual(['bill_notice:pending', 'reminder:cancelled', 'overdue_1:cancelled']);
  });

  it('escalates to the grid manager after notice 3 and its grace period, once', async () => {
    await runAt('2026-02-24');
    await runAt('2026-03-03');
    expect((await runAt('2026-03-05')).manualCollection).toBe(0);
    const r = await runAt('2026-03-06');
    expect(r.manualCollection).toBe(5);
    expect((await runAt('2026-03-07')).manualCollection).toBe(0);
    expect((await tasksOf(ctx, smsOnly[1]!.id)).map((t) => t.kind)).toEqual(['manual_collection']);
    expect(await tasksOf(ctx, smsOnly[0]!.id)).toEqual([]);
  });

  it('after the suspension notice period, queues a DL/T 645 trip for cost-control meters or a field task; payment brings a reconnect', async () => {
    // suspension only after a reminder: notice 3 went out (the dispatcher's part)
    await sql`UPDATE dunning_notice SET status = 'delivered' WHERE step = 'overdue_3' AND status = 'pending'`.execute(ctx.db);
    const r = await runAt('2026-03-19');
    expect(r.notices).toContainEqual({ step: 'suspension_notice', status: 'pending', n: 5 });
    // the legal notice must have gone out before supply is cut
    await sql`UPDATE dunning_notice SET status = 'delivered' WHERE step = 'suspension_notice' AND status = 'pending'`.execute(ctx.db);
    const [remoteOne, fieldOne] = [smsOnly[1]!, smsOnly[2]!];
    await sql`UPDATE meter SET cost_control = (sp.customer_id = ${remoteOne.id}) FROM service_point sp
              WHERE sp.meter_id = meter.id AND sp.customer_id IN (${remoteOne.id}, ${fieldOne.id})`.execute(ctx.db);
    expect((await runAt('2026-03-25')).suspended).toEqual({ remote: 0, field: 0 });
    const cut = await runAt('2026-03-26');
    expect(cut.suspended.remote + cut.suspended.field).toBe(5);
    const commands = await sql<{ customer_id: number; comm_address: string; frame_hex: string; action: string }>`
      SELECT customer_id, comm_address, frame_hex, action FROM remote_switch_command ORDER BY id`.execute(ctx.db);
    expect(commands.rows.length).toBe(cut.suspended.remote);
    expect(commands.rows.map((c) => Number(c.customer_id))).toContain(remoteOne.id);
    expect((await tasksOf(ctx, fieldOne.id)).map((t) => t.kind)).toEqual(['manual_collection', 'disconnect']);
    for (const c of commands.rows) {
      const m = decodeDlt645Message(fromHex(c.frame_hex));
      expect(m).toMatchObject({ kind: 'relayControlRequest', address: c.comm_address, command: 'trip' });
    }
    // the collection front-end sent the trip and the meter confirmed it
    for (const c of await listSwitchCommands(ctx.db, remoteOne.id)) await markSwitch(ctx.db, Number(c.id), 'confirmed', ctx.clock.now());
    await pay(ctx, remoteOne.number, '1000.00', '2026-03-26', 'run-test-2');
    const back = await runAt('2026-03-27');
    expect(back.reconnected).toBe(1);
    const reconnect = await sql<{ frame_hex: string; requested_at: Date }>`
      SELECT frame_hex, requested_at FROM remote_switch_command WHERE customer_id = ${remoteOne.id} AND action = 'reconnect'`.execute(ctx.db);
    expect(reconnect.rows).toHaveLength(1);
    expect(decodeDlt645Message(fromHex(reconnect.rows[0]!.frame_hex))).toMatchObject({ kind: 'relayControlRequest', command: 'directClose' });
    const steps = await noticesOf(ctx, remoteOne.id);
    expect(steps.at(-1)).toMatchObject({ step: 'reconnect', status: 'pending' });
    expect((await runAt('2026-03-27')).reconnected).toBe(0);
  });
});
