/**
 * What the customer portal offers an account that is closed (moved out), and what a portal user sees of the
 * account's changes when occupants change: only its own occupancy, never the next occupant's contact.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { TestContext } from '../support/db.ts';
import { provinceApi, signIn, signInCustomer } from '../support/http.ts';
import { applyDueCustomerChanges, recordCustomerChange } from '../../src/customers/index.ts';
import { agreeChannels, releaseBills } from '../dunning/support.ts';

type Headers = { authorization: string };
let ctx: TestContext;
let app: FastifyInstance;

const residents = async (n: number) => (await sql<{ id: number; number: string }>`
  SELECT c.id::int AS id, c.number FROM customer c
  WHERE c.kind = 'residential' AND c.org_path LIKE '%/LN0101/%' ORDER BY c.id LIMIT ${n}`.execute(ctx.db)).rows;
const agreed = async (customerId: number) => (await sql<{ channel: string; contact_id: number }>`
  SELECT channel, contact_id::int FROM channel_agreement WHERE customer_id = ${customerId} AND withdrawn_at IS NULL ORDER BY priority`.execute(ctx.db)).rows;

provinceApi({ customers: 200, now: '2026-03-02T10:00:00+08:00' }, (c, a) => {
  ctx = c;
  app = a;
});

describe('a closed (moved-out) account in the portal', () => {
  let closed: { id: number; number: string };
  let me: Headers;
  beforeAll(async () => {
    [closed] = (await residents(1)) as [{ id: number; number: string }];
    await agreeChannels(ctx, closed.id, [{ channel: 'sms', kind: 'mobile', value: '13900001111' }]);
    await releaseBills(ctx, [{ customerId: closed.id, period: '2026-01', amount: '88.20', issuedOn: '2026-02-01', dueDate: '2026-02-16', releasedAt: new Date('2026-02-01T08:00:00+08:00') }]);
    me = await signInCustomer(app, closed.number);
    await sql`UPDATE customer SET status = 'closed' WHERE id = ${closed.id}`.execute(ctx.db);
  });

  it('still shows its account, bills, statement, ledger and notices', async () => {
    for (const page of ['', '/bills', '/statement', '/ledger', '/notices']) {
      const res = await app.inject({ url: `/api/v1/customers/${closed.number}${page}`, headers: me });
      expect(res.statusCode, `${page} ${res.body.slice(0, 200)}`).toBe(200);
    }
    const signedIn = await signInCustomer(app, closed.number);
    expect((await app.inject({ url: `/api/v1/customers/${closed.number}`, headers: signedIn })).json().status).toBe('closed');
  });

  it('takes the payment of its final debt', async () => {
    const res = await app.inject({
      method: 'POST', url: '/api/v1/payments', headers: me,
      payload: { channel: 'portal', reference: 'closed-final-1', customerNumber: closed.number, amount: '88.20', currency: 'CNY' },
    });
    expect(res.statusCode, res.body).toBe(201);
  });

  it('agrees no channels any more (the final debt is chased where staff set), and changes nothing', async () => {
    const before = await agreed(closed.id);
    for (const channels of [[], [{ channel: 'email', value: 'gone@example.cn' }]]) {
      const res = await app.inject({ method: 'PUT', url: `/api/v1/customers/${closed.number}/channels`, headers: me, payload: { channels } });
      expect([res.statusCode, res.json().code], JSON.stringify(channels)).toEqual([409, 'CUSTOMER_CLOSED']);
    }
    expect(await agreed(closed.id)).toEqual(before);
    // staff still correct where the final debt is chased
    const agent = await signIn(app, 'agent.LN0101');
    const staff = await app.inject({ method: 'PUT', url: `/api/v1/customers/${closed.number}/channels`, headers: agent, payload: { channels: [{ channel: 'sms', value: '13900002222' }] } });
    expect(staff.statusCode, staff.body).toBe(200);
  });

  it('gets no new portal password', async () => {
    const res = await app.inject({ method: 'POST', url: `/api/v1/customers/${closed.number}/portal-password`, headers: await signIn(app, 'admin'), payload: {} });
    expect([res.statusCode, res.json().code]).toEqual([409, 'CUSTOMER_CLOSED']);
  });
});

describe("a portal user and the account's changes", () => {
  it("the leaving occupant sees that a move-in is due, not the newcomer's name or contact; the newcomer sees only its own occupancy", async () => {
    const [, place] = (await residents(2)) as [unknown, { id: number; number: string }];
    const at = ctx.clock.now();
    await recordCustomerChange(ctx.db, at, { customerId: place.id, type: 'name', effectiveOn: '2026-02-20', payload: { newName: '王旧名' }, recordedBy: 'test' });
    await applyDueCustomerChanges(ctx.db, at, '2026-03-02');
    await recordCustomerChange(ctx.db, at, {
      customerId: place.id, type: 'move_in', effectiveOn: '2026-03-05', payload: { newName: '赵新户', contact: { kind: 'mobile', value: '13711112222' } }, recordedBy: 'test',
    });
    const leaving = await signInCustomer(app, place.number);
    const seen = (await app.inject({ url: `/api/v1/customers/${place.number}`, headers: leaving })).json() as { changes: Record<string, unknown>[] };
    expect(seen.changes.map((x) => x.type)).toEqual(['name', 'move_in']);
    expect(seen.changes[1]).toMatchObject({ type: 'move_in', effectiveOn: '2026-03-05', appliedAt: null });
    expect(JSON.stringify(seen.changes)).not.toMatch(/赵新户|13711112222|137\*+22/);
    // staff in scope see the recorded move-in as it is
    const agent = await signIn(app, 'agent.LN0101');
    const staffView = (await app.inject({ url: `/api/v1/customers/${place.number}`, headers: agent })).json() as { changes: Record<string, unknown>[] };
    expect(staffView.changes[1]).toMatchObject({ newName: '赵新户', contact: { value: '13711112222' } });

    await applyDueCustomerChanges(ctx.db, ctx.clock.now(), '2026-03-05');
    const issued = await app.inject({ method: 'POST', url: `/api/v1/customers/${place.number}/portal-password`, headers: agent, payload: {} });
    const login = await app.inject({ method: 'POST', url: '/api/v1/auth/customer-login', payload: { number: place.number, password: issued.json().password } });
    const newcomer = { authorization: `Bearer ${login.json().token}` };
    const own = (await app.inject({ url: `/api/v1/customers/${place.number}`, headers: newcomer })).json() as { name: string; changes: Record<string, unknown>[] };
    expect(own.name).toBe('赵新户');
    expect(own.changes).toHaveLength(1);
    expect(own.changes[0]).toMatchObject({ type: 'move_in', newName: '赵新户', contact: { value: '13711112222' } });
    expect(own.changes[0]).not.toHaveProperty('oldName');
    expect(own.changes[0]).not.toHaveProperty('formerContactIds');
    expect(JSON.stringify(own)).not.toContain('王旧名');
  });
});
