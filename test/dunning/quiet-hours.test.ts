/**
 * Quiet hours (no SMS or voice from 21:00 to 08:00 Shanghai time) hold at the moment of sending,
 * not only at the claim: a batch claimed at 20:59:59 whose sends run past 21:00 (rate limits,
 * chunks) sends nothing more after 21:00; the rest goes out at 08:00, each message once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import { startDispatcher, type Channel, type ChannelSet, type ChannelSimulators } from '../../src/dunning/index.ts';
import { boundChannels, customersWithChannels, releaseBills } from './support.ts';

let ctx: TestContext;
let sims: ChannelSimulators;
let channels: ChannelSet;
let closeChannels: (() => Promise<void>) | undefined;

beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: '2026-02-01T20:30:00+08:00' });
  ({ sims, channels, close: closeChannels } = await boundChannels(ctx));
  const customers = await customersWithChannels(ctx, ['sms'], 3);
  await releaseBills(ctx, customers.map((c) => ({
    customerId: c.id, period: '2026-01', amount: '42.00', issuedOn: '2026-02-01', dueDate: '2026-02-16', releasedAt: new Date('2026-02-01T08:00:00+08:00'),
  })));
  await runDunning(ctx, '2026-02-01');
}, 180_000);
afterAll(async () => {
  await closeChannels?.();
  await ctx?.drop();
});

describe('quiet hours at the moment of sending', () => {
  it('sends nothing by SMS from 21:00 on, even from a batch claimed at 20:59:59; the rest goes at 08:00, once', async () => {
    ctx.clock.set('2026-02-01T20:59:59+08:00');
    // the first chunk goes out at 20:59:59 and takes a second: 21:00 has come when the next chunk is due
    let first = true;
    const slow: Channel = {
      kind: 'sms',
      send: async (msgs) => {
        const r = await channels.sms.send(msgs);
        if (first) ctx.clock.set('2026-02-01T21:00:00+08:00');
        first = false;
        return r;
      },
      onReport: (l) => channels.sms.onReport(l),
      close: async () => undefined,
    };
    const d = startDispatcher(ctx, { channels: [slow], workers: 0, sendChunk: 1 });
    expect(await d.runOnce()).toBe(3);
    expect(sims.smsc.stats.submits).toBe(1);

    // the held messages' lease runs out in the night: claimed again, they wait for the morning
    ctx.clock.set('2026-02-01T21:06:00+08:00');
    await d.runOnce();
    ctx.clock.set('2026-02-02T07:59:00+08:00');
    expect(await d.runOnce()).toBe(0);
    expect(sims.smsc.stats.submits).toBe(1);

    ctx.clock.set('2026-02-02T08:00:00+08:00');
    await d.runOnce();
    await d.stop();
    expect(sims.smsc.stats.submits).toBe(3);
    expect(sims.smsc.duplicateKeys()).toEqual([]);
    const morning = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM dunning_attempt WHERE sent_at >= '2026-02-02T08:00:00+08:00'`.execute(ctx.db);
    expect(morning.rows[0]!.n).toBe(2);
  });
});
