/**
 * A closed account (销户) is no longer chased: the notices decided while it was open and not sent yet
 * are cancelled when the dispatcher meets them, and the run decides none after the closing.
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
  it('is not sent a chase notice decided before it closed: the notice is cancelled as account_closed', async () => {
    const r = await runAt('2026-02-17');
    expect(r.notices).toContainEqual({ step: 'overdue_1', status: 'pending', n: 2 });
    // the account closes after the run decided its notice, before the dispatcher sends it
    await sql`UPDATE customer SET status = 'closed' WHERE id = ${leaving.id}`.execute(ctx.db);
    ctx.clock.set('2026-02-17T10:00:00+08:00');
    await drain(ctx, dispatcher, { receipts: false });
    expect(await chaseOf(leaving.id)).toEqual([{ step: 'overdue_1', status: 'cancelled', cancel_reason: 'account_closed' }]);
    expect(sims.smsc.countByNumber(await mobileOf(ctx, leaving.id))).toBe(0);
    // the open account is chased as before
    expect((await chaseOf(staying.id)).map((n) => n.status)).not.toContain('cancelled');
    expect(sims.smsc.countByNumber(await mobileOf(ctx, staying.id))).toBe(1);
  });

  it('gets no chase notice decided after it closed', async () => {
    const r = await runAt('2026-02-24');
    expect(r.notices).toEqual([{ step: 'overdue_2', status: 'pending', n: 1 }]);
    expect((await chaseOf(leaving.id)).map((n) => n.step)).toEqual(['overdue_1']);
  });
});
