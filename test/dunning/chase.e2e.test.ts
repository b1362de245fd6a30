/**
 * End to end over the real protocols (SMPP, SMTP, signed HTTP callbacks to the app, all on
 * loopback): bill notice → reminder → overdue notices 1-3 → manual collection task, with a
 * payment stopping one chase, a payment racing a dispatch, a bounced email failing over to SMS
 * and quiet hours deferring SMS to 08:00.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { testContext, type TestContext } from '../support/db.ts';
import { signIn, signInCustomer, testApp } from '../support/http.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import { channelsFor, startChannelSimulators, startDispatcher, type ChannelSet, type ChannelSimulators, type Dispatcher } from '../../src/dunning/index.ts';
import { agreeChannels, customersWithChannels, drain, mobileOf, noticesOf, pay, releaseBills, tasksOf } from './support.ts';

let ctx: TestContext;
let app: FastifyInstance;
let sims: ChannelSimulators;
let channels: ChannelSet;
let dispatcher: Dispatcher;
let full: { id: number; number: string };
let payer: { id: number; number: string };
let bouncer: { id: number; number: string };
let racer: { id: number; number: string };
const mobile: Record<string, string> = {};

const runAt = async (instant: string) => {
  ctx.clock.set(instant);
  return runDunning(ctx, instant.slice(0, 10));
};
const smsTo = (c: { number: string }) => sims.smsc.countByNumber(mobile[c.number]!);

beforeAll(async () => {
  ctx = await testContext({ customers: 400, now: '2026-02-01T09:00:00+08:00' });
  sims = await startChannelSimulators({ smtp: { asyncBounceDomains: ['invalid.example'], asyncBounceDelayMs: 20 }, ivr: { callbackDelayMs: 5 }, catv: { callbackDelayMs: 5 } });
  app = await testApp(ctx);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  channels = channelsFor(sims, `http://127.0.0.1:${port}/api/v1/channels/callbacks`, { now: () => ctx.clock.now() });
  await channels.sms.waitUntilBound(5_000);
  dispatcher = startDispatcher(ctx, { channels: channels.all, workers: 0 });
  [full, payer, bouncer, racer] = await customersWithChannels(ctx, ['sms'], 4) as [typeof full, typeof full, typeof full, typeof full];
  for (const c of [full, payer, bouncer, racer]) mobile[c.number] = await mobileOf(ctx, c.id);
  await agreeChannels(ctx, bouncer.id, [
    { channel: 'email', kind: 'email', value: `c${bouncer.id}@invalid.example` },
    { channel: 'sms', kind: 'mobile', value: mobile[bouncer.number]! },
  ]);
  await releaseBills(ctx, [full, payer, bouncer, racer].map((c) => ({
    customerId: c.id, period: '2026-01', amount: '88.20', issuedOn: '2026-02-01', dueDate: '2026-02-16', releasedAt: new Date('2026-02-01T08:00:00+08:00'),
  })));
}, 180_000);

afterAll(async () => {
  await dispatcher?.stop();
  await channels?.close();
  await sims?.close();
  await app?.close();
  await ctx?.drop();
});

describe('the automatic chase over SMPP, SMTP and HTTP callbacks', () => {
  it('sends the electronic bill on every agreed channel; a bounced address still leaves the SMS delivered', async () => {
    await runAt('2026-02-01T09:00:00+08:00');
    await drain(ctx, dispatcher);
    expect((await noticesOf(ctx, full.id)).map((n) => `${n.step}:${n.status}`)).toEqual(['bill_notice:delivered']);
    const bounced = await noticesOf(ctx, bouncer.id);
    expect(bounced[0]).toMatchObject({ step: 'bill_notice', status: 'delivered' });
    expect(bounced[0]!.attempts).toEqual(expect.arrayContaining([{ channel: 'email', status: 'failed' }, { channel: 'sms', status: 'delivered' }]));
    expect(smsTo(full)).toBe(1);
  });

  it('reminds three days before the due date on the preferred channel only', async () => {
    await runAt('2026-02-13T09:00:00+08:00');
    await drain(ctx, dispatcher);
    expect((await noticesOf(ctx, full.id)).at(-1)).toMatchObject({ step: 'reminder', status: 'delivered', attempts: [{ channel: 'sms', status: 'delivered' }] });
    expect(smsTo(full)).toBe(2);
    expect((await noticesOf(ctx, bouncer.id)).at(-1)).toMatchObject({ step: 'reminder', status: 'failed', attempts: [{ channel: 'email', status: 'failed' }] });
    expect(smsTo(bouncer)).toBe(1);
  });

  it('holds SMS during quiet hours and sends at 08:00; the email bounce fails over to SMS', async () => {
    await runAt('2026-02-17T22:00:00+08:00');
    await drain(ctx, dispatcher);
    expect(smsTo(full)).toBe(2);
    expect(smsTo(payer)).toBe(2);
    const night = (await noticesOf(ctx, bouncer.id)).at(-1)!;
    expect(night).toMatchObject({ step: 'overdue_1', status: 'pending', attempts: [{ channel: 'email', status: 'failed' }] });
    expect(smsTo(bouncer)).toBe(1);

    ctx.clock.set('2026-02-18T07:59:00+08:00');
    expect(await dispatcher.runOnce()).toBe(0);
    ctx.clock.set('2026-02-18T08:00:00+08:00');
    await drain(ctx, dispatcher);
    for (const c of [full, payer, racer]) expect(smsTo(c)).toBe(3);
    expect(smsTo(bouncer)).toBe(2);
    expect((await noticesOf(ctx, bouncer.id)).at(-1)).toMatchObject({
      step: 'overdue_1', status: 'delivered', attempts: [{ channel: 'email', status: 'failed' }, { channel: 'sms', status: 'delivered' }],
    });
    const early = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM dunning_attempt a JOIN dunning_notice n ON n.id = a.notice_id
      WHERE n.step = 'overdue_1' AND a.channel = 'sms' AND a.queued_at < '2026-02-18T08:00:00+08:00'`.execute(ctx.db);
    expect(early.rows[0]!.n).toBe(0);
  });

  it('a payment stops the chase, also when it races the dispatch of an already decided notice', async () => {
    await pay(ctx, payer.number, '500.00', '2026-02-19', 'e2e-payer');
    const r = await runAt('2026-02-24T09:00:00+08:00');
    expect(r.notices).toContainEqual({ step: 'overdue_2', status: 'pending', n: 3 });
    // the racer pays after the run decided its notice, before the dispatcher takes it
    await pay(ctx, racer.number, '500.00', '2026-02-24', 'e2e-racer');
    await drain(ctx, dispatcher);
    expect((await noticesOf(ctx, racer.id)).at(-1)).toMatchObject({ step: 'overdue_2', status: 'cancelled', attempts: [] });
    expect(smsTo(racer)).toBe(3);
    expect(smsTo(payer)).toBe(3);
    expect(smsTo(full)).toBe(4);
  });

  it('after notice 3 and its grace period, opens one manual collection task for the grid manager; a contact failing repeatedly gets verified', async () => {
    await runAt('2026-03-03T09:00:00+08:00');
    await drain(ctx, dispatcher);
    expect(smsTo(full)).toBe(5);
    await runAt('2026-03-06T09:00:00+08:00');
    await runAt('2026-03-06T10:00:00+08:00');
    expect((await tasksOf(ctx, full.id)).map((t) => t.kind)).toEqual(['manual_collection']);
    // the bouncing address failed on every notice: the grid manager is also asked to verify it
    expect((await tasksOf(ctx, bouncer.id)).map((t) => t.kind)).toEqual(['contact_verification', 'manual_collection']);
    for (const c of [payer, racer]) expect(await tasksOf(ctx, c.id)).toEqual([]);
    expect((await noticesOf(ctx, full.id)).map((n) => `${n.step}:${n.status}`)).toEqual([
      'bill_notice:delivered', 'reminder:delivered', 'overdue_1:delivered', 'overdue_2:delivered', 'overdue_3:delivered',
    ]);
    expect(sims.smsc.duplicateKeys()).toEqual([]);
  });

  it('shows the chase timeline with delivery states to staff and to the customer, and to no other customer', async () => {
    const staff = await signIn(app, 'admin');
    const res = await app.inject({ method: 'GET', url: `/api/v1/customers/${bouncer.number}/notices`, headers: staff });
    expect(res.statusCode).toBe(200);
    const items = res.json().items as { step: string; status: string; attempts: { channel: string; status: string; recipient: string }[] }[];
    expect(items.map((n) => n.step)).toEqual(['bill_notice', 'reminder', 'overdue_1', 'overdue_2', 'overdue_3']);
    expect(items[2]!.attempts.map((a) => `${a.channel}:${a.status}`)).toEqual(['email:failed', 'sms:delivered']);
    const own = await signInCustomer(app, full.number);
    expect((await app.inject({ method: 'GET', url: `/api/v1/customers/${full.number}/notices`, headers: own })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `/api/v1/customers/${bouncer.number}/notices`, headers: own })).statusCode).toBe(403);
  });

  it('reports channel health and escalations within the caller scope', async () => {
    const staff = await signIn(app, 'admin');
    const health = await app.inject({ method: 'GET', url: '/api/v1/dunning/channel-health?from=2026-02-01&to=2026-03-06', headers: staff });
    expect(health.statusCode).toBe(200);
    const rows = health.json().items as { channel: string; sent: number; delivered: number; failed: number }[];
    const sms = rows.filter((r) => r.channel === 'sms').reduce((s, r) => s + r.delivered, 0);
    const emailFailed = rows.filter((r) => r.channel === 'email').reduce((s, r) => s + r.failed, 0);
    expect(sms).toBe(sims.smsc.stats.submits);
    expect(emailFailed).toBe(5);
    const esc = await app.inject({ method: 'GET', url: '/api/v1/dunning/escalations?kind=manual_collection', headers: staff });
    expect(esc.json().total).toBe(2);
    const list = await app.inject({ method: 'GET', url: '/api/v1/dunning/notices?step=overdue_2&status=cancelled', headers: staff });
    expect(list.json().items.map((n: { customerNumber: string }) => n.customerNumber)).toEqual([racer.number]);

    // a community manager sees the notices of the customers of the grid, and the health of its channels
    const grid = (await sql<{ code: string; path: string }>`
      SELECT g.code, g.path FROM customer c JOIN transformer_area ta ON ta.id = c.transformer_area_id JOIN org_unit g ON g.id = ta.grid_id
      WHERE c.id = ${racer.id}`.execute(ctx.db)).rows[0]!;
    const inGrid = (await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM dunning_notice n JOIN customer c ON c.id = n.customer_id WHERE c.org_path LIKE ${`${grid.path}%`}`.execute(ctx.db)).rows[0]!.n;
    const gm = await signIn(app, `gm.${grid.code}`);
    const own = await app.inject({ method: 'GET', url: '/api/v1/dunning/notices?limit=500', headers: gm });
    expect(own.json().total).toBe(inGrid);
    expect(own.json().items.map((n: { customerNumber: string }) => n.customerNumber)).toContain(racer.number);
    const other = (await sql<{ code: string }>`
      SELECT code FROM org_unit WHERE level = 'grid' AND path NOT LIKE ${`${grid.path}%`} ORDER BY code LIMIT 1`.execute(ctx.db)).rows[0]!;
    const elsewhere = await signIn(app, `gm.${other.code}`);
    expect((await app.inject({ method: 'GET', url: '/api/v1/dunning/notices?limit=500', headers: elsewhere })).json().total).toBe(0);
    const gridHealth = await app.inject({ method: 'GET', url: '/api/v1/dunning/channel-health?from=2026-02-01&to=2026-03-06', headers: gm });
    expect((gridHealth.json().items as { orgPath: string }[]).every((r) => r.orgPath.startsWith(grid.path))).toBe(true);

    // and the escalations of the customers of its grid, each under the org that serves the customer
    const escGrid = (await sql<{ code: string; path: string; n: number }>`
      SELECT g.code, g.path, (SELECT count(*)::int FROM dunning_escalation x JOIN customer y ON y.id = x.customer_id WHERE y.org_path LIKE g.path || '%') AS n
      FROM dunning_escalation e JOIN customer c ON c.id = e.customer_id JOIN transformer_area ta ON ta.id = c.transformer_area_id
      JOIN org_unit g ON g.id = ta.grid_id ORDER BY e.id LIMIT 1`.execute(ctx.db)).rows[0]!;
    const escGm = await signIn(app, `gm.${escGrid.code}`);
    const mine = (await app.inject({ method: 'GET', url: '/api/v1/dunning/escalations', headers: escGm })).json();
    expect(mine.total).toBe(escGrid.n);
    expect(mine.total).toBeGreaterThan(0);
    expect((mine.items as { orgPath: string }[]).every((e) => e.orgPath.startsWith(escGrid.path))).toBe(true);
    const none = (await sql<{ code: string }>`
      SELECT g.code FROM org_unit g WHERE g.level = 'grid'
        AND NOT EXISTS (SELECT 1 FROM dunning_escalation e JOIN customer c ON c.id = e.customer_id WHERE c.org_path LIKE g.path || '%')
      ORDER BY g.code LIMIT 1`.execute(ctx.db)).rows[0]!;
    expect((await app.inject({ method: 'GET', url: '/api/v1/dunning/escalations', headers: await signIn(app, `gm.${none.code}`) })).json().total).toBe(0);
  });
});
