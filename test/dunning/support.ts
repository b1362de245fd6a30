/** Builders for dunning tests: released bills posted to the ledger, payments, agreed channels, a dispatch drain. */
import { sql } from 'kysely';
import type { AppContext } from '../../src/platform/index.ts';
import { testContext, type TestContext } from '../support/db.ts';
import { postReleasedBills } from '../../src/flows/payments-post-bills.ts';
import { postPayment } from '../../src/payments/index.ts';
import { replaceAgreements, upsertContact, type NoticeChannel } from '../../src/customers/index.ts';
import { channelsFor, startChannelSimulators, startDispatcher, type ChannelSet, type ChannelSimulators, type Dispatcher } from '../../src/dunning/index.ts';

export interface BillSpec {
  customerId: number;
  period: string;
  amount: string;
  issuedOn: string;
  dueDate: string;
  releasedAt: Date;
}

/** Released bills, as billing would leave them, posted into the payments ledger. */
export async function releaseBills(ctx: AppContext, bills: BillSpec[]): Promise<void> {
  const rows = bills.map((b) => ({
    customer_id: b.customerId, period: b.period, amount: b.amount, issued_on: b.issuedOn, due_date: b.dueDate, released_at: b.releasedAt.toISOString(),
  }));
  await sql`
    INSERT INTO bill (bill_no, kind, customer_id, cycle_code, period, org_path, tariff_code, period_start, period_end,
                      consumption_kwh, amount, status, issued_on, due_date, released_at, released_by, created_at)
    SELECT 'B' || b.period || '-' || c.number, 'bill', c.id, c.billing_cycle, b.period, c.org_path, c.tariff_code,
           (b.period || '-01')::date, ((b.period || '-01')::date + interval '1 month' - interval '1 day')::date,
           100, b.amount, 'released', b.issued_on, b.due_date, b.released_at, 'test', b.released_at
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
         AS b(customer_id bigint, period text, amount numeric, issued_on date, due_date date, released_at timestamptz)
    JOIN customer c ON c.id = b.customer_id`.execute(ctx.db);
  await postReleasedBills(ctx);
}

export async function pay(ctx: AppContext, customerNumber: string, amount: string, paidOn: string, reference: string): Promise<void> {
  await postPayment(ctx.db, ctx.clock, { channel: 'online_wallet', reference, customerNumber, amount, paidOn }, 'test', 'api');
}

/** Set the customer's agreed channels in this order, with the given contacts. */
export async function agreeChannels(ctx: AppContext, customerId: number, channels: { channel: NoticeChannel; kind: 'mobile' | 'email' | 'catv' | 'landline'; value: string }[]): Promise<void> {
  const list: { channel: NoticeChannel; contactId: number }[] = [];
  for (const c of channels) list.push({ channel: c.channel, contactId: await upsertContact(ctx.db, customerId, c.kind, c.value) });
  await replaceAgreements(ctx.db, customerId, ctx.clock.now(), list);
}

export async function customersWithChannels(ctx: AppContext, channels: string[], limit: number, kind = 'residential'): Promise<{ id: number; number: string }[]> {
  const r = await sql<{ id: number; number: string }>`
    SELECT c.id, c.number FROM customer c
    JOIN LATERAL (SELECT array_agg(a.channel ORDER BY a.priority) AS ch FROM channel_agreement a WHERE a.customer_id = c.id AND a.withdrawn_at IS NULL) a ON true
    JOIN contact m ON m.customer_id = c.id AND m.kind = 'mobile' AND m.value NOT LIKE '144%'
    WHERE a.ch = ${channels}::text[] AND c.kind = ${kind}
    ORDER BY c.id LIMIT ${limit}`.execute(ctx.db);
  return r.rows.map((x) => ({ id: Number(x.id), number: x.number }));
}

/** Claim and send until the queue has nothing due and every answer and receipt has been written. */
export async function drain(ctx: AppContext, d: Dispatcher, opts: { receipts?: boolean; timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const waiting = opts.receipts === false ? ['sending'] : ['sending', 'sent'];
  const deadline = performance.now() + timeoutMs;
  let quiet = 0;
  while (quiet < 4) {
    if (performance.now() > deadline) throw new Error('dispatch did not settle in time');
    const claimed = await d.runOnce();
    await d.flushReports();
    const r = await sql<{ n: number }>`
      SELECT (SELECT count(*) FROM dunning_attempt WHERE status = ANY(${waiting}::text[]))::int
           + (SELECT count(*) FROM dunning_notice WHERE status = 'pending' AND next_attempt_at <= ${ctx.clock.now()}::timestamptz)::int AS n`.execute(ctx.db);
    quiet = claimed === 0 && r.rows[0]!.n === 0 ? quiet + 1 : 0;
    await new Promise((res) => setTimeout(res, 30));
  }
}

export async function noticesOf(ctx: AppContext, customerId: number): Promise<{ step: string; status: string; channels: string[]; attempts: { channel: string; status: string }[] }[]> {
  const r = await sql<{ step: string; status: string; channels: string[]; attempts: { channel: string; status: string }[] }>`
    SELECT n.step, n.status, n.channels,
           COALESCE((SELECT json_agg(json_build_object('channel', a.channel, 'status', a.status) ORDER BY a.id) FROM dunning_attempt a WHERE a.notice_id = n.id), '[]') AS attempts
    FROM dunning_notice n WHERE n.customer_id = ${customerId} ORDER BY n.id`.execute(ctx.db);
  return r.rows;
}

export async function tasksOf(ctx: AppContext, customerId: number): Promise<{ kind: string; assignee_staff_id: number | null; idempotency_key: string }[]> {
  const r = await sql<{ kind: string; assignee_staff_id: number | null; idempotency_key: string }>`
    SELECT kind, assignee_staff_id, idempotency_key FROM task WHERE customer_id = ${customerId} ORDER BY id`.execute(ctx.db);
  return r.rows;
}

export async function mobileOf(ctx: AppContext, customerId: number): Promise<string> {
  const r = await sql<{ value: string }>`SELECT value FROM contact WHERE customer_id = ${customerId} AND kind = 'mobile' ORDER BY id LIMIT 1`.execute(ctx.db);
  return r.rows[0]!.value;
}

/** Callbacks of the voice and cable-TV simulators go nowhere in these tests (port 9: discard). */
export const CALLBACKS = 'http://127.0.0.1:9/api/v1/channels/callbacks';

/** The channel simulators and the channels to them on the test's clock, SMS bound; close() stops both. */
export async function boundChannels(ctx: AppContext): Promise<{ sims: ChannelSimulators; channels: ChannelSet; close(): Promise<void> }> {
  const sims = await startChannelSimulators();
  const channels = channelsFor(sims, CALLBACKS, { now: () => ctx.clock.now() });
  await channels.sms.waitUntilBound(5_000);
  return {
    sims, channels, close: async () => {
      await channels.close();
      await sims.close();
    },
  };
}

/**
 * A test province with the bound channels and a dispatcher that works when the test asks (`drain`, no
 * workers of its own); close() stops both and drops the database.
 */
export async function chaseContext(opts: { customers: number; now: string }): Promise<{
  ctx: TestContext; sims: ChannelSimulators; channels: ChannelSet; dispatcher: Dispatcher; close(): Promise<void>;
}> {
  const ctx = await testContext(opts);
  const { sims, channels, close } = await boundChannels(ctx);
  const dispatcher = startDispatcher(ctx, { channels: channels.all, workers: 0 });
  return {
    ctx, sims, channels, dispatcher, close: async () => {
      await dispatcher.stop();
      await close();
      await ctx.drop();
    },
  };
}
