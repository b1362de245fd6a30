/**
 * The chase after a gap: the dispatcher (or the whole server) was down for days while the run's
 * notices piled up. The customer gets the step now due, never the steps the gap passed, and a legal
 * suspension notice that goes out late still gives its full notice period before the cut.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { TestContext } from '../support/db.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import type { ChannelSimulators, Dispatcher } from '../../src/dunning/index.ts';
import { chaseContext, customersWithChannels, drain, mobileOf, noticesOf, pay, releaseBills } from './support.ts';

let ctx: TestContext;
let sims: ChannelSimulators;
let closeChase: (() => Promise<void>) | undefined;
let dispatcher: Dispatcher;
let customers: { id: number; number: string }[];
const mobile: Record<number, string> = {};

const runAt = async (date: string, time = '09:00') => {
  ctx.clock.set(`${date}T${time}:00+08:00`);
  return runDunning(ctx, date);
};
const dispatchAt = async (instant: string) => {
  ctx.clock.set(instant);
  await drain(ctx, dispatcher, { receipts: false });
};

beforeAll(async () => {
  ({ ctx, sims, dispatcher, close: closeChase } = await chaseContext({ customers: 300, now: '2026-02-01T09:00:00+08:00' }));
  customers = await customersWithChannels(ctx, ['sms'], 3);
  for (const c of customers) mobile[c.id] = await mobileOf(ctx, c.id);
  // released before the bill-notice window of the first run below: only the chase is in play
  await releaseBills(ctx, customers.slice(0, 2).map((c) => ({
    customerId: c.id, period: '2026-01', amount: '66.60', issuedOn: '2026-02-01', dueDate: '2026-02-16', releasedAt: new Date('2026-02-01T08:00:00+08:00'),
  })));
}, 180_000);

afterAll(() => closeChase?.());

describe('the chase after days without dispatch', () => {
  it('sends only the step now due: the overdue notices the gap passed are dropped, not sent late', async () => {
    const [c] = customers;
    // the runs of due + 1, + 8 and + 15 (days replayed after an outage, or a dispatcher down all along)
    await runAt('2026-02-17');
    await runAt('2026-02-24');
    await runAt('2026-03-03');
    await dispatchAt('2026-03-03T10:00:00+08:00');
    // and the days after: nothing of the passed steps comes later either
    for (const day of ['2026-03-04', '2026-03-05']) await dispatchAt(`${day}T10:00:00+08:00`);
    expect((await noticesOf(ctx, c!.id)).map((n) => `${n.step}:${n.status === 'delivered' ? 'sent' : n.status}`)).toEqual([
      'overdue_1:cancelled', 'overdue_2:cancelled', 'overdue_3:sent',
    ]);
    expect(sims.smsc.countByNumber(mobile[c!.id]!)).toBe(1);
    const reasons = await sql<{ cancel_reason: string }>`
      SELECT cancel_reason FROM dunning_notice WHERE customer_id = ${c!.id} AND status = 'cancelled'`.execute(ctx.db);
    expect(reasons.rows.map((r) => r.cancel_reason)).toEqual(['superseded', 'superseded']);
  });

  it('counts the suspension notice period from the day the notice goes out, and the notice says so', async () => {
    // over 30 days overdue: the legal notice is decided, but goes out five days late
    const r = await runAt('2026-03-19');
    expect(r.notices).toContainEqual({ step: 'suspension_notice', status: 'pending', n: 2 });
    await dispatchAt('2026-03-24T10:00:00+08:00');
    const given = await sql<{ status: string; suspend_on: string }>`
      SELECT status, suspend_on::text AS suspend_on FROM dunning_notice WHERE step = 'suspension_notice' ORDER BY id`.execute(ctx.db);
    // residential: at least 7 days from the day the customer was told
    expect(given.rows.map((g) => g.suspend_on)).toEqual(['2026-03-31', '2026-03-31']);
    const text = sims.smsc.messages.filter((m) => m.to === mobile[customers[0]!.id]).at(-1)!.text;
    expect(text).toContain('2026年3月31日');
    expect((await runAt('2026-03-26')).suspended).toEqual({ remote: 0, field: 0 });
    expect((await runAt('2026-03-30')).suspended).toEqual({ remote: 0, field: 0 });
    const cut = await runAt('2026-03-31');
    expect(cut.suspended.remote + cut.suspended.field).toBe(2);
  });

  it('after a part payment, the notice decided before it asks for what is still owed, not for the whole bill', async () => {
    const c = customers[2]!;
    await releaseBills(ctx, [{
      customerId: c.id, period: '2026-03', amount: '120.50', issuedOn: '2026-04-01', dueDate: '2026-04-16', releasedAt: new Date('2026-04-01T08:00:00+08:00'),
    }]);
    const r = await runAt('2026-04-17', '08:30');
    expect(r.notices).toContainEqual({ step: 'overdue_1', status: 'pending', n: 1 });
    // the customer pays part of the bill after the run decided the notice, before it goes out
    await pay(ctx, c.number, '100.00', '2026-04-17', 'catch-up-part');
    await dispatchAt('2026-04-17T09:00:00+08:00');
    const [notice] = (await sql<{ status: string; amount: string }>`
      SELECT status, amount FROM dunning_notice WHERE customer_id = ${c.id} AND step = 'overdue_1'`.execute(ctx.db)).rows;
    const [left] = (await sql<{ outstanding: string }>`
      SELECT outstanding::text AS outstanding FROM payments_open_debt('2026-04-17'::date) WHERE customer_id = ${c.id}`.execute(ctx.db)).rows;
    // the chase goes on (money is still owed), for what is left of the bill
    expect(notice!.status).not.toBe('cancelled');
    expect(Number(left!.outstanding)).toBeLessThan(21);
    expect(notice!.amount).toBe(left!.outstanding);
    const text = sims.smsc.messages.filter((m) => m.to === mobile[c.id]).at(-1)!.text;
    expect(text).toContain(left!.outstanding);
    expect(text).not.toContain('120.50');
  });
});
