/**
 * Who sees the phone number or email a dunning notice went to: the roles that contact customers (and the
 * customer itself) in full; a province analyst and a city billing clerk masked, also where the channel's answer
 * quotes the address, as the customer and task views mask contacts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { TestContext } from '../support/db.ts';
import { provinceApi, signIn, signInCustomer } from '../support/http.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import { startDispatcher, type Dispatcher } from '../../src/dunning/index.ts';
import { agreeChannels, boundChannels, drain, releaseBills } from '../dunning/support.ts';

type Attempt = { channel: string; status: string; recipient: string; detail: string | null };
type Notice = { customerNumber: string; step: string; attempts: Attempt[] };

const MOBILE = '13912345678';
// the SMTP simulator refuses every address of this domain at RCPT, quoting the address in its answer
const EMAIL = 'wang.refused@invalid.example';

let ctx: TestContext;
let app: FastifyInstance;
let channels: Awaited<ReturnType<typeof boundChannels>>;
let dispatcher: Dispatcher;
let customer: { id: number; number: string; county: string; grid: string };

provinceApi({ customers: 200, now: '2026-02-01T09:00:00+08:00' }, async (c, a) => {
  [ctx, app] = [c, a];
  channels = await boundChannels(ctx);
  dispatcher = startDispatcher(ctx, { channels: channels.channels.all, workers: 0 });
  customer = (await sql<{ id: number; number: string; county: string; grid: string }>`
    SELECT c.id::int AS id, c.number, split_part(c.org_path, '/', 5) AS county, g.code AS grid
    FROM customer c JOIN transformer_area ta ON ta.id = c.transformer_area_id JOIN org_unit g ON g.id = ta.grid_id
    WHERE c.kind = 'residential' AND c.org_path LIKE '%/LN01/%' ORDER BY c.id LIMIT 1`.execute(ctx.db)).rows[0]!;
  await agreeChannels(ctx, customer.id, [{ channel: 'email', kind: 'email', value: EMAIL }, { channel: 'sms', kind: 'mobile', value: MOBILE }]);
  await releaseBills(ctx, [{ customerId: customer.id, period: '2026-01', amount: '88.20', issuedOn: '2026-02-01', dueDate: '2026-02-16', releasedAt: new Date('2026-02-01T08:00:00+08:00') }]);
  // the electronic bill goes out on every agreed channel: the email is refused, the SMS delivered
  await runDunning(ctx, '2026-02-01');
  await drain(ctx, dispatcher);
});
afterAll(async () => {
  await dispatcher?.stop();
  await channels?.close();
});

/** The customer's bill-notice attempts as `who` reads them on the customer's timeline and in the notice list. */
async function attemptsSeenBy(headers: { authorization: string }, list = true): Promise<{ body: string; attempts: Attempt[] }[]> {
  const urls = [`/api/v1/customers/${customer.number}/notices`, ...(list ? ['/api/v1/dunning/notices?limit=500'] : [])];
  const seen = [];
  for (const url of urls) {
    const res = await app.inject({ url, headers });
    expect(res.statusCode, `${url} ${res.body.slice(0, 200)}`).toBe(200);
    const notice = (res.json().items as Notice[]).find((n) => n.step === 'bill_notice' && (n.customerNumber ?? customer.number) === customer.number);
    seen.push({ body: res.body, attempts: notice!.attempts });
  }
  return seen;
}

describe('the recipient of a dunning notice', () => {
  it('went out by email (refused) and SMS (delivered)', async () => {
    const [timeline] = await attemptsSeenBy(await signIn(app, 'admin'));
    const byChannel = Object.fromEntries(timeline!.attempts.map((a) => [a.channel, a]));
    expect(byChannel.email).toMatchObject({ status: 'failed', recipient: EMAIL });
    expect(byChannel.email!.detail).toContain(EMAIL);
    expect(byChannel.sms).toMatchObject({ status: 'delivered', recipient: MOBILE });
  });

  it.each(['analyst', 'clerk.LN01'])('is masked for %s, in the answer of the channel too', async (who) => {
    for (const { body, attempts } of await attemptsSeenBy(await signIn(app, who))) {
      expect(body).not.toContain(MOBILE);
      expect(body).not.toContain(EMAIL);
      expect(body).not.toContain('wang.refused');
      const byChannel = Object.fromEntries(attempts.map((a) => [a.channel, a]));
      expect(byChannel.sms!.recipient).toBe('139******78');
      expect(byChannel.email!.recipient).toBe('w***@invalid.example');
      expect(byChannel.email!.detail).toContain('w***@invalid.example');
    }
  });

  it('is shown in full to the roles that contact customers, and to the customer itself', async () => {
    const readers = [await signIn(app, `agent.${customer.county}`), await signIn(app, `gm.${customer.grid}`)];
    for (const headers of readers) {
      for (const { attempts } of await attemptsSeenBy(headers)) expect(attempts.map((a) => a.recipient).sort()).toEqual([MOBILE, EMAIL].sort());
    }
    const [own] = await attemptsSeenBy(await signInCustomer(app, customer.number), false);
    expect(own!.attempts.map((a) => a.recipient).sort()).toEqual([MOBILE, EMAIL].sort());
  });
});
