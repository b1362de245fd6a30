import { describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { TestContext } from '../support/db.ts';
import { provinceApi, signIn, signInCustomer } from '../support/http.ts';
import { openTasks } from '../../src/work/index.ts';
import { runBusinessDay } from '../../src/flows/business-day.ts';

let ctx: TestContext;
let app: FastifyInstance;
let seq = 0;
let taken = 0;

interface Place { id: number; number: string; grid: string }

/** A residential customer on the tiered tariff with an agreed mobile channel, not used by another test. */
async function residential(): Promise<Place> {
  const r = await sql<Place>`
    SELECT c.id::int AS id, c.number, g.code AS grid FROM customer c JOIN org_unit g ON g.id = c.grid_id
    WHERE c.category = 'residential' AND c.tariff_code = 'RES-TIER' AND c.status = 'active'
      AND EXISTS (SELECT 1 FROM channel_agreement a JOIN contact k ON k.id = a.contact_id
                  WHERE a.customer_id = c.id AND a.withdrawn_at IS NULL AND k.kind = 'mobile')
    ORDER BY c.number OFFSET ${taken++} LIMIT 1`.execute(ctx.db);
  return r.rows[0]!;
}

/** A business-change task for the customer, completed by the community manager of its grid. */
async function complete(place: Place, outcome: Record<string, unknown>) {
  const key = `test:customers-rules:${++seq}`;
  await openTasks(ctx.db, ctx.clock.now(), [{ kind: 'business_change', idempotencyKey: key, title: `change ${seq}`, customerId: place.id, payload: {}, createdBy: 'test' }]);
  const id = Number((await sql<{ id: number }>`SELECT id FROM task WHERE idempotency_key = ${key}`.execute(ctx.db)).rows[0]!.id);
  const gm = await signIn(app, `gm.${place.grid}`);
  expect((await app.inject({ method: 'POST', url: `/api/v1/tasks/${id}/start`, headers: gm, payload: {} })).statusCode).toBe(200);
  return app.inject({ method: 'POST', url: `/api/v1/tasks/${id}/complete`, headers: gm, payload: { outcome } });
}

const view = async (place: Place, as = 'admin') => (await app.inject({ url: `/api/v1/customers/${place.number}`, headers: await signIn(app, as) })).json();
interface Agreement { channel: string; contactId: number; priority: number; consentedAt: string; withdrawnAt: string | null }
const agreed = (c: { channels: Agreement[] }) => c.channels.filter((a) => a.withdrawnAt === null);

provinceApi({ customers: 400, now: '2026-03-10T10:00:00+08:00' }, (c, a) => {
  ctx = c;
  app = a;
});

describe('contacts and channel agreements', () => {
  it('a new number on a channel is unverified even when the old one was verified', async () => {
    const place = await residential();
    await sql`UPDATE contact SET status = 'verified' WHERE customer_id = ${place.id}`.execute(ctx.db);
    const me = await signInCustomer(app, place.number);
    const res = await app.inject({ method: 'PUT', url: `/api/v1/customers/${place.number}/channels`, headers: me, payload: { channels: [{ channel: 'sms', value: '13911112222' }] } });
    expect(res.statusCode, res.body).toBe(200);
    const c = await view(place);
    const [sms] = agreed(c);
    expect(sms!.channel).toBe('sms');
    expect(c.contacts.find((k: { id: number }) => k.id === sms!.contactId)).toMatchObject({ value: '13911112222', status: 'unverified' });
    // the consent on record is the one given for the new number, not the old number's
    expect(sms!.consentedAt).toBe(ctx.clock.now().toISOString());
  });

  it('lists the agreements in force first, in priority order, then the withdrawn ones', async () => {
    const place = await residential();
    const me = await signInCustomer(app, place.number);
    const two = await app.inject({ method: 'PUT', url: `/api/v1/customers/${place.number}/channels`, headers: me, payload: { channels: [{ channel: 'sms', value: '13911114444' }, { channel: 'email', value: 'zhou@example.cn' }] } });
    expect(two.statusCode, two.body).toBe(200);
    const res = await app.inject({ method: 'PUT', url: `/api/v1/customers/${place.number}/channels`, headers: me, payload: { channels: [{ channel: 'voice', value: '13911114444' }, { channel: 'email', value: 'zhou@example.cn' }] } });
    expect(res.statusCode, res.body).toBe(200);
    const channels = (await view(place)).channels as Agreement[];
    const inForce = agreed({ channels });
    expect(inForce.map((a) => [a.channel, a.priority])).toEqual([['voice', 1], ['email', 2]]);
    expect(channels.slice(0, 2)).toEqual(inForce);
    expect(channels.slice(2).map((a) => a.channel)).toContain('sms');
    expect(res.json().channels).toEqual(channels);
  });

  it('a mobile written with +86, spaces or hyphens is stored as its 11 digits', async () => {
    const place = await residential();
    const me = await signInCustomer(app, place.number);
    const res = await app.inject({ method: 'PUT', url: `/api/v1/customers/${place.number}/channels`, headers: me, payload: { channels: [{ channel: 'sms', value: '+86 139-1111-3333' }] } });
    expect(res.statusCode, res.body).toBe(200);
    expect((await view(place)).contacts.map((k: { value: string }) => k.value)).toContain('13911113333');
  });

  it('an analyst does not see a new occupant\'s phone number in the change history', async () => {
    const place = await residential();
    const res = await complete(place, { changeType: 'move_in', effectiveDate: '2026-03-10', newName: '赵新', contact: { kind: 'mobile', value: '13722223333' } });
    expect(res.statusCode, res.body).toBe(200);
    const analyst = await view(place, 'analyst');
    expect(JSON.stringify(analyst)).not.toContain('13722223333');
    expect(analyst.changes[0].contact.value).toMatch(/^137\*+33$/);
    expect((await view(place)).changes[0].contact.value).toBe('13722223333');
  });
});

describe('business changes effective from a date', () => {
  it('a move-in without a contact stops the notices to the previous occupant', async () => {
    const place = await residential();
    expect(agreed(await view(place)).length).toBeGreaterThan(0);
    const res = await complete(place, { changeType: 'move_in', effectiveDate: '2026-03-10', newName: '钱新' });
    expect(res.statusCode, res.body).toBe(200);
    const c = await view(place);
    expect(c.name).toBe('钱新');
    expect(agreed(c)).toEqual([]);
  });

  it('the new occupant sees the former occupant\'s phone number masked in the portal', async () => {
    const place = await residential();
    const former = (await view(place)).contacts.find((k: { kind: string }) => k.kind === 'mobile').value as string;
    const res = await complete(place, { changeType: 'move_in', effectiveDate: '2026-03-10', newName: '吴新', contact: { kind: 'mobile', value: '13733334444' } });
    expect(res.statusCode, res.body).toBe(200);
    // the move-in closed the portal to the former occupant: staff issue the new occupant a password
    const issued = await app.inject({ method: 'POST', url: `/api/v1/customers/${place.number}/portal-password`, headers: await signIn(app, `gm.${place.grid}`), payload: {} });
    const login = await app.inject({ method: 'POST', url: '/api/v1/auth/customer-login', payload: { number: place.number, password: issued.json().password } });
    const me = (await app.inject({ url: `/api/v1/customers/${place.number}`, headers: { authorization: `Bearer ${login.json().token}` } })).json();
    const values = me.contacts.map((k: { value: string }) => k.value);
    expect(values).toContain('13733334444');
    expect(values).not.toContain(former);
    expect(values).toContain(`${former.slice(0, 3)}******${former.slice(-2)}`);
  });

  it('a backdated change does not undo a later one already in force', async () => {
    const place = await residential();
    expect((await complete(place, { changeType: 'name', effectiveDate: '2026-03-09', newName: '孙后' })).statusCode).toBe(200);
    expect((await view(place)).name).toBe('孙后');
    const late = await complete(place, { changeType: 'name', effectiveDate: '2026-03-01', newName: '孙前' });
    expect(late.statusCode, late.body).toBe(200);
    const c = await view(place);
    expect(c.name).toBe('孙后');
    expect(c.changes.every((x: { appliedAt: string | null }) => x.appliedAt !== null)).toBe(true);
  });

  it('a tariff change keeps the tariff it replaced, so a bill can split the period at the effective date', async () => {
    const place = await residential();
    expect((await complete(place, { changeType: 'tariff', effectiveDate: '2026-03-12', newTariffCode: 'RES-TOU' })).statusCode).toBe(200);
    ctx.clock.set('2026-03-11T23:59:00+08:00');
    await runBusinessDay(ctx, '2026-03-10', { billing: false });
    expect((await view(place)).tariffCode).toBe('RES-TIER');
    await runBusinessDay(ctx, '2026-03-11', { billing: false });
    const c = await view(place);
    expect(c.tariffCode).toBe('RES-TOU');
    expect(c.changes).toEqual([expect.objectContaining({ type: 'tariff', effectiveOn: '2026-03-12', oldTariffCode: 'RES-TIER', newTariffCode: 'RES-TOU', appliedAt: expect.any(String) })]);
    ctx.clock.set('2026-03-10T10:00:00+08:00');
  });

  it('a business change for a closed customer is refused and nothing is recorded', async () => {
    const place = await residential();
    await sql`UPDATE customer SET status = 'closed' WHERE id = ${place.id}`.execute(ctx.db);
    const res = await complete(place, { changeType: 'name', effectiveDate: '2026-03-10', newName: '周关' });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('CUSTOMER_CLOSED');
    const c = await view(place);
    expect(c.changes).toEqual([]);
    expect(c.name).not.toBe('周关');
  });
});
