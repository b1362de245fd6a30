/**
 * Kill a dispatcher in the middle of a batch and restart another: nothing is lost, nothing is
 * sent twice (the SMSC simulator counts what it received per idempotency key). And the daily
 * contact cap: one dunning notice per customer and day.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import { channelsFor, startChannelSimulators, startDispatcher, type Channel, type ChannelSimulators } from '../../src/dunning/index.ts';
import { customersWithChannels, releaseBills } from './support.ts';

let ctx: TestContext;
let sims: ChannelSimulators;
const CALLBACKS = 'http://127.0.0.1:9/api/v1/channels/callbacks';

beforeAll(async () => {
  ctx = await testContext({ customers: 400, now: '2026-02-01T09:00:00+08:00' });
  sims = await startChannelSimulators();
  const customers = await customersWithChannels(ctx, ['sms'], 100);
  await releaseBills(ctx, customers.map((c) => ({
    customerId: c.id, period: '2026-01', amount: '42.00', issuedOn: '2026-02-01', dueDate: '2026-02-16', releasedAt: new Date('2026-02-01T08:00:00+08:00'),
  })));
  await runDunning(ctx, '2026-02-01');
}, 180_000);
/** One pass of a dispatcher on fresh channels to the simulators. */
async function dispatchOnce(): Promise<void> {
  const chans = channelsFor(sims, CALLBACKS, { now: () => ctx.clock.now() });
  await chans.sms.waitUntilBound(5_000);
  const d = startDispatcher(ctx, { channels: chans.all, workers: 0 });
  await d.runOnce();
  await d.stop();
  await chans.close();
}

afterAll(async () => {
  await sims?.close();
  await ctx?.drop();
});

const statusCounts = async () =>
  Object.fromEntries((await sql<{ status: string; n: number }>`SELECT status, count(*)::int AS n FROM dunning_notice GROUP BY status`.execute(ctx.db)).rows.map((r) => [r.status, r.n]));

describe('dispatcher crash and restart', () => {
  it('re-claims the notices of a dispatcher that died mid-batch after its lease, sending each exactly once', async () => {
    const total = Number((await statusCounts()).pending);
    expect(total).toBe(100);

    // first process: its SMS link forwards the first chunk, then the process freezes and dies
    const first = channelsFor(sims, CALLBACKS, { now: () => ctx.clock.now() });
    await first.sms.waitUntilBound(5_000);
    let calls = 0;
    let frozen!: () => void;
    const froze = new Promise<void>((r) => (frozen = r));
    const dying: Channel = {
      kind: 'sms',
      send: (msgs) => {
        calls++;
        if (calls === 1) return first.sms.send(msgs);
        frozen();
        return new Promise(() => undefined);
      },
      onReport: (l) => first.sms.onReport(l),
      close: () => first.sms.close(),
    };
    const a = startDispatcher(ctx, { channels: [dying], workers: 0, batchSize: 200, sendChunk: 40, name: 'a' });
    void a.runOnce();
    await froze;
    a.kill();
    await first.close();
    expect(sims.smsc.stats.submits).toBe(40);
    expect(await statusCounts()).toMatchObject({ sending: 60 });

    // second process: the lease still holds the frozen batch
    const second = channelsFor(sims, CALLBACKS, { now: () => ctx.clock.now() });
    await second.sms.waitUntilBound(5_000);
    const b = startDispatcher(ctx, { channels: second.all, workers: 2, pollMs: 20, name: 'b' });
    await new Promise((r) => setTimeout(r, 200));
    expect(sims.smsc.stats.submits).toBe(40);

    ctx.clock.advance(301_000);
    const deadline = performance.now() + 20_000;
    while (sims.smsc.stats.submits < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    await b.stop();
    await second.close();

    expect(sims.smsc.stats.submits).toBe(total);
    expect(sims.smsc.duplicateKeys()).toEqual([]);
    const keys = await sql<{ message_key: string; dispatcher: string }>`SELECT message_key, dispatcher FROM dunning_attempt`.execute(ctx.db);
    expect(keys.rows).toHaveLength(total);
    for (const k of keys.rows) expect(sims.smsc.countByKey(k.message_key)).toBe(1);
    expect(keys.rows.filter((k) => k.dispatcher === 'b')).toHaveLength(60);
    const counts = await statusCounts();
    expect((counts.sent ?? 0) + (counts.delivered ?? 0)).toBe(total);
  });
});

describe('daily contact cap', () => {
  it('sends one dunning notice per customer and day and holds the next until the following morning', async () => {
    const [c] = await sql<{ customer_id: number; bill_id: number }>`
      SELECT customer_id, bill_id FROM dunning_notice WHERE step = 'bill_notice' ORDER BY id LIMIT 1`.execute(ctx.db).then((r) => r.rows);
    ctx.clock.set('2026-02-17T10:00:00+08:00');
    // two debts of one customer in the queue at once (a later step of one debt would supersede the earlier)
    await releaseBills(ctx, [{
      customerId: Number(c!.customer_id), period: '2026-02', amount: '42.00', issuedOn: '2026-02-10', dueDate: '2026-02-20', releasedAt: new Date('2026-02-10T08:00:00+08:00'),
    }]);
    await sql`
      INSERT INTO dunning_notice (customer_id, bill_id, step, segment, channel_mode, channels, status, bill_no, period, due_date,
                                  amount, late_fee, created_on, created_at, next_attempt_at)
      SELECT n.customer_id, CASE WHEN s.step = 'reminder' THEN b.id ELSE n.bill_id END, s.step, n.segment, 'failover', n.channels, 'pending',
             n.bill_no, n.period, n.due_date, n.amount, 0, '2026-02-17', ${ctx.clock.now()}::timestamptz, ${ctx.clock.now()}::timestamptz
      FROM dunning_notice n JOIN bill b ON b.customer_id = n.customer_id AND b.period = '2026-02'
      CROSS JOIN (VALUES (1, 'reminder'), (2, 'overdue_1')) AS s(k, step)
      WHERE n.customer_id = ${c!.customer_id} AND n.step = 'bill_notice'
      ORDER BY s.k`.execute(ctx.db);
    await dispatchOnce();
    const rows = await sql<{ step: string; status: string; next_attempt_at: Date }>`
      SELECT step, status, next_attempt_at FROM dunning_notice WHERE customer_id = ${c!.customer_id} AND step <> 'bill_notice' ORDER BY step`.execute(ctx.db);
    expect(rows.rows.map((r) => `${r.step}:${r.status === 'delivered' ? 'sent' : r.status}`)).toEqual(['overdue_1:pending', 'reminder:sent']);
    expect(rows.rows[0]!.next_attempt_at.toISOString()).toBe('2026-02-18T00:00:00.000Z');
  });

  it('neither holds nor counts the notice that supply is back: it goes out with the day\'s dunning notice', async () => {
    const [c] = await sql<{ customer_id: number }>`
      SELECT customer_id FROM dunning_notice WHERE step = 'bill_notice' ORDER BY id OFFSET 1 LIMIT 1`.execute(ctx.db).then((r) => r.rows);
    ctx.clock.set('2026-03-27T10:00:00+08:00');
    // notice 3 of the debt went out on an earlier day: the legal notice may follow it (no suspension without a reminder)
    await sql`
      INSERT INTO dunning_notice (customer_id, bill_id, step, segment, channel_mode, channels, status, bill_no, period, due_date,
                                  amount, late_fee, created_on, created_at, next_attempt_at, dispatched_on)
      SELECT n.customer_id, n.bill_id, 'overdue_3', n.segment, 'preferred', n.channels, 'delivered', n.bill_no, n.period, n.due_date,
             n.amount, 0, '2026-03-12', '2026-03-12T01:00:00Z', '2026-03-12T01:00:00Z', '2026-03-12'
      FROM dunning_notice n WHERE n.customer_id = ${c!.customer_id} AND n.step = 'bill_notice'
      ON CONFLICT ON CONSTRAINT dunning_notice_key DO UPDATE SET status = 'delivered'`.execute(ctx.db);
    await sql`
      INSERT INTO dunning_notice (customer_id, bill_id, step, segment, channel_mode, channels, status, bill_no, period, due_date,
                                  amount, late_fee, suspend_on, created_on, created_at, next_attempt_at)
      SELECT n.customer_id, n.bill_id, s.step, n.segment, s.mode, n.channels, 'pending', n.bill_no, n.period, n.due_date,
             n.amount, 0, s.suspend_on::date, '2026-03-27', ${ctx.clock.now()}::timestamptz, ${ctx.clock.now()}::timestamptz
      FROM dunning_notice n CROSS JOIN (VALUES ('suspension_notice', 'all', '2026-04-03'), ('reconnect', 'all', NULL)) AS s(step, mode, suspend_on)
      WHERE n.customer_id = ${c!.customer_id} AND n.step = 'bill_notice'`.execute(ctx.db);
    await dispatchOnce();
    const rows = await sql<{ step: string; status: string }>`
      SELECT step, status FROM dunning_notice WHERE customer_id = ${c!.customer_id} AND step <> 'bill_notice' ORDER BY step`.execute(ctx.db);
    expect(rows.rows.map((r) => `${r.step}:${r.status === 'delivered' ? 'sent' : r.status}`)).toEqual(['overdue_3:sent', 'reconnect:sent', 'suspension_notice:sent']);
  });
});
