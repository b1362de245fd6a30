/**
 * A provider that refuses a message with 429 and Retry-After says when it takes messages again: the notice's
 * next attempt on that channel waits for it when it is later than the policy's backoff (10 minutes here).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import { startDispatcher, type Dispatcher } from '../../src/dunning/index.ts';
import { createCatvChannel } from '../../src/dunning/channels/index.ts';
import { agreeChannels, customersWithChannels, releaseBills } from './support.ts';

let ctx: TestContext;
let provider: http.Server;
let catv: ReturnType<typeof createCatvChannel>;
let dispatcher: Dispatcher;
let customer: { id: number; number: string };
let requests = 0;

beforeAll(async () => {
  ctx = await testContext({ customers: 200, now: '2026-02-17T09:00:00+08:00' });
  // the cable operator is busy for an hour
  provider = http.createServer((req, res) => {
    requests++;
    req.resume().on('end', () => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '3600' });
      res.end(JSON.stringify({ code: 'RATE_LIMITED', message: 'come back in an hour' }));
    });
  });
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
  catv = createCatvChannel({ endpoint: url, secret: 's', callbackUrl: 'http://127.0.0.1:1/cb', retryAfterMaxMs: 2 * 3600_000 });
  dispatcher = startDispatcher(ctx, { channels: [catv], workers: 0 });
  [customer] = (await customersWithChannels(ctx, ['sms'], 1)) as [typeof customer];
  await agreeChannels(ctx, customer.id, [{ channel: 'catv', kind: 'catv', value: 'LNTV0000000001' }]);
  await releaseBills(ctx, [{ customerId: customer.id, period: '2026-01', amount: '58.00', issuedOn: '2026-02-01', dueDate: '2026-02-16', releasedAt: new Date('2026-02-01T08:00:00+08:00') }]);
  await runDunning(ctx, '2026-02-17');
}, 120_000);
afterAll(async () => {
  await dispatcher?.stop();
  await catv?.close();
  await new Promise((resolve) => provider?.close(resolve));
  await ctx?.drop();
});

describe("a provider's Retry-After", () => {
  it("puts the notice's next attempt on the channel at the time the provider named, not the policy's 10 minutes", async () => {
    ctx.clock.set('2026-02-17T10:00:00+08:00');
    await dispatcher.runOnce();
    expect(requests).toBe(1);
    const [n] = (await sql<{ status: string; next_attempt_at: Date }>`
      SELECT status, next_attempt_at FROM dunning_notice WHERE customer_id = ${customer.id} AND step = 'overdue_1'`.execute(ctx.db)).rows;
    expect(n!.status).toBe('pending');
    expect(n!.next_attempt_at.toISOString()).toBe('2026-02-17T03:00:00.000Z');
    // at the policy's backoff nothing is due yet, and the provider is not asked again
    ctx.clock.set('2026-02-17T10:15:00+08:00');
    expect(await dispatcher.runOnce()).toBe(0);
    expect(requests).toBe(1);
  });
});
