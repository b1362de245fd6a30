/**
 * The daily contact cap (at most one dunning contact a day per customer) with two dispatchers
 * claiming at the same time: each customer has two chase notices due on one day (overdue notices
 * of two bills), one in each dispatcher's claim. One goes out; the other waits for the next
 * morning, or is dropped if the customer pays meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { channelsFor, startDispatcher, type ChannelSet, type ChannelSimulators, type Dispatcher } from '../../src/dunning/index.ts';
import { boundChannels, CALLBACKS, customersWithChannels, mobileOf, pay, releaseBills } from './support.ts';

let ctx: TestContext;
let sims: ChannelSimulators;
let closeChannels: (() => Promise<void>) | undefined;
let customers: { id: number; number: string; mobile: string }[];
let cap: number;
/** Each dispatcher has its own SMPP link, as separate processes would. */
const links: ChannelSet[] = [];

beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: '2026-03-17T10:00:00+08:00' });
  let first: ChannelSet;
  ({ sims, channels: first, close: closeChannels } = await boundChannels(ctx));
  const second = channelsFor(sims, CALLBACKS, { now: () => ctx.clock.now() });
  await second.sms.waitUntilBound(5_000);
  links.push(first, second);

  const picked = await customersWithChannels(ctx, ['sms'], 20);
  customers = await Promise.all(picked.map(async (c) => ({ ...c, mobile: await mobileOf(ctx, c.id) })));
  await releaseBills(ctx, customers.flatMap((c) => [
    { customerId: c.id, period: '2026-01', amount: '42.00', issuedOn: '2026-02-01', dueDate: '2026-02-16', releasedAt: new Date('2026-02-01T08:00:00+08:00') },
    { customerId: c.id, period: '2026-02', amount: '42.00', issuedOn: '2026-03-01', dueDate: '2026-03-16', releasedAt: new Date('2026-03-01T08:00:00+08:00') },
  ]));
  // notice 3 of January's bill and notice 1 of February's, both due now; January's come first in the
  // queue, so a claim of one notice per customer takes January's and the next claim February's
  await sql`
    INSERT INTO dunning_notice (customer_id, bill_id, step, segment, channel_mode, channels, status, bill_no, period, due_date,
                                amount, late_fee, created_on, created_at, next_attempt_at)
    SELECT b.customer_id, b.id, CASE b.period WHEN '2026-01' THEN 'overdue_3' ELSE 'overdue_1' END, c.kind, 'failover', '{sms}', 'pending',
           b.bill_no, b.period, b.due_date, b.amount, 0, '2026-03-17', ${ctx.clock.now()}::timestamptz, ${ctx.clock.now()}::timestamptz
    FROM bill b JOIN customer c ON c.id = b.customer_id
    WHERE b.customer_id = ANY(${customers.map((c) => c.id)}::bigint[])
    ORDER BY b.period, b.customer_id`.execute(ctx.db);
  cap = (await sql<{ cap: number }>`SELECT daily_contact_cap AS cap FROM dunning_policy WHERE segment = 'residential'`.execute(ctx.db)).rows[0]!.cap;
}, 180_000);

afterAll(async () => {
  await links[1]?.close();
  await closeChannels?.();
  await ctx?.drop();
});

const twoDispatchers = () => links.map((l, i) => startDispatcher(ctx, { channels: l.all, workers: 0, batchSize: customers.length, name: `d${i}` }));

/**
 * One claim-and-send pass of each dispatcher, at the same time. On PostgreSQL the claims are made to
 * overlap: a payment posting holds the customers' accounts while both claims take their notices, then
 * lets them go on together (PGlite has one connection: the claims run one after the other).
 */
async function claimTogether(dispatchers: Dispatcher[]): Promise<void> {
  if (ctx.database.engine !== 'postgres') {
    await Promise.all(dispatchers.map((d) => d.runOnce()));
    return;
  }
  let passes: Promise<number[]> | undefined;
  await ctx.db.transaction().execute(async (trx) => {
    const held = await sql`SELECT customer_id FROM account WHERE customer_id = ANY(${customers.map((c) => c.id)}::bigint[])
                           ORDER BY customer_id FOR UPDATE`.execute(trx);
    expect(held.rows).toHaveLength(customers.length);
    passes = Promise.all(dispatchers.map((d) => d.runOnce()));
    passes.catch(() => undefined);
    const deadline = performance.now() + 10_000;
    while ((await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(ctx.db)).rows[0]!.n < dispatchers.length) {
      if (performance.now() > deadline) throw new Error('the claims never reached the accounts');
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  expect(await passes).toEqual(dispatchers.map(() => customers.length));
}

/** Dunning attempts per customer queued on the business day `day` (Shanghai time). */
async function attemptsOn(day: string): Promise<Map<number, number>> {
  const r = await sql<{ customer_id: number; n: number }>`
    SELECT a.customer_id, count(*)::int AS n FROM dunning_attempt a JOIN dunning_notice n ON n.id = a.notice_id
    WHERE n.step NOT IN ('bill_notice', 'reconnect') AND (a.queued_at AT TIME ZONE 'Asia/Shanghai')::date = ${day}::date
    GROUP BY a.customer_id`.execute(ctx.db);
  return new Map(r.rows.map((x) => [Number(x.customer_id), x.n]));
}

describe('daily contact cap with two dispatchers at once', () => {
  it('contacts each customer at most daily_contact_cap times a day, and sends the held notice the next morning', async () => {
    expect(cap).toBe(1);
    const day1 = twoDispatchers();
    await claimTogether(day1);
    await Promise.all(day1.map((d) => d.stop()));

    const sent = customers.map((c) => sims.smsc.countByNumber(c.mobile));
    expect(sent).toEqual(customers.map(() => cap));
    const attempts = await attemptsOn('2026-03-17');
    expect(customers.map((c) => attempts.get(c.id) ?? 0)).toEqual(customers.map(() => cap));
    // one claim sent every customer's notice; the other held every one back
    expect(day1.map((d) => d.stats.deferred).sort((a, b) => a - b)).toEqual([0, customers.length]);
    const held = await sql<{ customer_id: number; next_attempt_at: Date }>`
      SELECT customer_id, next_attempt_at FROM dunning_notice WHERE status = 'pending' ORDER BY customer_id`.execute(ctx.db);
    expect(held.rows.map((r) => Number(r.customer_id))).toEqual(customers.map((c) => c.id).sort((a, b) => a - b));
    for (const r of held.rows) expect(r.next_attempt_at.toISOString()).toBe('2026-03-18T00:00:00.000Z');

    // one customer pays everything in the afternoon: the notice held for the morning is not sent
    const [payer] = customers;
    ctx.clock.set('2026-03-17T15:00:00+08:00');
    await pay(ctx, payer!.number, '500.00', '2026-03-17', 'contact-cap-payer');

    ctx.clock.set('2026-03-18T07:59:00+08:00');
    const early = twoDispatchers();
    await Promise.all(early.map((d) => d.runOnce()));
    await Promise.all(early.map((d) => d.stop()));
    expect(customers.map((c) => sims.smsc.countByNumber(c.mobile))).toEqual(sent);

    ctx.clock.set('2026-03-18T08:00:00+08:00');
    const day2 = twoDispatchers();
    await Promise.all(day2.map((d) => d.runOnce()));
    await Promise.all(day2.map((d) => d.stop()));
    expect(customers.map((c) => sims.smsc.countByNumber(c.mobile))).toEqual(customers.map((c) => (c === payer ? 1 : 2)));
    expect(sims.smsc.duplicateKeys()).toEqual([]);
    const next = await attemptsOn('2026-03-18');
    expect(customers.map((c) => next.get(c.id) ?? 0)).toEqual(customers.map((c) => (c === payer ? 0 : 1)));
    const states = await sql<{ customer_id: number; status: string; cancel_reason: string | null }>`
      SELECT customer_id, status, cancel_reason FROM dunning_notice ORDER BY customer_id, id`.execute(ctx.db);
    for (const r of states.rows) {
      if (Number(r.customer_id) === payer!.id && r.status === 'cancelled') expect(r.cancel_reason).toBe('paid');
      else expect(r.status).toMatch(/^(sent|delivered)$/);
    }
    expect(states.rows.filter((r) => r.status === 'cancelled')).toHaveLength(1);
  });
});
