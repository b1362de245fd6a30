/**
 * Authentication and org-scope audit of the whole HTTP API, driven by the app's own route table:
 * every route is either on the public list below or refuses a caller without a valid token; staff of one
 * county cannot read or change another county's data; a customer sees only its own account; roles
 * may only do what the permission table in src/platform/auth.ts gives them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { signIn as signInFresh, signInCustomer } from '../support/http.ts';
import { buildApp } from '../../src/http/app.ts';
import { issueToken } from '../../src/platform/index.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import { registerCallbackChannels } from '../../src/dunning/dispatch/registry.ts';
import { createVoiceChannel } from '../../src/dunning/channels/index.ts';
import { signedHeaders } from '../../src/dunning/channels/signed-http.ts';
import { agreeChannels, pay, releaseBills } from '../dunning/support.ts';
import { giveReadings } from '../billing/builders.ts';

/**
 * The API routes any caller may reach without a token, and why:
 * - health: load balancers and the status page probe it;
 * - login and customer login: they hand out the tokens;
 * - provider callbacks: the IVR platform, the cable operator and the email service post delivery
 *   outcomes unauthenticated, each request signed with HMAC over timestamp and body (checked below).
 * Outside /api/ every route is public by nature: the OpenAPI docs (/docs...) and the web app's files.
 */
const PUBLIC_API = new Set([
  'GET /api/v1/health',
  'HEAD /api/v1/health',
  'POST /api/v1/auth/login',
  'POST /api/v1/auth/customer-login',
  'POST /api/v1/channels/callbacks/:channel',
]);

type Headers = { authorization: string };
const signedIn = new Map<string, Promise<Headers>>();
/** One token per staff member for the whole file (sign-in hashes a password: slow on purpose). */
const signIn = (a: FastifyInstance, who: string) => {
  if (!signedIn.has(who)) signedIn.set(who, signInFresh(a, who));
  return signedIn.get(who)!;
};
interface Party { id: number; number: string; meterAddress: string; assetNo: string; billId: number; paymentId: number; taskId: number; orderId: number; connectionId: number }

let ctx: TestContext;
let app: FastifyInstance;
const routes: RouteOptions[] = [];
let A: Party; // a customer of county LN0101 (city LN01)
let B: Party; // a customer of county LN0201 (city LN02)
const READ_DAY = '2026-02-10';

async function customerIn(county: string): Promise<{ id: number; number: string; meterAddress: string; assetNo: string }> {
  const r = await sql<{ id: number; number: string; comm_address: string; asset_no: string }>`
    SELECT c.id::int AS id, c.number, m.comm_address, m.asset_no FROM customer c
    JOIN service_point sp ON sp.customer_id = c.id AND sp.removed_on IS NULL JOIN meter m ON m.id = sp.meter_id
    WHERE c.org_path LIKE ${`%/${county}/%`} AND c.kind = 'residential' ORDER BY c.id LIMIT 1`.execute(ctx.db);
  const x = r.rows[0]!;
  return { id: Number(x.id), number: x.number, meterAddress: x.comm_address, assetNo: x.asset_no };
}

const one = async (q: ReturnType<typeof sql<{ id: number }>>) => Number((await q.execute(ctx.db)).rows[0]!.id);

async function party(county: string, grid: string): Promise<Party> {
  const c = await customerIn(county);
  const agent = await signIn(app, `agent.${county}`);
  const order = await app.inject({
    method: 'POST', url: '/api/v1/orders', headers: agent,
    payload: { externalRef: `AUD-${county}`, kind: 'consultation', customerNumber: c.number, callerName: 'Audit', callerPhone: '13800000000', description: 'audit' },
  });
  expect(order.statusCode, order.body).toBe(201);
  const conn = await app.inject({
    method: 'POST', url: '/api/v1/connections', headers: agent,
    payload: { externalRef: `AUD-C-${county}`, type: 'residential', applicantName: 'Audit', address: 'somewhere 1', category: 'residential', tariffCode: 'RES-TIER', capacityKva: 8, orgCode: grid },
  });
  expect(conn.statusCode, conn.body).toBe(201);
  return {
    ...c,
    billId: await one(sql<{ id: number }>`SELECT id FROM bill WHERE customer_id = ${c.id} ORDER BY id LIMIT 1`),
    paymentId: await one(sql<{ id: number }>`SELECT id FROM payment WHERE customer_id = ${c.id} ORDER BY id LIMIT 1`),
    taskId: await one(sql<{ id: number }>`SELECT id FROM task WHERE customer_id = ${c.id} ORDER BY id LIMIT 1`),
    orderId: order.json().id,
    connectionId: conn.json().id,
  };
}

beforeAll(async () => {
  ctx = await testContext({ customers: 200, now: '2026-02-17T09:00:00+08:00' });
  app = await buildApp(ctx, { onRoute: (r) => void routes.push(r) });
  await app.ready();
  const a = await customerIn('LN0101');
  const b = await customerIn('LN0201');
  const meters = (await sql<{ id: number }>`SELECT meter_id AS id FROM service_point WHERE customer_id IN (${a.id}, ${b.id})`.execute(ctx.db)).rows;
  await giveReadings(ctx, meters.flatMap((m) => [{ meterId: Number(m.id), date: READ_DAY, total: '1000' }, { meterId: Number(m.id), date: '2026-02-11', total: '1010' }]));
  await releaseBills(ctx, [a, b].map((c) => ({
    customerId: c.id, period: '2026-01', amount: '120.50', issuedOn: '2026-02-01', dueDate: '2026-02-16', releasedAt: new Date('2026-02-01T08:00:00+08:00'),
  })));
  await pay(ctx, a.number, '20.00', '2026-02-10', 'audit-a');
  await pay(ctx, b.number, '20.00', '2026-02-10', 'audit-b');
  // no agreed channel: the dunning run writes a no-channel notice and opens a manual collection task at once
  for (const c of [a, b]) await agreeChannels(ctx, c.id, []);
  await runDunning(ctx, '2026-02-17');
  A = await party('LN0101', 'LN0101S01G01');
  B = await party('LN0201', 'LN0201S01G01');
}, 180_000);
afterAll(async () => {
  await app?.close();
  await ctx?.drop();
});

/** A concrete URL for a route pattern, with B's ids for its parameters. */
function concrete(url: string): string {
  const values: Record<string, string> = {
    number: B?.number ?? '2100000001', id: String(B?.billId ?? 1), code: 'LN0201', assetNo: B?.assetNo ?? 'X', address: B?.meterAddress ?? '0',
    date: READ_DAY, step: 'survey', channel: 'voice',
  };
  return url.replace(/:(\w+)/g, (_m, k: string) => values[k] ?? 'x').replace(/\*$/, 'x');
}

const methodsOf = (r: RouteOptions) => (Array.isArray(r.method) ? r.method : [r.method]);

describe('the route table', () => {
  it('has exactly the listed public API routes; everything else outside /api/ is docs or the web app', () => {
    const api = routes.filter((r) => r.url.startsWith('/api/'));
    expect(api.length).toBeGreaterThan(60);
    const publicApi = api.filter((r) => r.config?.public).flatMap((r) => methodsOf(r).map((m) => `${m} ${r.url}`));
    expect(new Set(publicApi)).toEqual(PUBLIC_API);
    const other = routes.filter((r) => !r.url.startsWith('/api/'));
    for (const r of other) {
      expect(methodsOf(r).every((m) => m === 'GET' || m === 'HEAD'), `${r.url} only reads`).toBe(true);
      expect(r.url === '/' || r.url.startsWith('/docs') || r.url === '/index.html' || r.url.startsWith('/assets/'), r.url).toBe(true);
    }
  });

  it('every non-public API route answers 401 AUTH_REQUIRED without a token, with a malformed one and with an expired one', async () => {
    const expired = await issueToken(ctx.db, { kind: 'staff', id: 1, name: 'admin', role: 'admin', orgId: null, orgPath: '/' }, -1);
    const tokens: (Headers | Record<string, never>)[] = [{}, { authorization: 'Bearer not-a-token' }, { authorization: 'Basic YWRtaW46eA==' }, { authorization: `Bearer ${expired}` }];
    const checked: string[] = [];
    for (const r of routes.filter((x) => x.url.startsWith('/api/'))) {
      for (const method of methodsOf(r)) {
        if (PUBLIC_API.has(`${method} ${r.url}`)) continue;
        for (const headers of tokens) {
          const res = await app.inject({ method, url: concrete(r.url), headers, ...(method === 'GET' || method === 'HEAD' ? {} : { payload: {} }) });
          expect(res.statusCode, `${method} ${r.url} ${JSON.stringify(headers)}`).toBe(401);
          if (method !== 'HEAD') expect(res.json().code, `${method} ${r.url}`).toBe('AUTH_REQUIRED');
        }
        checked.push(`${method} ${r.url}`);
      }
    }
    expect(checked.length).toBeGreaterThan(90);
  });

  it('a route reached through a percent-encoded path is authenticated like the plain one', async () => {
    const admin = await signIn(app, 'admin');
    const plain = await app.inject({ url: '/api/v1/me', headers: admin });
    expect(plain.statusCode).toBe(200);
    const encoded = await app.inject({ url: '/%61pi/v1/me', headers: admin });
    expect(encoded.statusCode).toBe(200);
    expect(encoded.json()).toEqual(plain.json());
    expect((await app.inject({ url: '/%61pi/v1/me' })).statusCode).toBe(401);
  });

  it('the public routes answer without a token; a provider callback with a bad or missing signature is refused', async () => {
    expect((await app.inject('/api/v1/health')).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password: 'wrong' } })).json().code).toBe('AUTH_BAD_CREDENTIALS');
    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/customer-login', payload: { number: A.number, password: 'wrong' } })).json().code).toBe('AUTH_BAD_CREDENTIALS');
    const secret = 'audit-secret';
    const voice = createVoiceChannel({ endpoint: 'http://127.0.0.1:9', secret, callbackUrl: 'http://127.0.0.1:9/cb' });
    const unregister = registerCallbackChannels(ctx, [voice]);
    try {
      const body = JSON.stringify({ providerMessageId: 'p-1', outcome: 'answered' });
      const url = '/api/v1/channels/callbacks/voice';
      const unsigned = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: body });
      expect([unsigned.statusCode, unsigned.json().code]).toEqual([401, 'CHANNEL_SIGNATURE_MISSING']);
      const forged = await app.inject({ method: 'POST', url, headers: signedHeaders('not-the-secret', body, new Date()), payload: body });
      expect([forged.statusCode, forged.json().code]).toEqual([401, 'CHANNEL_SIGNATURE_INVALID']);
      const tampered = await app.inject({ method: 'POST', url, headers: signedHeaders(secret, body, new Date()), payload: body.replace('answered', 'failed') });
      expect([tampered.statusCode, tampered.json().code]).toEqual([401, 'CHANNEL_SIGNATURE_INVALID']);
      const stale = await app.inject({ method: 'POST', url, headers: signedHeaders(secret, body, new Date(Date.now() - 3600_000)), payload: body });
      expect([stale.statusCode, stale.json().code]).toEqual([401, 'CHANNEL_SIGNATURE_EXPIRED']);
      const good = await app.inject({ method: 'POST', url, headers: signedHeaders(secret, body, new Date()), payload: body });
      expect(good.statusCode).not.toBe(401);
    } finally {
      unregister();
    }
    const unknown = await app.inject({ method: 'POST', url: '/api/v1/channels/callbacks/sms', headers: { 'content-type': 'application/json' }, payload: '{}' });
    expect([unknown.statusCode, unknown.json().code]).toEqual([404, 'CHANNEL_UNKNOWN']);
  });
});

/** Refused with a stable code, and nothing of B's in the answer. */
function refused(res: { statusCode: number; body: string; json: () => { code: string } }, what: string): void {
  expect([403, 404], `${what}: ${res.statusCode} ${res.body.slice(0, 200)}`).toContain(res.statusCode);
  expect(res.json().code, what).toMatch(/^(AUTH_FORBIDDEN|[A-Z]+(_[A-Z]+)*_UNKNOWN)$/);
  for (const secret of [B.number, 'LN0201S01']) expect(res.body.includes(secret), `${what} leaks ${secret}`).toBe(false);
}

type Call = [method: 'GET' | 'POST' | 'PUT', url: string, payload?: object];

describe('org scope: county LN0101 staff and B (county LN0201)', () => {
  const reads = (): Call[] => [
    ['GET', `/api/v1/customers/${B.number}`],
    ['GET', `/api/v1/customers/${B.number}/bills`],
    ['GET', `/api/v1/customers/${B.number}/statement`],
    ['GET', `/api/v1/customers/${B.number}/ledger`],
    ['GET', `/api/v1/customers/${B.number}/notices`],
    ['GET', `/api/v1/bills/${B.billId}`],
    ['GET', `/api/v1/bills/${B.billId}/document`],
    ['GET', `/api/v1/payments/${B.paymentId}`],
    ['GET', `/api/v1/payments?customerNumber=${B.number}`],
    ['GET', `/api/v1/dunning/escalations?customer=${B.number}`],
    ['GET', `/api/v1/meters/${B.meterAddress}/readings?from=2026-02-01&to=2026-02-15`],
    ['GET', `/api/v1/meters/${B.meterAddress}/readings/${READ_DAY}/edits`],
    ['GET', `/api/v1/tasks/${B.taskId}`],
    ['GET', `/api/v1/orders/${B.orderId}`],
    ['GET', `/api/v1/connections/${B.connectionId}`],
    ['GET', '/api/v1/org/LN0201/children'],
    ['GET', '/api/v1/org/tree?root=LN0201'],
    ['GET', '/api/v1/kpis?org=LN0201'],
    ['GET', '/api/v1/kpis/children?org=LN0201'],
    ['GET', '/api/v1/kpis/teams?org=LN0201'],
    ['GET', '/api/v1/metering/success?org=LN0201'],
    ['GET', '/api/v1/metering/unread?org=LN0201'],
  ];

  it.each(['agent.LN0101', 'clerk.LN01', 'gm.LN0101S01G01', 'team.LN0101T01.1'])(
    '%s reads nothing of B', async (who) => {
      const h = await signIn(app, who);
      for (const [method, url] of reads()) refused(await app.inject({ method, url, headers: h }), `${who} ${method} ${url}`);
    });

  it("B's own county agent reads every one of them (the ids are right)", async () => {
    const h = await signIn(app, 'agent.LN0201');
    for (const [method, url] of reads()) {
      const res = await app.inject({ method, url, headers: h });
      expect(res.statusCode, `${method} ${url} ${res.body.slice(0, 200)}`).toBe(200);
    }
  });

  it('the same staff do read their own county (the refusals above are about scope)', async () => {
    const agent = await signIn(app, 'agent.LN0101');
    for (const url of [`/api/v1/customers/${A.number}`, `/api/v1/bills/${A.billId}`, `/api/v1/payments/${A.paymentId}`, `/api/v1/customers/${A.number}/notices`,
      `/api/v1/tasks/${A.taskId}`, `/api/v1/orders/${A.orderId}`, `/api/v1/connections/${A.connectionId}`, `/api/v1/meters/${A.meterAddress}/readings?from=2026-02-01&to=2026-02-15`]) {
      const res = await app.inject({ url, headers: agent });
      expect(res.statusCode, `${url} ${res.body.slice(0, 200)}`).toBe(200);
    }
  });

  it("lists show nothing of another county's", async () => {
    const lists: [string, string][] = [
      ['agent.LN0101', '/api/v1/customers?limit=500'], ['agent.LN0101', `/api/v1/customers?number=${B.number}`], ['agent.LN0101', `/api/v1/customers?meterAddress=${B.meterAddress}`],
      ['agent.LN0101', '/api/v1/payments?limit=500'], ['agent.LN0101', '/api/v1/payments/arrears'], ['agent.LN0101', '/api/v1/dunning/notices?limit=500'],
      ['agent.LN0101', '/api/v1/dunning/escalations?limit=500'], ['agent.LN0101', '/api/v1/dunning/channel-health?from=2026-02-01&to=2026-02-17'],
      ['agent.LN0101', '/api/v1/tasks?limit=500'], ['agent.LN0101', '/api/v1/tasks?grid=LN0201S01G01&limit=500'], ['agent.LN0101', '/api/v1/orders?limit=500'],
      ['agent.LN0101', '/api/v1/connections?limit=500'], ['agent.LN0101', '/api/v1/meters?limit=500'], ['agent.LN0101', '/api/v1/meters/rotation-due?limit=500'],
      ['agent.LN0101', '/api/v1/readings/quarantine?limit=500'], ['agent.LN0101', '/api/v1/metering/unread?limit=500'], ['agent.LN0101', '/api/v1/metering/vee-flags?limit=500'],
      ['agent.LN0101', '/api/v1/metering/reread-tasks'], ['agent.LN0101', '/api/v1/teams'], ['agent.LN0101', '/api/v1/org/tree?maxLevel=grid'],
      ['clerk.LN01', '/api/v1/billing/review?limit=500'], ['gm.LN0101S01G01', '/api/v1/me/tasks?all=true&limit=500'], ['team.LN0101T01.1', '/api/v1/me/tasks?all=true&limit=500'],
    ];
    for (const [who, url] of lists) {
      const res = await app.inject({ url, headers: await signIn(app, who) });
      expect(res.statusCode, `${who} ${url} ${res.body.slice(0, 200)}`).toBe(200);
      for (const secret of [B.number, 'LN0201', '/LN02/']) expect(res.body.includes(secret), `${who} ${url} shows ${secret}`).toBe(false);
    }
  });

  it("changes nothing of B's", async () => {
    const writes: [string, Call][] = [
      ['clerk.LN01', ['POST', `/api/v1/bills/${B.billId}/release`, {}]],
      ['clerk.LN01', ['POST', `/api/v1/bills/${B.billId}/void`, { reason: 'audit' }]],
      ['clerk.LN01', ['POST', `/api/v1/bills/${B.billId}/correct`, { reason: 'audit', totalKwh: '1' }]],
      ['clerk.LN01', ['POST', `/api/v1/payments/${B.paymentId}/reversal`, { reason: 'audit' }]],
      ['clerk.LN01', ['POST', `/api/v1/tasks/${B.taskId}/reassign`, { staffCode: 'gm.LN0101S01G01' }]],
      ['clerk.LN01', ['POST', `/api/v1/tasks/${B.taskId}/cancel`, {}]],
      ['clerk.LN01', ['POST', '/api/v1/staff-absences', { staffCode: 'gm.LN0201S01G01', fromDate: '2026-02-17', toDate: '2026-02-18', reason: 'audit' }]],
      ['agent.LN0101', ['POST', '/api/v1/payments', { channel: 'service_hall', reference: 'aud-x1', customerNumber: B.number, amount: '1.00', currency: 'CNY' }]],
      ['agent.LN0101', ['POST', `/api/v1/tasks/${B.taskId}/accept`, {}]],
      ['agent.LN0101', ['POST', `/api/v1/tasks/${B.taskId}/complete`, { outcome: {} }]],
      ['agent.LN0101', ['POST', `/api/v1/orders/${B.orderId}/resolve`, { resolution: 'x' }]],
      ['agent.LN0101', ['POST', `/api/v1/orders/${B.orderId}/close`, { satisfaction: 5 }]],
      ['agent.LN0101', ['POST', '/api/v1/orders', { externalRef: 'AUD-X', kind: 'consultation', customerNumber: B.number, callerName: 'x', callerPhone: '13800000000', description: 'x' }]],
      ['agent.LN0101', ['POST', '/api/v1/orders', { externalRef: 'AUD-Y', kind: 'chaser', parentOrderId: B.orderId, callerName: 'x', callerPhone: '13800000000', description: 'x' }]],
      ['agent.LN0101', ['POST', `/api/v1/connections/${B.connectionId}/steps/survey/complete`, {}]],
      ['agent.LN0101', ['POST', `/api/v1/connections/${B.connectionId}/steps/survey/hand-in`, {}]],
      ['agent.LN0101', ['PUT', `/api/v1/customers/${B.number}/channels`, { channels: [] }]],
      ['gm.LN0101S01G01', ['POST', `/api/v1/orders/${B.orderId}/arrive`, {}]],
      ['gm.LN0101S01G01', ['POST', '/api/v1/payments', { channel: 'grid_manager', reference: 'aud-x2', customerNumber: B.number, amount: '1.00', currency: 'CNY' }]],
      ['team.LN0101T01.1', ['POST', `/api/v1/meters/${B.meterAddress}/manual-reading`, { date: '2026-02-12', total: '1020' }]],
      ['team.LN0101T01.1', ['POST', `/api/v1/meters/${B.meterAddress}/readings/${READ_DAY}/edit`, { reason: 'audit edit', total: '999' }]],
      ['team.LN0101T01.1', ['POST', `/api/v1/meters/${B.assetNo}/events`, { event: 'scrapped', place: 'x' }]],
      ['team.LN0101T01.1', ['POST', `/api/v1/tasks/${B.taskId}/start`, {}]],
    ];
    writes.push(['team.LN0101T01.1', ['POST', '/api/v1/meters', { assetNo: 'AUD00002', commAddress: '999999999998', meterType: 'single_phase', manufacturedOn: '2025-01-01', place: 'x', orgCode: 'LN0201' }]]);
    const before = await snapshot();
    for (const [who, [method, url, payload]] of writes) {
      refused(await app.inject({ method, url, payload, headers: await signIn(app, who) }), `${who} ${method} ${url}`);
    }
    expect(await snapshot()).toEqual(before);
    // a batch of readings for B's meter, sent by county LN0101's team, is quarantined as out of scope
    const team = await signIn(app, 'team.LN0101T01.1');
    const ingest = await app.inject({ method: 'POST', url: '/api/v1/readings', headers: team, payload: [{ meter: B.meterAddress, date: '2026-02-13', total: '1234' }] });
    expect(ingest.statusCode, ingest.body).toBe(200);
    const stored = await sql<{ n: number }>`SELECT count(*)::int AS n FROM v_meter_reading r JOIN meter m ON m.id = r.meter_id WHERE m.comm_address = ${B.meterAddress} AND r.reading_date = '2026-02-13'`.execute(ctx.db);
    expect(stored.rows[0]!.n, ingest.body).toBe(0);
  });
});

/** What a refused write must not have touched. */
async function snapshot() {
  return (await sql`
    SELECT (SELECT json_agg(json_build_object('s', status, 'a', amount) ORDER BY id) FROM bill WHERE customer_id = ${B.id}) AS bills,
           (SELECT count(*)::int FROM payment WHERE customer_id = ${B.id}) AS payments,
           (SELECT json_agg(json_build_object('s', status, 'a', assignee_staff_id) ORDER BY id) FROM task WHERE customer_id = ${B.id}) AS tasks,
           (SELECT json_agg(status ORDER BY id) FROM service_order WHERE customer_id = ${B.id}) AS orders,
           (SELECT count(*)::int FROM service_order) AS all_orders,
           (SELECT count(*)::int FROM audit_log) AS audit`.execute(ctx.db)).rows[0];
}

describe('a customer sees only its own account', () => {
  it("customer A reads its own bills, payments, notices and readings, and none of B's", async () => {
    const me = await signInCustomer(app, A.number);
    for (const url of [`/api/v1/customers/${A.number}`, `/api/v1/customers/${A.number}/bills`, `/api/v1/customers/${A.number}/statement`, `/api/v1/customers/${A.number}/ledger`,
      `/api/v1/customers/${A.number}/notices`, `/api/v1/bills/${A.billId}`, `/api/v1/meters/${A.meterAddress}/readings?from=2026-02-01&to=2026-02-15`]) {
      const res = await app.inject({ url, headers: me });
      expect(res.statusCode, `${url} ${res.body.slice(0, 200)}`).toBe(200);
    }
    const theirs: Call[] = [
      ['GET', `/api/v1/customers/${B.number}`], ['GET', `/api/v1/customers/${B.number}/bills`], ['GET', `/api/v1/customers/${B.number}/statement`],
      ['GET', `/api/v1/customers/${B.number}/ledger`], ['GET', `/api/v1/customers/${B.number}/notices`], ['GET', `/api/v1/bills/${B.billId}`],
      ['GET', `/api/v1/bills/${B.billId}/document?format=pdf`], ['GET', `/api/v1/payments/${B.paymentId}`], ['GET', `/api/v1/payments?customerNumber=${B.number}`],
      ['GET', `/api/v1/meters/${B.meterAddress}/readings?from=2026-02-01&to=2026-02-15`], ['GET', `/api/v1/meters/${B.meterAddress}/readings/${READ_DAY}/edits`],
      ['GET', `/api/v1/meters/${B.assetNo}`], ['GET', `/api/v1/dunning/escalations?customer=${B.number}`],
      ['PUT', `/api/v1/customers/${B.number}/channels`, { channels: [] }],
      ['POST', '/api/v1/payments', { channel: 'portal', reference: 'aud-c1', customerNumber: B.number, amount: '1.00', currency: 'CNY' }],
    ];
    for (const [method, url, payload] of theirs) refused(await app.inject({ method, url, payload, headers: me }), `customer ${method} ${url}`);
  });

  it("a customer does not see the readings its meter took for the previous occupant", async () => {
    // C's meter served D until 2026-02-11 (a re-used meter): the readings before then are D's
    const c = (await sql<{ id: number; number: string; meter_id: number; comm_address: string }>`
      SELECT c.id::int AS id, c.number, m.id::int AS meter_id, m.comm_address FROM customer c
      JOIN service_point sp ON sp.customer_id = c.id AND sp.removed_on IS NULL JOIN meter m ON m.id = sp.meter_id
      WHERE c.org_path LIKE '%/LN0101/%' AND c.id <> ${A.id} AND c.kind = 'residential' ORDER BY c.id LIMIT 2`.execute(ctx.db)).rows;
    const [C, D] = [c[0]!, c[1]!];
    await sql`UPDATE service_point SET installed_on = '2026-02-11' WHERE customer_id = ${C.id} AND removed_on IS NULL`.execute(ctx.db);
    await sql`INSERT INTO service_point (id, customer_id, meter_id, installed_on, removed_on)
              VALUES (nextval('service_point_id_seq'), ${D.id}, ${C.meter_id}, '2025-01-01', '2026-02-11')`.execute(ctx.db);
    await giveReadings(ctx, ['2026-02-09', '2026-02-10', '2026-02-11', '2026-02-12'].map((date, i) => ({ meterId: C.meter_id, date, total: String(500 + i * 7) })));
    const me = await signInCustomer(app, C.number);
    const res = await app.inject({ url: `/api/v1/meters/${C.comm_address}/readings?from=2026-02-01&to=2026-02-15`, headers: me });
    expect(res.statusCode).toBe(200);
    const items = res.json().items as { date: string; usedKwh: string | null }[];
    expect(items.map((x) => x.date)).toEqual(['2026-02-11', '2026-02-12']);
    // the first day's use would be the previous occupant's last day
    expect(items[0]!.usedKwh).toBeNull();
    refused(await app.inject({ url: `/api/v1/meters/${C.comm_address}/readings/2026-02-10/edits`, headers: me }), 'edits of a day before move-in');
    expect((await app.inject({ url: `/api/v1/meters/${C.comm_address}/readings/2026-02-12/edits`, headers: me })).statusCode).toBe(200);
    // staff in scope still see the meter's whole history
    const agent = await signIn(app, 'agent.LN0101');
    const all = await app.inject({ url: `/api/v1/meters/${C.comm_address}/readings?from=2026-02-01&to=2026-02-15`, headers: agent });
    expect(all.json().items.map((x: { date: string }) => x.date)).toContain('2026-02-10');
  });

  it('a customer reaches no staff list or action', async () => {
    const me = await signInCustomer(app, A.number);
    for (const [method, url, payload] of [
      ['GET', '/api/v1/customers'], ['GET', '/api/v1/payments'], ['GET', '/api/v1/dunning/notices'], ['GET', '/api/v1/tasks'], ['GET', '/api/v1/me/tasks'],
      ['GET', '/api/v1/orders'], ['GET', '/api/v1/meters'], ['GET', '/api/v1/kpis'], ['GET', '/api/v1/org/tree'], ['GET', '/api/v1/billing/review'],
      ['GET', `/api/v1/tasks/${A.taskId}`], ['POST', `/api/v1/bills/${A.billId}/release`, {}], ['POST', `/api/v1/meters/${A.meterAddress}/manual-reading`, { date: '2026-02-12', total: '1' }],
      ['POST', `/api/v1/meters/${A.meterAddress}/readings/${READ_DAY}/edit`, { reason: 'mine mine', total: '1' }],
      ['POST', '/api/v1/dunning/runs', { asOf: '2026-02-17' }], ['POST', '/api/v1/billing/runs', { cycle: 'C01', period: '2026-02' }],
    ] as Call[]) {
      const res = await app.inject({ method, url, payload, headers: me });
      expect([res.statusCode, res.json().code], `${method} ${url}`).toEqual([403, 'AUTH_FORBIDDEN']);
    }
  });
});

describe('role permissions (src/platform/auth.ts) through the API', () => {
  const forbidden = async (who: string, calls: Call[]) => {
    const h = await signIn(app, who);
    for (const [method, url, payload] of calls) {
      const res = await app.inject({ method, url, payload, headers: h });
      expect([res.statusCode, res.json().code], `${who} ${method} ${url}: ${res.body.slice(0, 200)}`).toEqual([403, 'AUTH_FORBIDDEN']);
    }
  };

  it('a collection-team member cannot post payments, read money, or run billing or dunning', async () => {
    await forbidden('team.LN0101T01.1', [
      ['POST', '/api/v1/payments', { channel: 'service_hall', reference: 'aud-t1', customerNumber: A.number, amount: '1.00', currency: 'CNY' }],
      ['POST', '/api/v1/payments', { channel: 'grid_manager', reference: 'aud-t2', customerNumber: A.number, amount: '1.00', currency: 'CNY' }],
      ['GET', '/api/v1/payments'], ['GET', `/api/v1/payments/${A.paymentId}`], ['GET', `/api/v1/customers/${A.number}/statement`],
      ['GET', `/api/v1/bills/${A.billId}`], ['GET', `/api/v1/customers/${A.number}/notices`],
      ['POST', '/api/v1/billing/runs', { cycle: 'C01', period: '2026-02' }], ['POST', `/api/v1/bills/${A.billId}/release`, {}],
      ['POST', '/api/v1/dunning/runs', { asOf: '2026-02-17' }], ['POST', `/api/v1/payments/${A.paymentId}/reversal`, { reason: 'x' }],
      ['POST', '/api/v1/payments/imports'], ['PUT', `/api/v1/customers/${A.number}/channels`, { channels: [] }],
      ['POST', `/api/v1/tasks/${A.taskId}/reassign`, { staffCode: 'team.LN0101T01.2' }],
    ]);
  });

  it('an analyst is read-only', async () => {
    const h = await signIn(app, 'analyst');
    for (const url of ['/api/v1/customers', `/api/v1/customers/${B.number}`, '/api/v1/payments', `/api/v1/bills/${B.billId}`, '/api/v1/kpis?org=LN', '/api/v1/dunning/notices', '/api/v1/tasks', '/api/v1/orders']) {
      expect((await app.inject({ url, headers: h })).statusCode, url).toBe(200);
    }
    await forbidden('analyst', [
      ['POST', '/api/v1/payments', { channel: 'service_hall', reference: 'aud-a1', customerNumber: A.number, amount: '1.00', currency: 'CNY' }],
      ['POST', `/api/v1/payments/${A.paymentId}/reversal`, { reason: 'x' }],
      ['POST', '/api/v1/billing/runs', { cycle: 'C01', period: '2026-02' }], ['POST', `/api/v1/bills/${A.billId}/release`, {}],
      ['POST', `/api/v1/bills/${A.billId}/void`, { reason: 'x' }], ['POST', '/api/v1/dunning/runs', { asOf: '2026-02-17' }],
      ['POST', '/api/v1/readings', []], ['POST', `/api/v1/meters/${A.meterAddress}/manual-reading`, { date: '2026-02-12', total: '1020' }],
      ['POST', `/api/v1/meters/${A.meterAddress}/readings/${READ_DAY}/edit`, { reason: 'audit edit', total: '999' }],
      ['POST', `/api/v1/tasks/${A.taskId}/accept`, {}], ['POST', `/api/v1/tasks/${A.taskId}/cancel`, {}],
      ['POST', '/api/v1/orders', { externalRef: 'AUD-Z', kind: 'consultation', customerNumber: A.number, callerName: 'x', callerPhone: '13800000000', description: 'x' }],
      ['POST', `/api/v1/orders/${A.orderId}/resolve`, { resolution: 'x' }], ['POST', `/api/v1/orders/${A.orderId}/close`, { satisfaction: 5 }],
      ['POST', `/api/v1/connections/${A.connectionId}/steps/survey/complete`, {}],
      ['PUT', `/api/v1/customers/${A.number}/channels`, { channels: [] }], ['PUT', '/api/v1/calendar', { days: [] }],
      ['POST', '/api/v1/meters', { assetNo: 'AUD00001', commAddress: '999999999999', meterType: 'single_phase', manufacturedOn: '2025-01-01', place: 'x' }],
      ['POST', '/api/v1/kpis/compute', {}], ['POST', '/api/v1/orders/escalate', {}],
      ['POST', '/api/v1/staff-absences', { staffCode: 'gm.LN0101S01G01', fromDate: '2026-02-17', toDate: '2026-02-18', reason: 'x' }],
    ]);
  });

  it('a grid manager or a service agent cannot run billing, dunning or reconciliation; a clerk cannot work tasks in the field', async () => {
    for (const who of ['gm.LN0101S01G01', 'agent.LN0101']) {
      await forbidden(who, [
        ['POST', '/api/v1/billing/runs', { cycle: 'C01', period: '2026-02' }], ['POST', `/api/v1/bills/${A.billId}/release`, {}],
        ['POST', '/api/v1/dunning/runs', { asOf: '2026-02-17' }], ['POST', `/api/v1/payments/${A.paymentId}/reversal`, { reason: 'x' }],
        ['GET', '/api/v1/payments/reconciliations'], ['POST', '/api/v1/kpis/compute', {}],
      ]);
    }
    await forbidden('clerk.LN01', [
      ['POST', `/api/v1/tasks/${A.taskId}/accept`, {}], ['POST', `/api/v1/meters/${A.meterAddress}/manual-reading`, { date: '2026-02-12', total: '1020' }],
      ['POST', '/api/v1/payments', { channel: 'portal', reference: 'aud-k1', customerNumber: A.number, amount: '1.00', currency: 'CNY' }],
      ['PUT', `/api/v1/customers/${A.number}/channels`, { channels: [] }], ['POST', '/api/v1/kpis/compute', {}],
    ]);
  });
});
