import { describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { TestContext } from '../support/db.ts';
import { provinceApi, signIn } from '../support/http.ts';
import { escalateOverdueOrders } from '../../src/work/index.ts';

let ctx: TestContext;
let app: FastifyInstance;
const post = (url: string, headers: Record<string, string>, payload: unknown = {}) => app.inject({ method: 'POST', url, headers, payload: payload as object });

async function customerIn(county: string): Promise<{ number: string; grid: string; area: string }> {
  const r = await sql<{ number: string; grid: string; area: string }>`
    SELECT c.number, g.code AS grid, ta.code AS area FROM customer c JOIN org_unit g ON g.id = c.grid_id JOIN transformer_area ta ON ta.id = c.transformer_area_id
    WHERE c.org_path LIKE ${`%/${county}/%`} ORDER BY c.number LIMIT 1`.execute(ctx.db);
  return r.rows[0]!;
}

  // Monday 28 September 2026: the National Day week (1–7 October) lies ahead
provinceApi({ customers: 600, now: '2026-09-28T09:00:00+08:00' }, (c, a) => {
  ctx = c;
  app = a;
});

describe('95598 work orders', () => {
  it('a rural fault repair is dispatched to the customer grid, escalated when the crew is late, and closed with satisfaction', async () => {
    const c = await customerIn('LN0101');
    const agent = await signIn(app, 'agent.LN0101');
    const intake = { externalRef: '95598-0001', kind: 'fault_repair', areaType: 'rural', customerNumber: c.number, callerName: '王先生', callerPhone: '13900001111', description: '全户停电' };
    const r = await post('/api/v1/orders', agent, intake);
    expect(r.statusCode, r.body).toBe(201);
    const order = r.json();
    expect(order).toMatchObject({ status: 'dispatched', remainingMinutes: 90, overdue: false });
    expect(order.orgPath).toMatch(new RegExp(`/${c.grid}/$`));
    expect((await post('/api/v1/orders', agent, intake)).json().id).toBe(order.id);

    expect(await escalateOverdueOrders(ctx, ctx.clock.now())).toBe(0);
    ctx.clock.advance(100 * 60_000);
    expect(await escalateOverdueOrders(ctx, ctx.clock.now())).toBe(1);
    expect(await escalateOverdueOrders(ctx, ctx.clock.now())).toBe(0);
    const late = (await app.inject({ url: '/api/v1/orders?overdue=true', headers: agent })).json();
    expect(late.items.map((o: { id: number }) => o.id)).toContain(order.id);
    expect(late.items.find((o: { id: number }) => o.id === order.id)).toMatchObject({ escalationLevel: 1, escalatedToPath: '/SGCC/LN/LN01/LN0101/' });

    expect((await post(`/api/v1/orders/${order.id}/resolve`, agent, { resolution: 'x' })).json().code).toBe('ORDER_TRANSITION_REFUSED');
    const gm = await signIn(app, `gm.${c.grid}`);
    expect((await post(`/api/v1/orders/${order.id}/arrive`, gm)).json()).toMatchObject({ status: 'arrived', arrivalOnTime: false, remainingMinutes: 140 });
    ctx.clock.advance(60 * 60_000);
    expect((await post(`/api/v1/orders/${order.id}/resolve`, gm, { resolution: '更换熔断器' })).json()).toMatchObject({ status: 'resolved', resolvedOnTime: true });
    expect((await post(`/api/v1/orders/${order.id}/close`, agent, { satisfaction: 6 })).json().code).toBe('ORDER_SATISFACTION_INVALID');
    expect((await post(`/api/v1/orders/${order.id}/close`, agent, { satisfaction: 5 })).json()).toMatchObject({ status: 'closed', satisfaction: 5 });
    expect((await post(`/api/v1/orders/${order.id}/close`, agent, { satisfaction: 5 })).json().code).toBe('ORDER_TRANSITION_REFUSED');
    const detail = (await app.inject({ url: `/api/v1/orders/${order.id}`, headers: agent })).json();
    expect(detail.events.map((e: { action: string }) => e.action)).toEqual(['receive', 'escalate', 'arrive', 'resolve', 'close']);
  });

  it('a complaint has working days to answer, skipping the holiday week; a chaser counts against it', async () => {
    ctx.clock.set('2026-09-29T10:00:00+08:00');
    const agent = await signIn(app, 'agent.LN0101');
    const complaint = (await post('/api/v1/orders', agent, { externalRef: '95598-0002', kind: 'complaint', orgCode: 'LN0101', address: '新华路1号', callerName: '李女士', callerPhone: '13900002222', description: '抄表不准' })).json();
    // 5 working days after Tuesday 29 September: 30 Sep, 8, 9, 10 (worked Saturday), 12 October
    expect(complaint.dueAt).toBe(new Date('2026-10-13T00:00:00+08:00').toISOString());
    const chaser = await post('/api/v1/orders', agent, { externalRef: '95598-0003', kind: 'chaser', parentOrderId: complaint.id, callerName: '李女士', callerPhone: '13900002222', description: '催办' });
    expect(chaser.statusCode, chaser.body).toBe(201);
    expect((await app.inject({ url: `/api/v1/orders/${complaint.id}`, headers: agent })).json().chaseCount).toBe(1);
    ctx.clock.set('2026-10-13T08:00:00+08:00');
    await escalateOverdueOrders(ctx, ctx.clock.now());
    const c = (await app.inject({ url: `/api/v1/orders/${complaint.id}`, headers: agent })).json();
    expect(c).toMatchObject({ overdue: true, escalationLevel: 1 });
  });

  it("a county agent cannot dispatch to or see another county's orders", async () => {
    const other = await customerIn('LN0201');
    const agent = await signIn(app, 'agent.LN0101');
    const r = await post('/api/v1/orders', agent, { externalRef: '95598-0004', kind: 'consultation', customerNumber: other.number, callerName: 'x', callerPhone: '13900003333', description: '电价' });
    expect(r.statusCode).toBe(403);
    const theirs = (await post('/api/v1/orders', await signIn(app, 'agent.LN0201'), { externalRef: '95598-0005', kind: 'consultation', customerNumber: other.number, callerName: 'x', callerPhone: '13900003333', description: '电价' })).json();
    const list = (await app.inject({ url: '/api/v1/orders?limit=500', headers: agent })).json();
    expect(list.items.map((o: { id: number }) => o.id)).not.toContain(theirs.id);
    expect((await app.inject({ url: `/api/v1/orders/${theirs.id}`, headers: agent })).statusCode).toBe(403);
  });

  it("resending another county's order number is refused as out of scope and shows nothing of that order; the owner's resend reads as a GET", async () => {
    const theirs = await customerIn('LN0201');
    const ours = await customerIn('LN0101');
    const owner = await signIn(app, 'agent.LN0201');
    const intake = { externalRef: '95598-0100', kind: 'complaint', customerNumber: theirs.number, callerName: '赵女士', callerPhone: '13911112222', description: '邻居私拉电线' };
    const created = await post('/api/v1/orders', owner, intake);
    expect(created.statusCode, created.body).toBe(201);

    const agent = await signIn(app, 'agent.LN0101');
    for (const replay of [
      { ...intake, customerNumber: ours.number, callerName: 'x', callerPhone: '13900009999', description: 'x' },
      { externalRef: intake.externalRef, kind: 'consultation', orgCode: 'LN0101', address: '新华路2号', callerName: 'x', callerPhone: '13900009999', description: 'x' },
    ]) {
      const r = await post('/api/v1/orders', agent, replay);
      expect([r.statusCode, r.json().code], r.body).toEqual([403, 'AUTH_FORBIDDEN']);
      for (const secret of ['赵女士', '13911112222', '139******22', '邻居私拉电线', theirs.grid]) expect(r.body).not.toContain(secret);
    }
    const mine = (await app.inject({ url: '/api/v1/orders?limit=500', headers: agent })).json();
    expect(mine.items.map((o: { externalRef: string }) => o.externalRef)).not.toContain(intake.externalRef);

    // the county that took it, and the admin above it, get the order back exactly as reading it shows it to them
    for (const who of [owner, await signIn(app, 'admin')]) {
      const again = await post('/api/v1/orders', who, intake);
      expect(again.statusCode, again.body).toBe(200);
      const { events: _events, ...read } = (await app.inject({ url: `/api/v1/orders/${created.json().id}`, headers: who })).json();
      expect(again.json()).toEqual(read);
    }
  });
});

describe('new connections', () => {
  it('a high-voltage single-supply application runs its steps in working days, is caught overdue, and creates the customer, service point and meter', async () => {
    ctx.clock.set('2026-09-01T09:00:00+08:00');
    const c = await customerIn('LN0101');
    const agent = await signIn(app, 'agent.LN0101');
    const admin = await signIn(app, 'admin');
    const meter = await post('/api/v1/meters', admin, { assetNo: 'HV0000000001', commAddress: '990000000001', meterType: 'three_phase_ct', manufacturedOn: '2026-06-01', place: '抚顺计量库房', orgCode: 'LN0101' });
    expect(meter.statusCode, meter.body).toBe(201);
    for (const ev of [{ event: 'verified', result: 'pass' }, { event: 'in_stock' }]) {
      expect((await post('/api/v1/meters/HV0000000001/events', admin, { ...ev, place: '计量中心' })).statusCode).toBe(200);
    }
    const app1 = await post('/api/v1/connections', agent, {
      externalRef: 'YK-2026-0001', type: 'hv_single', applicantName: '抚顺新材料有限公司', address: '新华路88号', category: 'large_industry',
      tariffCode: 'LI-2P', capacityKva: 800, orgCode: 'LN0101',
    });
    expect(app1.statusCode, app1.body).toBe(201);
    const id = app1.json().id;
    // supply plan: 15 working days from Tuesday 1 September, across the 20 September make-up Sunday and the holiday week
    expect(app1.json().steps[0]).toMatchObject({ step: 'supply_plan', status: 'in_progress', dueOn: '2026-09-21' });

    ctx.clock.set('2026-09-22T09:00:00+08:00');
    const late = (await app.inject({ url: '/api/v1/connections?overdue=true', headers: agent })).json();
    expect(late.items.map((a: { id: number }) => a.id)).toEqual([id]);
    expect(late.items[0]).toMatchObject({ currentStep: 'supply_plan', overdue: true });

    const done1 = (await post(`/api/v1/connections/${id}/steps/supply_plan/complete`, agent, { transformerAreaCode: c.area })).json();
    expect(done1.steps[0]).toMatchObject({ status: 'done', workingDaysUsed: 16, onTime: false });
    expect(done1.steps[1]).toMatchObject({ step: 'design_review', status: 'waiting_customer' });
    expect((await post(`/api/v1/connections/${id}/steps/design_review/complete`, agent)).json().code).toBe('CONNECTION_STEP_REFUSED');
    const handedIn = (await post(`/api/v1/connections/${id}/steps/design_review/hand-in`, agent)).json();
    // 10 working days from Tuesday 22 September skip 1–7 October and count Saturday 10 October (and 25 September is Mid-Autumn)
    expect(handedIn.steps[1]).toMatchObject({ status: 'in_progress', startedOn: '2026-09-22', dueOn: '2026-10-13' });
    for (const step of ['design_review', 'mid_check', 'completion_check']) {
      if (step !== 'design_review') expect((await post(`/api/v1/connections/${id}/steps/${step}/hand-in`, agent)).statusCode).toBe(200);
      ctx.clock.advance(24 * 3600_000);
      expect((await post(`/api/v1/connections/${id}/steps/${step}/complete`, agent)).statusCode).toBe(200);
    }
    const noMeter = await post(`/api/v1/connections/${id}/steps/install_energise/complete`, agent, {});
    expect(noMeter.json().code).toBe('CONNECTION_METER_REQUIRED');
    const finished = await post(`/api/v1/connections/${id}/steps/install_energise/complete`, agent, { meterAssetNo: 'HV0000000001', initialKwh: '0.5' });
    expect(finished.statusCode, finished.body).toBe(200);
    const f = finished.json();
    expect(f).toMatchObject({ status: 'completed', overdue: false });
    expect(f.customerNumber).toMatch(/^\d{10}$/);
    const cust = (await app.inject({ url: `/api/v1/customers/${f.customerNumber}`, headers: admin })).json();
    expect(cust).toMatchObject({ name: '抚顺新材料有限公司', tariffCode: 'LI-2P', contractCapacityKva: 800, kind: 'non_residential' });
    expect(cust.meters).toMatchObject([{ asset_no: 'HV0000000001', state: 'installed', removed_on: null }]);
    const initial = await sql<{ total_kwh: string }>`SELECT total_kwh FROM meter_reading WHERE meter_id = ${f.meterId}`.execute(ctx.db);
    expect(initial.rows).toEqual([{ total_kwh: '0.5000' }]);
    const again = await post(`/api/v1/connections/${id}/steps/install_energise/complete`, agent, { meterAssetNo: 'HV0000000001' });
    expect(again.json().code).toBe('CONNECTION_STEP_REFUSED');
  });

  it('a residential connection with a meter that is not in stock is refused and leaves nothing behind', async () => {
    const c = await customerIn('LN0101');
    const agent = await signIn(app, 'agent.LN0101');
    const admin = await signIn(app, 'admin');
    await post('/api/v1/meters', admin, { assetNo: 'RS0000000001', commAddress: '990000000002', meterType: 'single_phase', manufacturedOn: '2026-06-01', place: '库房', orgCode: 'LN0101' });
    const a = (await post('/api/v1/connections', agent, { externalRef: 'YK-2026-0002', type: 'residential', applicantName: '张三', address: '幸福小区1号楼', category: 'residential', tariffCode: 'RES-TIER', capacityKva: 8, transformerAreaCode: c.area })).json();
    expect(a.steps.map((s: { step: string }) => s.step)).toEqual(['survey_plan', 'install_energise']);
    await post(`/api/v1/connections/${a.id}/steps/survey_plan/complete`, agent);
    const customersBefore = await sql<{ n: number }>`SELECT count(*)::int AS n FROM customer`.execute(ctx.db);
    const refused = await post(`/api/v1/connections/${a.id}/steps/install_energise/complete`, agent, { meterAssetNo: 'RS0000000001' });
    expect([refused.statusCode, refused.json().code]).toEqual([409, 'ASSET_TRANSITION_REFUSED']);
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM customer`.execute(ctx.db)).rows).toEqual(customersBefore.rows);
    const still = (await app.inject({ url: `/api/v1/connections/${a.id}`, headers: agent })).json();
    expect(still.steps[1]).toMatchObject({ status: 'in_progress' });
  });

  it("resending another county's application reference is refused as out of scope and shows nothing of it", async () => {
    const owner = await signIn(app, 'agent.LN0201');
    const intake = { externalRef: 'YK-2026-0100', type: 'residential', applicantName: '钱多多', address: '铁西区幸福路7号', category: 'residential', tariffCode: 'RES-TIER', capacityKva: 8, orgCode: 'LN0201' };
    const created = await post('/api/v1/connections', owner, intake);
    expect(created.statusCode, created.body).toBe(201);

    const agent = await signIn(app, 'agent.LN0101');
    const r = await post('/api/v1/connections', agent, { ...intake, applicantName: 'x', address: 'x', orgCode: 'LN0101' });
    expect([r.statusCode, r.json().code], r.body).toEqual([403, 'AUTH_FORBIDDEN']);
    for (const secret of ['钱多多', '铁西区幸福路7号', 'LN0201']) expect(r.body).not.toContain(secret);

    const again = await post('/api/v1/connections', owner, intake);
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toEqual((await app.inject({ url: `/api/v1/connections/${created.json().id}`, headers: owner })).json());
  });

  it("an agent fits only a meter from the store of the application's county: another county's or the city's is refused before anything changes", async () => {
    const c = await customerIn('LN0101');
    const agent = await signIn(app, 'agent.LN0101');
    const admin = await signIn(app, 'admin');
    const stocked = async (assetNo: string, commAddress: string, orgCode: string) => {
      expect((await post('/api/v1/meters', admin, { assetNo, commAddress, meterType: 'single_phase', manufacturedOn: '2026-06-01', place: '库房', orgCode })).statusCode).toBe(201);
      for (const ev of [{ event: 'verified', result: 'pass' }, { event: 'in_stock' }]) {
        expect((await post(`/api/v1/meters/${assetNo}/events`, admin, { ...ev, place: '库房' })).statusCode).toBe(200);
      }
    };
    await stocked('RS0000000201', '990000000201', 'LN0201');
    await stocked('RS0000000202', '990000000202', 'LN01');
    await stocked('RS0000000203', '990000000203', 'LN0101');
    // what the agent may not even look at
    expect((await app.inject({ url: '/api/v1/meters/RS0000000201', headers: agent })).statusCode).toBe(403);

    const a = (await post('/api/v1/connections', agent, { externalRef: 'YK-2026-0101', type: 'residential', applicantName: '孙五', address: '幸福小区2号楼', category: 'residential', tariffCode: 'RES-TIER', capacityKva: 8, transformerAreaCode: c.area })).json();
    await post(`/api/v1/connections/${a.id}/steps/survey_plan/complete`, agent);
    const customersBefore = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM customer`.execute(ctx.db)).rows;
    for (const assetNo of ['RS0000000201', 'RS0000000202']) {
      const refused = await post(`/api/v1/connections/${a.id}/steps/install_energise/complete`, agent, { meterAssetNo: assetNo });
      expect([refused.statusCode, refused.json().code], assetNo).toEqual([403, 'ASSET_OUT_OF_SCOPE']);
      expect((await app.inject({ url: `/api/v1/meters/${assetNo}`, headers: admin })).json()).toMatchObject({ state: 'in_stock', concentrator_id: null });
    }
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM customer`.execute(ctx.db)).rows).toEqual(customersBefore);
    expect((await app.inject({ url: `/api/v1/connections/${a.id}`, headers: agent })).json().steps[1]).toMatchObject({ status: 'in_progress' });

    const fitted = await post(`/api/v1/connections/${a.id}/steps/install_energise/complete`, agent, { meterAssetNo: 'RS0000000203' });
    expect(fitted.statusCode, fitted.body).toBe(200);
    expect(fitted.json()).toMatchObject({ status: 'completed' });
  });
});
