import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { buildApp } from '../../src/http/app.ts';
import type { AppContext } from '../../src/platform/index.ts';
import { DEMO_PASSWORD } from '../../src/sim/province.ts';
import { testContext, type TestContext } from './db.ts';

export async function testApp(ctx: AppContext): Promise<FastifyInstance> {
  const app = await buildApp(ctx);
  await app.ready();
  return app;
}

/**
 * A test file's province and the API over it: a fresh database seeded as `opts` asks and the app, built
 * before the file's tests and handed to `use` (which may set up more), closed and dropped after them.
 */
export function provinceApi(opts: Parameters<typeof testContext>[0], use: (ctx: TestContext, app: FastifyInstance) => void | Promise<void>): void {
  let ctx: TestContext | undefined;
  let app: FastifyInstance | undefined;
  beforeAll(async () => {
    ctx = await testContext(opts);
    app = await testApp(ctx);
    await use(ctx, app);
  });
  afterAll(async () => {
    await app?.close();
    await ctx?.drop();
  });
}

/** Sign in as a seeded staff member (codes: admin, analyst, clerk.LN04, agent.LN0401, gm.<grid>, team.<team>.1). */
export async function signIn(app: FastifyInstance, username: string): Promise<{ authorization: string }> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password: DEMO_PASSWORD } });
  if (res.statusCode !== 200) throw new Error(`sign-in as ${username} failed: ${res.body}`);
  return { authorization: `Bearer ${res.json().token}` };
}

export async function signInCustomer(app: FastifyInstance, number: string): Promise<{ authorization: string }> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/customer-login', payload: { number, password: DEMO_PASSWORD } });
  if (res.statusCode !== 200) throw new Error(`customer sign-in ${number} failed: ${res.body}`);
  return { authorization: `Bearer ${res.json().token}` };
}
