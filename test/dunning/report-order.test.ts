/**
 * A notice's delivery state is kept (DOMAIN: dunning rules): a receipt or call result that comes after
 * the attempt was delivered or answered (a provider's repeat, or callbacks out of order) does not undo it,
 * and of two failure reports the one with the later event stands, in whichever order they come.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { TestContext } from '../support/db.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import type { Dispatcher } from '../../src/dunning/index.ts';
import { recordReports, settleNotices } from '../../src/dunning/store/outbox.repository.ts';
import { agreeChannels, chaseContext, customersWithChannels, drain, mobileOf, releaseBills } from './support.ts';

let ctx: TestContext;
let closeChase: (() => Promise<void>) | undefined;
let dispatcher: Dispatcher;
const DAY = '2026-02-02';

beforeAll(async () => {
  ({ ctx, dispatcher, close: closeChase } = await chaseContext({ customers: 300, now: `${DAY}T09:00:00+08:00` }));
}, 180_000);

afterAll(() => closeChase?.());

describe('delivery reports after the attempt succeeded', () => {
  it('a later failure report, alone or in the same batch as the success, leaves a delivered attempt and its notice delivered', async () => {
    const [a, b] = await customersWithChannels(ctx, ['sms'], 2);
    await releaseBills(ctx, [a!, b!].map((c) => ({ customerId: c.id, period: '2026-01', amount: '50.00', issuedOn: DAY, dueDate: '2026-02-17', releasedAt: new Date(`${DAY}T08:00:00+08:00`) })));
    await runDunning(ctx, DAY);
    await drain(ctx, dispatcher);
    const attempts = async () => (await sql<{ customer_id: number; message_key: string; provider_message_id: string; status: string; notice: string }>`
      SELECT n.customer_id, a.message_key, a.provider_message_id, a.status, n.status AS notice
      FROM dunning_attempt a JOIN dunning_notice n ON n.id = a.notice_id
      WHERE n.customer_id IN (${a!.id}, ${b!.id}) ORDER BY n.customer_id`.execute(ctx.db)).rows;
    const [ra, rb] = await attempts();
    expect([ra!.status, rb!.status]).toEqual(['delivered', 'delivered']);

    const at = ctx.clock.now().toISOString();
    // a's repeat comes alone; b's success and failure come in one batch, the failure last
    // matched (not kept to be tried again as a receipt that overtook its submit), and nothing to settle
    expect(await recordReports(ctx.db, [{ message_key: ra!.message_key, provider_message_id: ra!.provider_message_id, state: 'failed', at, detail: 'UNDELIV' }], ctx.clock.now()))
      .toEqual({ noticeIds: [], unmatched: [] });
    await recordReports(ctx.db, [
      { message_key: rb!.message_key, provider_message_id: rb!.provider_message_id, state: 'delivered', at },
      { message_key: rb!.message_key, provider_message_id: rb!.provider_message_id, state: 'failed', at, detail: 'UNDELIV' },
    ], ctx.clock.now());
    expect((await attempts()).map((r) => [r.status, r.notice])).toEqual([['delivered', 'delivered'], ['delivered', 'delivered']]);
  });
});

describe('failure reports out of order', () => {
  it('an older call result that comes after a later one does not replace it, nor bring a retry', async () => {
    // a customer the test above does not use
    const c = (await customersWithChannels(ctx, ['sms'], 3))[2];
    // chased by voice only: the IVR's callbacks go nowhere here, so the call stays 'sent' until the reports below
    await agreeChannels(ctx, c!.id, [{ channel: 'voice', kind: 'mobile', value: await mobileOf(ctx, c!.id) }]);
    await releaseBills(ctx, [{ customerId: c!.id, period: '2026-01', amount: '50.00', issuedOn: DAY, dueDate: '2026-02-17', releasedAt: new Date(`${DAY}T08:00:00+08:00`) }]);
    await runDunning(ctx, DAY);
    await drain(ctx, dispatcher, { receipts: false });
    const state = async () => (await sql<{ message_key: string; provider_message_id: string; status: string; retryable: boolean; reported_at: Date | null; detail: string | null; notice: string }>`
      SELECT a.message_key, a.provider_message_id, a.status, a.retryable, a.reported_at, a.detail, n.status AS notice
      FROM dunning_attempt a JOIN dunning_notice n ON n.id = a.notice_id WHERE n.customer_id = ${c!.id}`.execute(ctx.db)).rows;
    const [call] = await state();
    expect(call).toMatchObject({ status: 'sent', notice: 'sent' });
    // as the dispatcher writes a batch of reports: the reports, then the settle of the notices they name
    const report = async (state: string, at: Date, detail: string) => {
      const written = await recordReports(ctx.db, [{ message_key: call!.message_key, provider_message_id: call!.provider_message_id, state, at: at.toISOString(), detail }], ctx.clock.now());
      await settleNotices(ctx.db, written.noticeIds, ctx.clock.now());
      return written;
    };
    const rang = new Date(ctx.clock.now().getTime() + 60_000);
    const ended = new Date(rang.getTime() + 60_000);
    // the platform's final result (the number failed) comes first, its earlier "no answer" after it
    await report('failed', ended, 'NUMBER_UNREACHABLE');
    expect(await report('no_answer', rang, 'NO_ANSWER')).toEqual({ noticeIds: [], unmatched: [] });
    expect(await state()).toEqual([{
      ...call, status: 'failed', retryable: false, reported_at: ended, detail: 'NUMBER_UNREACHABLE', notice: 'failed',
    }]);
  });
});
