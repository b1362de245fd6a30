/**
 * A contact a notice reached is verified (DOMAIN: channel coverage counts agreed, verified channels):
 * the delivery receipt or the answered call is the proof, and channel coverage follows the chase.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { TestContext } from '../support/db.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import { verifyContactsReached } from '../../src/flows/dunning-escalation.ts';
import { computeKpis } from '../../src/monitoring/index.ts';
import type { Dispatcher } from '../../src/dunning/index.ts';
import { chaseContext, customersWithChannels, drain, releaseBills } from './support.ts';

let ctx: TestContext;
let closeChase: (() => Promise<void>) | undefined;
let dispatcher: Dispatcher;
const DAY = '2026-02-02';

const statusOf = async (customerId: number) => (await sql<{ status: string }>`
  SELECT ct.status FROM channel_agreement a JOIN contact ct ON ct.id = a.contact_id WHERE a.customer_id = ${customerId} AND a.channel = 'sms'`
  .execute(ctx.db)).rows[0]!.status;
// the whole province's figure: the largest numerator among the org levels
const coverage = async () => Number((await sql<{ n: string }>`
  SELECT max(numerator)::text AS n FROM kpi_daily WHERE kpi = 'channel_coverage' AND day = ${DAY}::date AND org_id IS NOT NULL`.execute(ctx.db)).rows[0]!.n);

beforeAll(async () => {
  ({ ctx, dispatcher, close: closeChase } = await chaseContext({ customers: 300, now: `${DAY}T09:00:00+08:00` }));
}, 180_000);

afterAll(() => closeChase?.());

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
