/**
 * A channel withdrawn between the run's decision and the dispatch: the notice goes to the customer's
 * next agreed channel, as the preference stands now, also for the one-channel reminder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestContext } from '../support/db.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import type { Dispatcher } from '../../src/dunning/index.ts';
import { agreeChannels, chaseContext, customersWithChannels, drain, mobileOf, noticesOf, releaseBills } from './support.ts';

let ctx: TestContext;
let closeChase: (() => Promise<void>) | undefined;
let dispatcher: Dispatcher;
let customer: { id: number; number: string };

beforeAll(async () => {
  ({ ctx, dispatcher, close: closeChase } = await chaseContext({ customers: 300, now: '2026-02-01T09:00:00+08:00' }));
  [customer] = (await customersWithChannels(ctx, ['sms'], 1)) as [typeof customer];
  const mobile = await mobileOf(ctx, customer.id);
  await agreeChannels(ctx, customer.id, [
    { channel: 'sms', kind: 'mobile', value: mobile },
    { channel: 'email', kind: 'email', value: `c${customer.id}@example.com` },
  ]);
  // released before the bill-notice window of the run below: only the reminder is in play
  await releaseBills(ctx, [{
    customerId: customer.id, period: '2026-01', amount: '42.00', issuedOn: '2026-02-01', dueDate: '2026-02-16', releasedAt: new Date('2026-02-01T08:00:00+08:00'),
  }]);
}, 180_000);

afterAll(() => closeChase?.());

describe('a channel withdrawn after the decision', () => {
  it('sends the reminder on the next agreed channel instead of failing it', async () => {
    ctx.clock.set('2026-02-13T07:00:00+08:00');
    expect((await runDunning(ctx, '2026-02-13')).notices).toEqual([{ step: 'reminder', status: 'pending', n: 1 }]);
    // before the SMS could go out at 08:00, the customer withdrew it and kept email
    await agreeChannels(ctx, customer.id, [{ channel: 'email', kind: 'email', value: `c${customer.id}@example.com` }]);
    ctx.clock.set('2026-02-13T08:30:00+08:00');
    await drain(ctx, dispatcher, { receipts: false });
    const [reminder] = await noticesOf(ctx, customer.id);
    expect(reminder!.step).toBe('reminder');
    expect(reminder!.attempts.map((a) => `${a.channel}:${a.status === 'delivered' ? 'sent' : a.status}`)).toEqual(['sms:failed', 'email:sent']);
    expect(['sent', 'delivered']).toContain(reminder!.status);
  });
});
