/**
 * A contact a notice reached is verified (DOMAIN: channel coverage counts agreed, verified channels):
 * the delivery receipt or the answered call is the proof, and channel coverage follows the chase.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import { verifyContactsReached } from '../../src/flows/dunning-escalation.ts';
import { computeKpis } from '../../src/monitoring/index.ts';
import { channelsFor, startChannelSimulators, startDispatcher, type ChannelSet, type ChannelSimulators, type Dispatcher } from '../../src/dunning/index.ts';
import { customersWithChannels, drain, releaseBills } from './support.ts';

let ctx: TestContext;
let sims: ChannelSimulators;
let channels: ChannelSet;
let dispatcher: Dispatcher;
const CALLBACKS = 'http://127.0.0.1:9/api/v1/channels/callbacks';
const DAY = '2026-02-02';

const statusOf = async (customerId: number) => (await sql<{ status: string }>`
  SELECT ct.status FROM channel_agreement a JOIN contact ct ON ct.id = a.contact_id WHERE a.customer_id = ${customerId} AND a.channel = 'sms'`
  .execute(ctx.db)).rows[0]!.status;
// the whole province's figure: the largest numerator among the org levels
const coverage = async () => Number((await sql<{ n: string }>`
  SELECT max(numerator)::text AS n FROM kpi_daily WHERE kpi = 'channel_coverage' AND day = ${DAY}::date AND org_id IS NOT NULL`.execute(ctx.db)).rows[0]!.n);

beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: `${DAY}T09:00:00+08:00` });
  sims = await startChannelSimulators();
  channels = channelsFor(sims, CALLBACKS, { now: () => ctx.clock.now() });
  await channels.sms.waitUntilBound(5_000);
  dispatcher = startDispatcher(ctx, { channels: channels.all, workers: 0 });
}, 180_000);

afterAll(async () => {
  await dispatcher?.stop();
  await channels?.close();
  await sims?.close();
  await ctx?.drop();
});

describe('contacts proven by a delivered notice', () => {
  it('are verified by the day-end step, and channel coverage counts them; a contact not reached stays unverified', async () => {
    const [reached, other] = await customersWithChannels(ctx, ['sms'], 2);
    await releaseBills(ctx, [{ customerId: reached!.id, period: '2026-01', amount: '50.00', issuedOn: DAY, dueDate: '2026-02-17', releasedAt: new Date(`${DAY}T08:00:00+08:00`) }]);
    await runDunning(ctx, DAY);
    await drain(ctx, dispatcher);
    expect(await statusOf(reached!.id)).toBe('unverified');

    await computeKpis(ctx, DAY);
    const before = await coverage();
    expect(await verifyContactsReached(ctx, DAY)).toBe(1);
    expect(await statusOf(reached!.id)).toBe('verified');
    expect(await statusOf(other!.id)).toBe('unverified');
    await computeKpis(ctx, DAY);
    expect(await coverage()).toBe(before + 1);
    // a second pass changes nothing
    expect(await verifyContactsReached(ctx, DAY)).toBe(0);
  });
});
