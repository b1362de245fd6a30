/**
 * A move-in keeps the account (its number, bills, ledger and notices) and hands it to the new occupant under a
 * new name. The new occupant's portal shows only its own occupancy: the bills covering a day from the move-in on,
 * their statement lines, ledger entries and notices; nothing of the former occupant's bills, payments or phone.
 * Staff in scope still see the whole account.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { TestContext } from '../support/db.ts';
import { provinceApi, signIn } from '../support/http.ts';
import { applyDueCustomerChanges, recordCustomerChange } from '../../src/customers/index.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import { startDispatcher, type Dispatcher } from '../../src/dunning/index.ts';
import { agreeChannels, boundChannels, drain, pay, releaseBills } from '../dunning/support.ts';
import { giveReadings } from '../billing/builders.ts';

const FORMER_MOBILE = '13900001111';
const NEW_MOBILE = '13722223333';
const MOVE_IN = '2026-02-20';

type Headers = { authorization: string };
let ctx: TestContext;
let app: FastifyInstance;
let channels: Awaited<ReturnType<typeof boundChannels>>;
let dispatcher: Dispatcher;
let place: { id: number; number: string };
/** Bill numbers: the former occupant's (one issued after the move-in, for a period before it) and the newcomer's. */
const bills = { former: [] as string[], own: '' };
let newcomer: Headers;

const dunAt = async (instant: string) => {
  ctx.clock.set(instant);
  await runDunning(ctx, instant.slice(0, 10));
  // the voice platform's call results go nowhere here: wait for the hand-overs, not for every receipt
  await drain(ctx, dispatcher, { receipts: false });
};

provinceApi({ customers: 200, now: '2026-01-01T09:00:00+08:00' }, async (c, a) => {
  [ctx, app] = [c, a];
  channels = await boundChannels(ctx);
  dispatcher = startDispatcher(ctx, { channels: channels.channels.all, workers: 0 });
  place = (await sql<{ id: number; number: string }>`
    SELECT id::int AS id, number FROM customer WHERE kind = 'residential' AND org_path LIKE '%/LN0101/%' ORDER BY id LIMIT 1`.execute(ctx.db)).rows[0]!;
  // the former occupant: its phone gets the electronic bill of December; it pays part of it
  await agreeChannels(ctx, place.id, [{ channel: 'sms', kind: 'mobile', value: FORMER_MOBILE }]);
  await releaseBills(ctx, [{ customerId: place.id, period: '2025-12', amount: '120.00', issuedOn: '2026-01-01', dueDate: '2026-01-16', releasedAt: new Date('2026-01-01T08:00:00+08:00') }]);
  await dunAt('2026-01-01T09:00:00+08:00');
  ctx.clock.set('2026-01-10T10:00:00+08:00');
  await pay(ctx, place.number, '20.00', '2026-01-10', 'former-part');

  // the move-in: a new occupant with its own phone takes the account over
  ctx.clock.set(`${MOVE_IN}T10:00:00+08:00`);
  await recordCustomerChange(ctx.db, ctx.clock.now(), {
    customerId: place.id, type: 'move_in', effectiveOn: MOVE_IN, payload: { newName: '赵新户', contact: { kind: 'mobile', value: NEW_MOBILE } }, recordedBy: 'test',
  });
  await applyDueCustomerChanges(ctx.db, ctx.clock.now(), MOVE_IN);

  // January's bill is issued late, after the move-in: it is still the former occupant's; February's straddles the move-in
  await releaseBills(ctx, [
    { customerId: place.id, period: '2026-01', amount: '95.00', issuedOn: '2026-02-25', dueDate: '2026-03-11', releasedAt: new Date('2026-02-25T08:00:00+08:00') },
    { customerId: place.id, period: '2026-02', amount: '66.60', issuedOn: '2026-03-01', dueDate: '2026-03-16', releasedAt: new Date('2026-03-01T08:00:00+08:00') },
  ]);
  await dunAt('2026-03-01T09:00:00+08:00');
  const numbers = (await sql<{ bill_no: string; period: string }>`SELECT bill_no, period FROM bill WHERE customer_id = ${place.id} ORDER BY period`.execute(ctx.db)).rows;
  bills.former = numbers.filter((b) => b.period < '2026-02').map((b) => b.bill_no);
  bills.own = numbers.find((b) => b.period === '2026-02')!.bill_no;

  const agent = await signIn(app, 'agent.LN0101');
  const issued = await app.inject({ method: 'POST', url: `/api/v1/customers/${place.number}/portal-password`, headers: agent, payload: {} });
  const login = await app.inject({ method: 'POST', url: '/api/v1/auth/customer-login', payload: { number: place.number, password: issued.json().password } });
  expect(login.statusCode, login.body).toBe(200);
  newcomer = { authorization: `Bearer ${login.json().token}` };
});
afterAll(async () => {
  await dispatcher?.stop();
  await channels?.close();
});

const get = async (url: string, headers: Headers) => {
  const res = await app.inject({ url: `/api/v1${url}`, headers });
  expect(res.statusCode, `${url} ${res.body.slice(0, 200)}`).toBe(200);
  return { body: res.body, json: res.json() };
};
const billIdOf = async (billNo: string) => Number((await sql<{ id: number }>`SELECT id FROM bill WHERE bill_no = ${billNo}`.execute(ctx.db)).rows[0]!.id);
/** Nothing of the former occupant: its bill numbers, its payment, its phone (in full or masked). */
const expectNothingFormer = (body: string, what: string) => {
  for (const secret of [...bills.former, 'former-part', FORMER_MOBILE, '139******11']) expect(body.includes(secret), `${what} shows ${secret}`).toBe(false);
};

describe("the new occupant's portal after a move-in", () => {
  it('lists only the bills of its occupancy, and opens no bill of the former occupant', async () => {
    const { body, json } = await get(`/customers/${place.number}/bills`, newcomer);
    expect(json.items.map((b: { billNo: string }) => b.billNo)).toEqual([bills.own]);
    expect(json.total).toBe(1);
    expectNothingFormer(body, 'bills');
    for (const billNo of bills.former) {
      for (const url of [`/api/v1/bills/${await billIdOf(billNo)}`, `/api/v1/bills/${await billIdOf(billNo)}/document`]) {
        const res = await app.inject({ url, headers: newcomer });
        expect([res.statusCode, res.json().code], url).toEqual([403, 'AUTH_FORBIDDEN']);
      }
    }
    expect((await app.inject({ url: `/api/v1/bills/${await billIdOf(bills.own)}/document`, headers: newcomer })).statusCode).toBe(200);
  });

  it('shows a statement of its own bills only, with their totals', async () => {
    const { body, json } = await get(`/customers/${place.number}/statement?asOf=2026-03-01`, newcomer);
    expect(json.lines.map((l: { billNo: string }) => l.billNo)).toEqual([bills.own]);
    expect(json).toMatchObject({ outstanding: '66.60', lateFee: '0.00', totalDue: '66.60', ledgerBalance: '66.60' });
    expectNothingFormer(body, 'statement');
  });

  it("shows a ledger of its own occupancy, its balance starting from the move-in", async () => {
    const { body, json } = await get(`/customers/${place.number}/ledger`, newcomer);
    expect(json.items.map((e: { kind: string; billNo: string | null; balance: string }) => [e.kind, e.billNo, e.balance])).toEqual([['bill', bills.own, '66.60']]);
    expect(json.total).toBe(1);
    expectNothingFormer(body, 'ledger');
  });

  it("shows only the notices about its own bills: none went to the former occupant's phone", async () => {
    const { body, json } = await get(`/customers/${place.number}/notices`, newcomer);
    const items = json.items as { billNo: string; attempts: { recipient: string }[] }[];
    expect(items.length).toBeGreaterThan(0);
    expect(new Set(items.map((n) => n.billNo))).toEqual(new Set([bills.own]));
    expect(items.flatMap((n) => n.attempts.map((a) => a.recipient))).toContain(NEW_MOBILE);
    expectNothingFormer(body, 'notices');
  });

  it("shows the meter's readings from the move-in on, not the former occupant's days", async () => {
    const meter = (await sql<{ id: number; comm_address: string }>`
      SELECT m.id::int AS id, m.comm_address FROM meter m JOIN service_point sp ON sp.meter_id = m.id AND sp.removed_on IS NULL
      WHERE sp.customer_id = ${place.id}`.execute(ctx.db)).rows[0]!;
    await giveReadings(ctx, ['2026-02-18', '2026-02-19', '2026-02-20', '2026-02-21'].map((date, i) => ({ meterId: meter.id, date, total: String(5000 + 10 * i) })));
    const url = `/meters/${meter.comm_address}/readings?from=2026-02-15&to=2026-02-25`;
    const own = (await get(url, newcomer)).json.items as { date: string; usedKwh: string | null }[];
    expect(own.map((r) => r.date)).toEqual(['2026-02-20', '2026-02-21']);
    // the first day of the occupancy has no use of its own: the day before it is the former occupant's
    expect(own[0]!.usedKwh).toBeNull();
    const agent = await signIn(app, 'agent.LN0101');
    expect(((await get(url, agent)).json.items as { date: string }[]).map((r) => r.date)).toEqual(['2026-02-18', '2026-02-19', '2026-02-20', '2026-02-21']);
  });

  it('staff in scope still see the whole account', async () => {
    const agent = await signIn(app, 'agent.LN0101');
    expect((await get(`/customers/${place.number}/bills`, agent)).json.total).toBe(3);
    expect((await get(`/customers/${place.number}/statement?asOf=2026-03-01`, agent)).json.lines).toHaveLength(3);
    const ledger = (await get(`/customers/${place.number}/ledger`, agent)).json.items as { kind: string }[];
    expect(ledger.map((e) => e.kind)).toContain('payment');
    const notices = await get(`/customers/${place.number}/notices`, agent);
    expect(notices.body).toContain(FORMER_MOBILE);
    for (const billNo of bills.former) expect(notices.body).toContain(billNo);
  });
});
