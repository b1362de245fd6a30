/**
 * Billing and dunning runs cover the whole province (a billing run every customer of its cycle, the dunning run
 * every account; neither takes an org): only province-wide staff start them or read a run, a city billing clerk
 * is refused with AUTH_FORBIDDEN and nothing runs.
 */
import { describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { TestContext } from '../support/db.ts';
import { provinceApi, signIn } from '../support/http.ts';
import { releaseBills } from '../dunning/support.ts';

let ctx: TestContext;
let app: FastifyInstance;

const counts = async () => (await sql<{ runs: number; notices: number; audit: number }>`
  SELECT (SELECT count(*) FROM billing_run)::int AS runs, (SELECT count(*) FROM dunning_notice)::int AS notices,
         (SELECT count(*) FROM audit_log WHERE action = 'dunning.run')::int AS audit`.execute(ctx.db)).rows[0]!;

provinceApi({ customers: 200, now: '2026-02-17T09:00:00+08:00' }, async (c, a) => {
  [ctx, app] = [c, a];
  // a released bill in another city than the clerk's: a dunning run would send its electronic bill
  const [other] = (await sql<{ id: number }>`SELECT id::int AS id FROM customer WHERE org_path LIKE '%/LN02/%' ORDER BY id LIMIT 1`.execute(ctx.db)).rows;
  await releaseBills(ctx, [{ customerId: other!.id, period: '2026-01', amount: '50.00', issuedOn: '2026-02-17', dueDate: '2026-03-03', releasedAt: new Date('2026-02-17T08:00:00+08:00') }]);
});

const refused = (res: { statusCode: number; json: () => { code: string } }, what: string) =>
  expect([res.statusCode, res.json().code], what).toEqual([403, 'AUTH_FORBIDDEN']);

describe('province-wide runs', () => {
  it('a city billing clerk starts neither a billing run nor the dunning run, and nothing runs', async () => {
    const clerk = await signIn(app, 'clerk.LN01');
    const before = await counts();
    refused(await app.inject({ method: 'POST', url: '/api/v1/billing/runs', headers: clerk, payload: { cycle: 'C01', period: '2026-01', wait: true } }), 'billing run');
    refused(await app.inject({ method: 'POST', url: '/api/v1/dunning/runs', headers: clerk, payload: { asOf: '2026-02-17' } }), 'dunning run');
    expect(await counts()).toEqual(before);
  });

  it('province-wide staff start them; a billing run is read by province-wide staff only', async () => {
    const admin = await signIn(app, 'admin');
    const run = await app.inject({ method: 'POST', url: '/api/v1/billing/runs', headers: admin, payload: { cycle: 'C01', period: '2026-01', wait: true } });
    expect(run.statusCode, run.body).toBe(200);
    const id = run.json().id as number;
    const dun = await app.inject({ method: 'POST', url: '/api/v1/dunning/runs', headers: admin, payload: { asOf: '2026-02-17' } });
    expect(dun.statusCode, dun.body).toBe(200);
    expect((await counts()).notices).toBeGreaterThan(0);

    for (const who of ['admin', 'analyst']) {
      const res = await app.inject({ url: `/api/v1/billing/runs/${id}`, headers: await signIn(app, who) });
      expect([res.statusCode, res.json().id], who).toEqual([200, id]);
    }
    const clerk = await signIn(app, 'clerk.LN01');
    refused(await app.inject({ url: `/api/v1/billing/runs/${id}`, headers: clerk }), 'a run, read by a city clerk');
    // whether a run exists is the province's business too
    refused(await app.inject({ url: `/api/v1/billing/runs/${id + 1000}`, headers: clerk }), 'an unknown run, read by a city clerk');
    const unknown = await app.inject({ url: `/api/v1/billing/runs/${id + 1000}`, headers: admin });
    expect([unknown.statusCode, unknown.json().code]).toEqual([404, 'BILLING_RUN_UNKNOWN']);
  });
});
