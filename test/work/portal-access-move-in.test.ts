import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { signIn, signInCustomer, testApp } from '../support/http.ts';
import { openTasks } from '../../src/work/index.ts';
import { runBusinessDay } from '../../src/flows/business-day.ts';
import { DEMO_PASSWORD } from '../../src/sim/province.ts';

let ctx: TestContext;
let app: FastifyInstance;
let place: { id: number; number: string; grid: string; orgPath: string };
/** The former occupant's portal sign-in, made before the move-in. */
let former: { authorization: string };

const login = (number: string, password: string) => app.inject({ method: 'POST', url: '/api/v1/auth/customer-login', payload: { number, password } });
const issue = async (number: string, headers: { authorization: string }) =>
  app.inject({ method: 'POST', url: `/api/v1/customers/${number}/portal-password`, headers, payload: {} });
/** What a portal user opens, served by four contexts: the account, its bills, its statement and its notices. */
const portalPages = (number: string) => ['', '/bills', '/statement', '/notices'].map((page) => `/api/v1/customers/${number}${page}`);

beforeAll(async () => {
  ctx = await testContext({ customers: 200, now: '2026-03-02T10:00:00+08:00' });
  app = await testApp(ctx);
  const r = await sql<{ id: number; number: string; grid: string; org_path: string }>`
    SELECT c.id::int AS id, c.number, g.code AS grid, c.org_path FROM customer c JOIN org_unit g ON g.id = c.grid_id
    WHERE c.category = 'residential' ORDER BY c.number LIMIT 1`.execute(ctx.db);
  const x = r.rows[0]!;
  place = { id: x.id, number: x.number, grid: x.grid, orgPath: x.org_path };
  former = await signInCustomer(app, place.number);
});
afterAll(async () => {
  await app?.close();
  await ctx?.drop();
});

describe('portal access when a new occupant moves in', () => {
  it('after the move-in\'s day-end the former occupant can neither sign in nor use the token it holds', async () => {
    for (const url of portalPages(place.number)) expect((await app.inject({ url, headers: former })).statusCode, url).toBe(200);

    // the community manager records the move-in for tomorrow; today's day-end applies it
    const key = 'test:portal:move_in';
    await openTasks(ctx.db, ctx.clock.now(), [{ kind: 'business_change', idempotencyKey: key, title: 'move-in', customerId: place.id, payload: {}, createdBy: 'test' }]);
    const taskId = Number((await sql<{ id: number }>`SELECT id FROM task WHERE idempotency_key = ${key}`.execute(ctx.db)).rows[0]!.id);
    const gm = await signIn(app, `gm.${place.grid}`);
    expect((await app.inject({ method: 'POST', url: `/api/v1/tasks/${taskId}/start`, headers: gm, payload: {} })).statusCode).toBe(200);
    const done = await app.inject({
      method: 'POST', url: `/api/v1/tasks/${taskId}/complete`, headers: gm,
      payload: { outcome: { changeType: 'move_in', effectiveDate: '2026-03-03', newName: '李新', contact: { kind: 'mobile', value: '13700002222' } } },
    });
    expect(done.statusCode, done.body).toBe(200);
    // until the move-in takes effect the occupant is still the former one
    for (const url of portalPages(place.number)) expect((await app.inject({ url, headers: former })).statusCode, url).toBe(200);

    ctx.clock.set('2026-03-02T23:59:00+08:00');
    expect((await runBusinessDay(ctx, '2026-03-02', { billing: false })).customerChanges).toBe(1);

    expect((await login(place.number, DEMO_PASSWORD)).json()).toMatchObject({ code: 'AUTH_BAD_CREDENTIALS' });
    for (const url of portalPages(place.number)) {
      const res = await app.inject({ url, headers: former });
      expect(res.statusCode, url).toBe(401);
      expect(res.json().code, url).toBe('AUTH_REQUIRED');
    }
    const staff = await app.inject({ url: `/api/v1/customers/${place.number}`, headers: await signIn(app, 'admin') });
    expect(staff.json().name).toBe('李新');
  });

  it('staff issue the new occupant a password once; it signs in with it, and a newer one ends that sign-in', async () => {
    const gm = await signIn(app, `gm.${place.grid}`);
    const res = await issue(place.number, gm);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const { password } = res.json() as { password: string };
    expect(password).toMatch(/^[A-Za-z0-9]{12}$/);

    const stored = await sql<{ portal_password_hash: string }>`SELECT portal_password_hash FROM customer WHERE id = ${place.id}`.execute(ctx.db);
    expect(stored.rows[0]!.portal_password_hash).toMatch(/^scrypt:/);
    expect(stored.rows[0]!.portal_password_hash).not.toContain(password);
    const audited = await sql<{ actor: string; detail: unknown }>`
      SELECT actor, detail FROM audit_log WHERE action = 'customer.portal_password.issue' AND subject = ${`customer:${place.number}`}`.execute(ctx.db);
    expect(audited.rows).toHaveLength(1);
    expect(JSON.stringify(audited.rows[0])).not.toContain(password);

    const signedIn = await login(place.number, password);
    expect(signedIn.statusCode, signedIn.body).toBe(200);
    const occupant = { authorization: `Bearer ${signedIn.json().token}` };
    const account = await app.inject({ url: `/api/v1/customers/${place.number}`, headers: occupant });
    expect(account.statusCode).toBe(200);
    expect(account.json().name).toBe('李新');
    expect((await app.inject({ url: `/api/v1/customers/${place.number}`, headers: former })).statusCode).toBe(401);

    // a second password (the first was lost) replaces the first and ends the sign-in made with it
    const again = (await issue(place.number, gm)).json() as { password: string };
    expect(again.password).not.toBe(password);
    expect((await login(place.number, password)).statusCode).toBe(401);
    expect((await app.inject({ url: `/api/v1/customers/${place.number}`, headers: occupant })).statusCode).toBe(401);
    expect((await login(place.number, again.password)).statusCode).toBe(200);
  });

  it('a staff member of another county is refused and the password stays as it was', async () => {
    const r = await sql<{ code: string }>`
      SELECT s.code FROM staff s JOIN org_unit o ON o.id = s.org_id
      WHERE s.role = 'service_agent' AND o.level = 'county' AND ${place.orgPath} NOT LIKE o.path || '%' ORDER BY s.code LIMIT 1`.execute(ctx.db);
    const before = await sql<{ h: string }>`SELECT portal_password_hash AS h FROM customer WHERE id = ${place.id}`.execute(ctx.db);
    const res = await issue(place.number, await signIn(app, r.rows[0]!.code));
    expect(res.statusCode, res.body).toBe(403);
    expect(res.json().code).toBe('AUTH_FORBIDDEN');
    const after = await sql<{ h: string }>`SELECT portal_password_hash AS h FROM customer WHERE id = ${place.id}`.execute(ctx.db);
    expect(after.rows[0]!.h).toBe(before.rows[0]!.h);
  });

  it('a customer cannot issue a portal password, not even for its own account', async () => {
    const other = (await sql<{ number: string }>`SELECT number FROM customer WHERE id <> ${place.id} ORDER BY number LIMIT 1`.execute(ctx.db)).rows[0]!.number;
    const customer = await signInCustomer(app, other);
    for (const number of [other, place.number]) {
      const res = await issue(number, customer);
      expect(res.statusCode, number).toBe(403);
      expect(res.json().code).toBe('AUTH_FORBIDDEN');
    }
  });
});
