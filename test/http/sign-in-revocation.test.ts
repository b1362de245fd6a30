/**
 * Sign-ins that end before their tokens expire: a staff member deactivated (by an administrator through the
 * API, or by SQL), moved to another org or role, and a customer's portal after a new password. This process
 * refuses such a token from the next request; another process serving the API (a second app built from fresh
 * modules: its own token cache) within REVOCATION_POLL_MS.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { signIn, signInCustomer, testApp } from '../support/http.ts';
import { REVOCATION_POLL_MS } from '../../src/platform/index.ts';
import { DEMO_PASSWORD } from '../../src/sim/province.ts';

type Headers = { authorization: string };
let ctx: TestContext;
/** This process's app, and another process's: same database, its own modules and token cache. */
let app: FastifyInstance;
let other: FastifyInstance;
let admin: Headers;
/** Grid managers of the seeded province, one per case. */
let managers: string[];

const get = (a: FastifyInstance, url: string, headers: Headers) => a.inject({ url, headers });
const setActive = (code: string, active: boolean, headers: Headers = admin) =>
  app.inject({ method: 'PATCH', url: `/api/v1/staff/${code}`, headers, payload: { active } });
const pastPoll = () => new Promise((resolve) => setTimeout(resolve, REVOCATION_POLL_MS + 100));
const answer = (res: { statusCode: number; json: () => { code?: string } }) => [res.statusCode, res.statusCode === 200 ? 'ok' : res.json().code];

beforeAll(async () => {
  ctx = await testContext({ customers: 200, now: '2026-03-02T10:00:00+08:00' });
  app = await testApp(ctx);
  vi.resetModules();
  const fresh = (await import('../../src/http/app.ts')) as typeof import('../../src/http/app.ts');
  other = await fresh.buildApp(ctx);
  await other.ready();
  admin = await signIn(app, 'admin');
  managers = (await sql<{ code: string }>`SELECT code FROM staff WHERE role = 'grid_manager' ORDER BY id LIMIT 6`.execute(ctx.db)).rows.map((r) => r.code);
});
afterAll(async () => {
  await other?.close();
  await app?.close();
  await ctx?.drop();
});

describe('a deactivated staff member', () => {
  it("can no longer use a token issued before, from the next request on, and is told the account is inactive", async () => {
    const code = managers[0]!;
    const gm = await signIn(app, code);
    expect(answer(await get(app, '/api/v1/me/tasks', gm))).toEqual([200, 'ok']);

    const res = await setActive(code, false);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ code, active: false, changed: true });
    for (const url of ['/api/v1/me', '/api/v1/me/tasks', '/api/v1/customers']) {
      expect(answer(await get(app, url, gm)), url).toEqual([401, 'AUTH_ACCOUNT_INACTIVE']);
    }
    const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: code, password: DEMO_PASSWORD } });
    expect([login.statusCode, login.json().code]).toEqual([401, 'AUTH_BAD_CREDENTIALS']);
    const audited = await sql<{ actor: string }>`SELECT actor FROM audit_log WHERE action = 'staff.deactivate' AND subject = ${`staff:${code}`}`.execute(ctx.db);
    expect(audited.rows).toHaveLength(1);

    // reactivated, the member signs in again; the old sign-in stays ended
    expect((await setActive(code, true)).json()).toMatchObject({ active: true, changed: true });
    expect(answer(await get(app, '/api/v1/me', gm))).toEqual([401, 'AUTH_ACCOUNT_INACTIVE']);
    expect(answer(await get(app, '/api/v1/me', await signIn(app, code)))).toEqual([200, 'ok']);
  });

  it('deactivated by SQL (an HR import), is refused within the revocation poll', async () => {
    const code = managers[1]!;
    const gm = await signIn(app, code);
    expect(answer(await get(app, '/api/v1/me', gm))).toEqual([200, 'ok']);
    await sql`UPDATE staff SET active = false WHERE code = ${code}`.execute(ctx.db);
    await pastPoll();
    expect(answer(await get(app, '/api/v1/me', gm))).toEqual([401, 'AUTH_ACCOUNT_INACTIVE']);
  });

  it('is refused by another process serving the API within the revocation poll, not the 30 s of its cache', async () => {
    const code = managers[2]!;
    const gm = await signIn(app, code);
    expect(answer(await get(other, '/api/v1/me', gm))).toEqual([200, 'ok']);
    expect((await setActive(code, false)).statusCode).toBe(200);
    await pastPoll();
    expect(answer(await get(other, '/api/v1/me', gm))).toEqual([401, 'AUTH_ACCOUNT_INACTIVE']);
  });

  it('only an administrator deactivates, and never themselves', async () => {
    const code = managers[3]!;
    const clerk = await signIn(app, 'clerk.LN01');
    expect(answer(await setActive(code, false, clerk))).toEqual([403, 'AUTH_FORBIDDEN']);
    expect(answer(await setActive(code, false, await signIn(app, code)))).toEqual([403, 'AUTH_FORBIDDEN']);
    expect(answer(await setActive('admin', false))).toEqual([409, 'STAFF_SELF_DEACTIVATION']);
    expect(answer(await setActive('nobody.here', false))).toEqual([404, 'STAFF_UNKNOWN']);
    const still = await sql<{ n: number }>`SELECT count(*)::int AS n FROM staff WHERE active AND code IN (${code}, 'admin')`.execute(ctx.db);
    expect(still.rows[0]!.n).toBe(2);
  });
});

describe('a staff member whose role or org changed', () => {
  it('signs in again: the old token carried the old scope', async () => {
    const code = managers[4]!;
    const gm = await signIn(app, code);
    const before = (await get(app, '/api/v1/me', gm)).json() as { orgPath: string };
    const elsewhere = await sql<{ id: number; path: string }>`
      SELECT id, path FROM org_unit WHERE level = 'grid' AND path <> ${before.orgPath} ORDER BY id DESC LIMIT 1`.execute(ctx.db);
    await sql`UPDATE staff SET org_id = ${elsewhere.rows[0]!.id} WHERE code = ${code}`.execute(ctx.db);
    await pastPoll();
    expect(answer(await get(app, '/api/v1/me', gm))).toEqual([401, 'AUTH_REQUIRED']);
    const again = (await get(app, '/api/v1/me', await signIn(app, code))).json() as { orgPath: string };
    expect(again.orgPath).toBe(elsewhere.rows[0]!.path);
  });
});

describe('a portal sign-in ended by a new password', () => {
  it('is refused at once here and within the revocation poll by another process', async () => {
    const c = (await sql<{ number: string; org_path: string }>`SELECT number, org_path FROM customer ORDER BY id LIMIT 1`.execute(ctx.db)).rows[0]!;
    const me = await signInCustomer(app, c.number);
    const url = `/api/v1/customers/${c.number}`;
    expect(answer(await get(app, url, me))).toEqual([200, 'ok']);
    expect(answer(await get(other, url, me))).toEqual([200, 'ok']);
    const issued = await app.inject({ method: 'POST', url: `/api/v1/customers/${c.number}/portal-password`, headers: admin, payload: {} });
    expect(issued.statusCode, issued.body).toBe(200);
    expect(answer(await get(app, url, me))).toEqual([401, 'AUTH_REQUIRED']);
    await pastPoll();
    expect(answer(await get(other, url, me))).toEqual([401, 'AUTH_REQUIRED']);
  });
});
