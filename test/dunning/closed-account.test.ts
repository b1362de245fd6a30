/**
 * A closed account (销户, moved out) is chased for what it still owes like any other account, but its
 * supply is no longer its own: it gets no suspension notice, and one decided before the closing is
 * cancelled when the dispatcher meets it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { TestContext } from '../support/db.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import type { ChannelSimulators, Dispatcher } from '../../src/dunning/index.ts';
import { chaseContext, customersWithChannels, drain, mobileOf, releaseBills } from './support.ts';

let ctx: TestContext;
let sims: ChannelSimulators;
let dispatcher: Dispatcher;
let closeChase: (() => Promise<void>) | undefined;
let leaving: { id: number; number: string };
let staying: { id: number; number: string };

const runAt = async (date: string) => {
  ctx.clock.set(`${date}T09:00:00+08:00`);
  return runDunning(ctx, date);
};
const chaseOf = async (customerId: number) => (await sql<{ step: string; status: string; cancel_reason: string | null }>`
  SELECT step, status, cancel_reason FROM dunning_notice WHERE customer_id = ${customerId} AND step <> 'bill_notice' ORDER BY id`.execute(ctx.db)).rows;

beforeAll(async () => {
  ({ ctx, sims, dispatcher, close: closeChase } = await chaseContext({ customers: 300, now: '2026-02-01T09:00:00+08:00' }));
  [leaving, staying] = (await customersWithChannels(ctx, ['sms'], 2)) as [typeof leaving, typeof staying];
  // released before the bill-notice window of the runs below: only the chase is in play
  await releaseBills(ctx, [leaving, staying].map((c) => ({
    customerId: c.id, period: '2026-01', amount: '88.00', issuedOn: '2026-02-01', dueDate: '2026-02-16', releasedAt: new Date('2026-02-01T08:00:00+08:00'),
  })));
}, 180_000);
afterAll(() => closeChase?.());

describe('a closed account', () => {
  it('is chased for its debt: the overdue notice decided before it closed goes out, and the next one is decided', async () => {
    const r = await runAt('2026-02-17');
    expect(r.notices).toContainEqual({ step: 'overdue_1', status: 'pending', n: 2 });
    // the account closes after the run decided its notice, before the dispatcher sends it
    await sql`UPDATE customer SET status = 'closed' WHERE id = ${leaving.id}`.execute(ctx.db);
    ctx.clock.set('2026-02-17T10:00:00+08:00');
    await drain(ctx, dispatcher, { receipts: false });
    expect(await chaseOf(leaving.id)).toEqual([{ step: 'overdue_1', status: expect.stringMatching(/^(sent|delivered)$/), cancel_reason: null }]);
    expect(sims.smsc.countByNumber(await mobileOf(ctx, leaving.id))).toBe(1);
    expect((await runAt('2026-02-24')).notices).toEqual([{ step: 'overdue_2', status: 'pending', n: 2 }]);
  });

  it('gets no suspension notice once closed, and one decided before the closing is not sent', async () => {
    ctx.clock.set('2026-02-24T10:00:00+08:00');
    await drain(ctx, dispatcher, { receipts: false });
    await runAt('2026-03-03');
    ctx.clock.set('2026-03-03T10:00:00+08:00');
    await drain(ctx, dispatcher, { receipts: false });
    // 31 days past the due date: the legal notice for the open account only
    expect((await runAt('2026-03-19')).notices).toEqual([{ step: 'suspension_notice', status: 'pending', n: 1 }]);
    expect((await chaseOf(leaving.id)).map((n) => n.step)).toEqual(['overdue_1', 'overdue_2', 'overdue_3']);
    // the open account's notice was decided; it closes before the dispatcher meets it
    await sql`UPDATE customer SET status = 'closed' WHERE id = ${staying.id}`.execute(ctx.db);
    ctx.clock.set('2026-03-19T10:00:00+08:00');
    await drain(ctx, dispatcher, { receipts: false });
    expect((await chaseOf(staying.id)).at(-1)).toEqual({ step: 'suspension_notice', status: 'cancelled', cancel_reason: 'account_closed' });
  });
});
