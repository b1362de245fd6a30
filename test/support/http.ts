import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.ts';
import type { AppContext } from '../../src/platform/index.ts';
import { DEMO_PASSWORD } from '../../src/sim/province.ts';

export async function testApp(ctx: AppContext): Promise<FastifyInstance> {
  const app = await buildApp(ctx);
  await app.ready();
  return app;
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
