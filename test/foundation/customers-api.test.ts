import { describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { TestContext } from '../support/db.ts';
import { provinceApi, signIn, signInCustomer } from '../support/http.ts';

let ctx: TestContext;
let app: FastifyInstance;

provinceApi({ customers: 3000 }, (c, a) => {
  ctx = c;
  app = a;
});

async function customerInCounty(countyCode: string, offset = 0): Promise<{ number: string; comm_address: string }> {
  const r = await sql<{ number: string; comm_address: string }>`
    SELECT c.number, m.comm_address FROM customer c JOIN service_point sp ON sp.customer_id = c.id JOIN meter m ON m.id = sp.meter_id
    WHERE c.org_path LIKE ${'%/' + countyCode + '/%'} ORDER BY c.number OFFSET ${offset} LIMIT 1`.execute(ctx.db);
  return r.rows[0]!;
}

describe('customer API', () => {
  it('health answers without a token and names the engine', async () => {
    const res = await app.inject('/api/v1/health');
    expect(res.statusCode).toBe(200);
    expect(res.json().engine).toBe(process.env.DATABASE_URL ? 'postgres' : 'pglite');
  });

  it('refuses a call without a token with AUTH_REQUIRED', async () => {
    const res = await app.inject('/api/v1/customers');
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('AUTH_REQUIRED');
  });

  it('finds a customer by number and by meter address', async () => {
    const admin = await signIn(app, 'admin');
    const c = await customerInCounty('LN0101');
    const byNumber = await app.inject({ url: `/api/v1/customers?number=${c.number}`, headers: admin });
    expect(byNumber.json().items.map((x: { number: string }) => x.number)).toEqual([c.number]);
    const byMeter = await app.inject({ url: `/api/v1/customers?meterAddress=${c.comm_address}`, headers: admin });
    expect(byMeter.json().items[0].number).toBe(c.number);
  });

  it("a county-scoped token cannot read another county's customer", async () => {
    const agent = await signIn(app, 'agent.LN0101');
    const own = await customerInCounty('LN0101');
    const other = await customerInCounty('LN0201');
    expect((await app.inject({ url: `/api/v1/customers/${own.number}`, headers: agent })).statusCode).toBe(200);
    const res = await app.inject({ url: `/api/v1/customers/${other.number}`, headers: agent });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('AUTH_FORBIDDEN');
    const search = await app.inject({ url: `/api/v1/customers?number=${other.number}`, headers: agent });
    expect(search.json().total).toBe(0);
  });

  it('masks phone numbers for roles that do not contact customers', async () => {
    const c = (await sql<{ number: string }>`SELECT c.number FROM customer c JOIN contact k ON k.customer_id = c.id AND k.kind = 'mobile' ORDER BY c.number LIMIT 1`.execute(ctx.db)).rows[0]!;
    const analyst = await signIn(app, 'analyst');
    const admin = await signIn(app, 'admin');
    const masked = (await app.inject({ url: `/api/v1/customers/${c.number}`, headers: analyst })).json();
    const full = (await app.inject({ url: `/api/v1/customers/${c.number}`, headers: admin })).json();
    expect(full.contacts.find((k: { kind: string }) => k.kind === 'mobile').value).toMatch(/^1\d{10}$/);
    expect(masked.contacts.find((k: { kind: string }) => k.kind === 'mobile').value).toMatch(/^\d{3}\*+\d{2}$/);
  });

  it('a customer orders its channels and a malformed contact changes nothing', async () => {
    const c = await customerInCounty('LN0101', 3);
    const me = await signInCustomer(app, c.number);
    const before = (await app.inject({ url: `/api/v1/customers/${c.number}`, headers: me })).json();
    const bad = await app.inject({ method: 'PUT', url: `/api/v1/customers/${c.number}/channels`, headers: me, payload: { channels: [{ channel: 'email', value: 'x@y.cn' }, { channel: 'sms', value: '12345' }] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('CUSTOMER_CONTACT_INVALID');
    expect((await app.inject({ url: `/api/v1/customers/${c.number}`, headers: me })).json().channels).toEqual(before.channels);

    const ok = await app.inject({ method: 'PUT', url: `/api/v1/customers/${c.number}/channels`, headers: me, payload: { channels: [{ channel: 'email', value: 'li@example.cn' }, { channel: 'sms', value: '13800001111' }] } });
    expect(ok.statusCode).toBe(200);
    const active = ok.json().channels.filter((a: { withdrawnAt: unknown }) => !a.withdrawnAt);
    expect(active.map((a: { channel: string; priority: number }) => [a.channel, a.priority])).toEqual([['email', 1], ['sms', 2]]);
  });

  it("a customer cannot read another customer's account", async () => {
    const a = await customerInCounty('LN0101', 1);
    const b = await customerInCounty('LN0101', 2);
    const me = await signInCustomer(app, a.number);
    expect((await app.inject({ url: `/api/v1/customers/${b.number}`, headers: me })).statusCode).toBe(403);
  });
});
