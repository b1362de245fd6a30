import { describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { TestContext } from '../support/db.ts';
import { provinceApi, signIn, signInCustomer } from '../support/http.ts';
import { openTasks } from '../../src/work/index.ts';
import { runBusinessDay } from '../../src/flows/business-day.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import { rollupReadSuccess } from '../../src/metering/index.ts';
import { agreeChannels, releaseBills } from '../dunning/support.ts';

let ctx: TestContext;
let app: FastifyInstance;
let seq = 0;

interface Place { id: number; number: string; grid: string; category: string }

async function residential(offset: number): Promise<Place> {
  const r = await sql<Place>`
    SELECT c.id::int AS id, c.number, g.code AS grid, c.category FROM customer c JOIN org_unit g ON g.id = c.grid_id
    WHERE c.category = 'residential' AND c.tariff_code = 'RES-TIER' ORDER BY c.number OFFSET ${offset} LIMIT 1`.execute(ctx.db);
  return r.rows[0]!;
}

/** A business-change task for the customer, done by the community manager of its grid with the outcome. */
async function complete(place: Place, outcome: Record<string, unknown>) {
  const key = `test:business_change:${++seq}`;
  await openTasks(ctx.db, ctx.clock.now(), [{ kind: 'business_change', idempotencyKey: key, title: `change ${seq}`, customerId: place.id, payload: {}, createdBy: 'test' }]);
  const id = Number((await sql<{ id: number }>`SELECT id FROM task WHERE idempotency_key = ${key}`.execute(ctx.db)).rows[0]!.id);
  const gm = await signIn(app, `gm.${place.grid}`);
  expect((await app.inject({ method: 'POST', url: `/api/v1/tasks/${id}/start`, headers: gm, payload: {} })).statusCode).toBe(200);
  const res = await app.inject({ method: 'POST', url: `/api/v1/tasks/${id}/complete`, headers: gm, payload: { outcome } });
  return { id, res, gm };
}

const customer = async (place: Place) => (await app.inject({ url: `/api/v1/customers/${place.number}`, headers: await signIn(app, 'admin') })).json();

provinceApi({ customers: 600, now: '2026-03-02T10:00:00+08:00' }, (c, a) => {
  ctx = c;
  app = a;
});

describe('business changes done by a community manager as the customer\'s agent', () => {
  it('a rename dated today changes the customer at once and keeps the change on record', async () => {
    const place = await residential(0);
    const { res, id } = await complete(place, { changeType: 'name', effectiveDate: '2026-03-02', newName: '王小明' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().outcome).toMatchObject({ appliedNow: true });
    const c = await customer(place);
    expect(c.name).toBe('王小明');
    expect(c.changes).toEqual([expect.objectContaining({ type: 'name', effectiveOn: '2026-03-02', newName: '王小明', taskId: id, appliedAt: expect.any(String) })]);
  });

  it('a tariff change dated next month waits for the day-end schedule of the day before it', async () => {
    const place = await residential(1);
    const { res } = await complete(place, { changeType: 'tariff', effectiveDate: '2026-03-05', newTariffCode: 'RES-TOU' });
    expect(res.statusCode, res.body).toBe(200);
    expect((await customer(place)).tariffCode).toBe('RES-TIER');
    for (const day of ['2026-03-02', '2026-03-03']) {
      ctx.clock.set(`${day}T23:59:00+08:00`);
      await runBusinessDay(ctx, day, { billing: false });
      expect((await customer(place)).tariffCode, `after the day-end of ${day}`).toBe('RES-TIER');
    }
    ctx.clock.set('2026-03-05T00:30:00+08:00');
    await runBusinessDay(ctx, '2026-03-04', { billing: false });
    const c = await customer(place);
    expect(c.tariffCode).toBe('RES-TOU');
    expect(c.changes[0].appliedAt).toBeTruthy();
  });

  it('a move-in names the new occupant and moves the notices to the new occupant\'s mobile', async () => {
    ctx.clock.set('2026-03-05T10:00:00+08:00');
    const place = await residential(2);
    const { res } = await complete(place, { changeType: 'move_in', effectiveDate: '2026-03-05', newName: '李新', contact: { kind: 'mobile', value: '13700001111' } });
    expect(res.statusCode, res.body).toBe(200);
    const c = await customer(place);
    expect(c.name).toBe('李新');
    const mobile = c.contacts.find((k: { status: string; kind: string }) => k.kind === 'mobile' && k.status === 'verified');
    expect(mobile).toBeTruthy();
    const active = c.channels.filter((a: { withdrawnAt: string | null }) => a.withdrawnAt === null);
    expect(active.map((a: { channel: string }) => a.channel).sort()).toEqual(['sms', 'voice']);
    expect(active.every((a: { contactId: number }) => a.contactId === mobile.id)).toBe(true);
  });

  it('a move-out stores the final register on its date and closes the account, its meter leaving it on that date', async () => {
    const place = await residential(3);
    const { res, id } = await complete(place, { changeType: 'move_out', effectiveDate: '2026-03-04', finalKwh: '4321.50' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().outcome).toMatchObject({ finalReadingStored: true, accountClosed: true, closedOn: '2026-03-04' });
    const r = await sql<{ total_kwh: string; quality: string; source: string }>`
      SELECT r.total_kwh::numeric(12,2)::text AS total_kwh, r.quality, r.source FROM meter_reading r JOIN service_point sp ON sp.meter_id = r.meter_id
      WHERE sp.customer_id = ${place.id} AND r.reading_date = '2026-03-04'`.execute(ctx.db);
    expect(r.rows).toEqual([{ total_kwh: '4321.50', quality: 'actual', source: 'manual' }]);
    const c = await customer(place);
    expect(c.status).toBe('closed');
    expect(c.meters).toMatchObject([{ removed_on: '2026-03-04' }]);
    const audited = await sql<{ actor: string; detail: unknown }>`SELECT actor, detail FROM audit_log WHERE action = 'customer.close' AND subject = ${`customer:${place.number}`}`.execute(ctx.db);
    expect(audited.rows).toEqual([{ actor: expect.stringMatching(/^staff:/), detail: expect.objectContaining({ closedOn: '2026-03-04', taskId: id }) }]);
  });

  it('a move-out is refused while a new occupant\'s move-in is recorded for the account, which stays open', async () => {
    const place = await residential(6);
    const moveIn = await complete(place, { changeType: 'move_in', effectiveDate: '2026-03-20', newName: '周新' });
    expect(moveIn.res.statusCode, moveIn.res.body).toBe(200);
    const { res, id, gm } = await complete(place, { changeType: 'move_out', effectiveDate: '2026-03-05', finalKwh: '100' });
    expect([res.statusCode, res.json().code]).toEqual([409, 'CUSTOMER_CHANGE_PENDING']);
    expect((await customer(place)).status).toBe('active');
    expect((await app.inject({ url: `/api/v1/tasks/${id}`, headers: gm })).json().status).toBe('in_progress');
  });

  it('refuses an unknown tariff or one of another category with a code, and the task stays in progress', async () => {
    const place = await residential(4);
    const unknown = await complete(place, { changeType: 'tariff', effectiveDate: '2026-03-05', newTariffCode: 'NOPE' });
    expect(unknown.res.statusCode).toBe(400);
    expect(unknown.res.json().code).toBe('TARIFF_UNKNOWN');
    const task = (await app.inject({ url: `/api/v1/tasks/${unknown.id}`, headers: unknown.gm })).json();
    expect(task.status).toBe('in_progress');
    const other = await complete(place, { changeType: 'tariff', effectiveDate: '2026-03-05', newTariffCode: 'GEN-TOU' });
    expect(other.res.json().code).toBe('TARIFF_CATEGORY_MISMATCH');
    expect((await customer(place)).changes).toEqual([]);
  });
});

describe('an account closed by its move-out', () => {
  it('is chased for what it still owes, takes no changes from its portal or its manager, and collection stops counting its meter', async () => {
    ctx.clock.set('2026-03-08T10:00:00+08:00');
    const [leaving, staying] = [await residential(7), await residential(8)];
    for (const [k, c] of [leaving, staying].entries()) await agreeChannels(ctx, c.id, [{ channel: 'sms', kind: 'mobile', value: `1390000777${k}` }]);
    await releaseBills(ctx, [leaving, staying].map((c) => ({
      customerId: c.id, period: '2026-02', amount: '66.60', issuedOn: '2026-03-01', dueDate: '2026-03-09', releasedAt: new Date('2026-03-01T08:00:00+08:00'),
    })));
    const portal = await signInCustomer(app, leaving.number);
    const admin = await signIn(app, 'admin');
    const success = async (day: string) => {
      await rollupReadSuccess(ctx.db, day, ctx.clock.now());
      return (await app.inject({ url: `/api/v1/metering/success?org=${leaving.grid}&day=${day}`, headers: admin })).json().org.meters as number;
    };
    const metersBefore = await success('2026-03-08');

    ctx.clock.set('2026-03-09T15:00:00+08:00');
    const { res } = await complete(leaving, { changeType: 'move_out', effectiveDate: '2026-03-09', finalKwh: '2222.2' });
    expect(res.statusCode, res.body).toBe(200);

    // the day after the due date: both get their first overdue notice (the moved-out customer still owes)
    ctx.clock.set('2026-03-10T09:00:00+08:00');
    await runDunning(ctx, '2026-03-10');
    const chase = await sql<{ customer_id: number; step: string }>`
      SELECT customer_id::int AS customer_id, step FROM dunning_notice WHERE customer_id IN (${leaving.id}, ${staying.id}) AND step <> 'bill_notice' ORDER BY customer_id`.execute(ctx.db);
    expect(chase.rows).toEqual([leaving, staying].sort((a, b) => a.id - b.id).map((c) => ({ customer_id: c.id, step: 'overdue_1' })));

    // the portal shows what is left to pay and takes the payment, but changes nothing
    const channels = await app.inject({ method: 'PUT', url: `/api/v1/customers/${leaving.number}/channels`, headers: portal, payload: { channels: [] } });
    expect([channels.statusCode, channels.json().code]).toEqual([409, 'CUSTOMER_CLOSED']);
    expect((await app.inject({ url: `/api/v1/customers/${leaving.number}/statement`, headers: portal })).statusCode).toBe(200);
    const paid = await app.inject({
      method: 'POST', url: '/api/v1/payments', headers: portal,
      payload: { channel: 'portal', reference: 'moved-out-final-1', customerNumber: leaving.number, amount: '66.60', currency: 'CNY' },
    });
    expect(paid.statusCode, paid.body).toBe(201);

    // no further business change for it
    const again = await complete(leaving, { changeType: 'name', effectiveDate: '2026-03-10', newName: '不该改' });
    expect([again.res.statusCode, again.res.json().code]).toEqual([409, 'CUSTOMER_CLOSED']);

    // read success: its meter is no longer one collection answers for
    expect(await success('2026-03-10')).toBe(metersBefore - 1);
  });
});

