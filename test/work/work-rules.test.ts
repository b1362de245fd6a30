import { describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { TestContext } from '../support/db.ts';
import { provinceApi, signIn } from '../support/http.ts';
import { escalateOverdueOrders, openTasks, type TaskKind } from '../../src/work/index.ts';

let ctx: TestContext;
let app: FastifyInstance;
const post = (url: string, headers: Record<string, string>, payload: unknown = {}) => app.inject({ method: 'POST', url, headers, payload: payload as object });
const get = (url: string, headers: Record<string, string>) => app.inject({ url, headers });

interface Place { id: number; number: string; grid: string; team: string; area: string }

/** A customer of a county with the codes of its grid, its transformer area and the area's team. */
async function customerIn(county: string, offset = 0): Promise<Place> {
  const r = await sql<Place>`
    SELECT c.id::int AS id, c.number, g.code AS grid, t.code AS team, ta.code AS area
    FROM customer c JOIN org_unit g ON g.id = c.grid_id JOIN transformer_area ta ON ta.id = c.transformer_area_id JOIN team t ON t.id = ta.team_id
    WHERE c.org_path LIKE ${`%/${county}/%`} ORDER BY c.number OFFSET ${offset} LIMIT 1`.execute(ctx.db);
  return r.rows[0]!;
}

let seq = 0;
async function open(kind: TaskKind, customerId: number): Promise<number> {
  const key = `rules:${kind}:${++seq}`;
  await openTasks(ctx.db, ctx.clock.now(), [{ kind, idempotencyKey: key, title: `${kind} ${seq}`, customerId, createdBy: 'test' }]);
  const r = await sql<{ id: number }>`SELECT id FROM task WHERE idempotency_key = ${key}`.execute(ctx.db);
  return Number(r.rows[0]!.id);
}

const staffId = async (code: string) => (await sql<{ id: number }>`SELECT id FROM staff WHERE code = ${code}`.execute(ctx.db)).rows[0]!.id;

  // Monday 2 March 2026: no holiday until Qingming (6 April)
provinceApi({ customers: 600, now: '2026-03-02T09:00:00+08:00' }, (c, a) => {
  ctx = c;
  app = a;
});

describe('taking team tasks', () => {
  it('a team member who starts an untaken team task takes it: it leaves the colleagues\' list of untaken tasks', async () => {
    ctx.clock.set('2026-03-02T09:00:00+08:00');
    const place = await customerIn('LN0101');
    const first = await signIn(app, `team.${place.team}.1`);
    const second = await signIn(app, `team.${place.team}.2`);
    const id = await open('re_read', place.id);
    const started = await post(`/api/v1/tasks/${id}/start`, first);
    expect(started.statusCode, started.body).toBe(200);
    const me = await staffId(`team.${place.team}.1`);
    expect(started.json()).toMatchObject({ status: 'in_progress', assigneeStaffId: me });
    const theirs = (await get('/api/v1/me/tasks?limit=500', second)).json().items.map((t: { id: number }) => t.id);
    expect(theirs).not.toContain(id);
    expect((await get('/api/v1/me/tasks?limit=500', first)).json().items.map((t: { id: number }) => t.id)).toContain(id);
    const events = (await get(`/api/v1/tasks/${id}`, first)).json().events;
    expect(events.at(-1)).toMatchObject({ action: 'start', actor: expect.stringMatching(/^staff:/), fromAssignee: null, toAssignee: me });
  });
});

describe('routing', () => {
  it('a task for a grid without an active manager stays in the county dispatcher\'s list of unassigned tasks and can be handed on', async () => {
    ctx.clock.set('2026-03-02T09:00:00+08:00');
    const place = await customerIn('LN0101', 4);
    const siblings = await sql<{ code: string }>`
      SELECT m.code FROM staff m JOIN org_unit mo ON mo.id = m.org_id JOIN org_unit g ON g.code = ${place.grid}
      WHERE m.role = 'grid_manager' AND mo.parent_id = g.parent_id AND mo.id <> g.id ORDER BY m.id LIMIT 1`.execute(ctx.db);
    await sql`UPDATE staff SET active = false WHERE code = ${`gm.${place.grid}`}`.execute(ctx.db);
    try {
      const id = await open('manual_collection', place.id);
      const agent = await signIn(app, 'agent.LN0101');
      const unassigned = (await get('/api/v1/tasks?unassigned=true&limit=500', agent)).json();
      expect(unassigned.items.map((t: { id: number }) => t.id)).toContain(id);
      expect(unassigned.items.every((t: { assigneeStaffId: number | null }) => t.assigneeStaffId === null)).toBe(true);
      const assigned = (await get('/api/v1/tasks?unassigned=false&limit=500', agent)).json();
      expect(assigned.items.map((t: { id: number }) => t.id)).not.toContain(id);
      if (siblings.rows.length) {
        const moved = await post(`/api/v1/tasks/${id}/reassign`, agent, { staffCode: siblings.rows[0]!.code, note: 'grid vacant' });
        expect(moved.statusCode, moved.body).toBe(200);
        expect((await get('/api/v1/tasks?unassigned=true&limit=500', agent)).json().items.map((t: { id: number }) => t.id)).not.toContain(id);
      }
    } finally {
      await sql`UPDATE staff SET active = true WHERE code = ${`gm.${place.grid}`}`.execute(ctx.db);
    }
  });
});

describe('absence substitutes', () => {
  it("refuses a substitute outside the caller's scope, outside the absent manager's station or of another role, and stores nothing", async () => {
    ctx.clock.set('2026-03-02T09:00:00+08:00');
    const place = await customerIn('LN0101', 1);
    const far = await customerIn('LN0201');
    const id = await open('manual_collection', place.id);
    const before = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM staff_absence`.execute(ctx.db)).rows[0]!.n;
    const absence = { staffCode: `gm.${place.grid}`, fromDate: '2026-03-02', toDate: '2026-03-06', reason: 'training' };

    const agent = await signIn(app, 'agent.LN0101');
    const outOfScope = await post('/api/v1/staff-absences', agent, { ...absence, substituteStaffCode: `gm.${far.grid}` });
    expect([outOfScope.statusCode, outOfScope.json().code]).toEqual([403, 'AUTH_FORBIDDEN']);

    const admin = await signIn(app, 'admin');
    const outOfArea = await post('/api/v1/staff-absences', admin, { ...absence, substituteStaffCode: `gm.${far.grid}` });
    expect([outOfArea.statusCode, outOfArea.json().code]).toEqual([409, 'TASK_ASSIGNEE_OUT_OF_AREA']);

    const otherRole = await post('/api/v1/staff-absences', agent, { ...absence, substituteStaffCode: `team.${place.team}.1` });
    expect([otherRole.statusCode, otherRole.json().code]).toEqual([409, 'ABSENCE_SUBSTITUTE_ROLE']);

    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM staff_absence`.execute(ctx.db)).rows[0]!.n).toBe(before);
    const task = (await get(`/api/v1/tasks/${id}`, admin)).json();
    expect(task.assigneeStaffId).toBe(await staffId(`gm.${place.grid}`));
    expect(task.events.map((e: { action: string }) => e.action)).toEqual(['open']);
  });
});

describe('new-connection time limits', () => {
  it('a high-voltage application past its 22 working days end to end is overdue although its running step is not', async () => {
    ctx.clock.set('2026-03-02T09:00:00+08:00');
    const agent = await signIn(app, 'agent.LN0101');
    const created = await post('/api/v1/connections', agent, {
      externalRef: 'YK-RULES-0001', type: 'hv_single', applicantName: '抚顺精工有限公司', address: '新华路9号', category: 'large_industry',
      tariffCode: 'LI-2P', capacityKva: 630, orgCode: 'LN0101',
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id;
    expect(created.json()).toMatchObject({ totalLimitWorkingDays: 22 });
    // the supply plan on its last day (15 working days), the design papers handed in the same day
    ctx.clock.set('2026-03-23T16:00:00+08:00');
    expect((await post(`/api/v1/connections/${id}/steps/supply_plan/complete`, agent)).json().steps[0]).toMatchObject({ workingDaysUsed: 15, onTime: true });
    const review = (await post(`/api/v1/connections/${id}/steps/design_review/hand-in`, agent)).json();
    expect(review.steps[1]).toMatchObject({ status: 'in_progress', dueOn: '2026-04-07' });

    // Thursday 2 April: 7 working days into the review (limit 10), 22 in all: on time
    ctx.clock.set('2026-04-01T10:00:00+08:00');
    expect((await get(`/api/v1/connections/${id}`, agent)).json()).toMatchObject({ workingDaysUsed: 22, overdue: false });
    ctx.clock.set('2026-04-02T10:00:00+08:00');
    const d = (await get(`/api/v1/connections/${id}`, agent)).json();
    expect(d.steps[1]).toMatchObject({ workingDaysUsed: 8, overdue: false });
    expect(d).toMatchObject({ workingDaysUsed: 23, overdue: true });
    const list = (await get('/api/v1/connections?overdue=true', agent)).json();
    expect(list.items.find((a: { id: number }) => a.id === id)).toMatchObject({ overdue: true, workingDaysUsed: 23, totalLimitWorkingDays: 22 });
    const onTime = (await get('/api/v1/connections?overdue=false&limit=500', agent)).json();
    expect(onTime.items.map((a: { id: number }) => a.id)).not.toContain(id);
  });

  it('the list counts the working days of the running step, as the application page does', async () => {
    ctx.clock.set('2026-03-02T09:00:00+08:00');
    const place = await customerIn('LN0101', 2);
    const agent = await signIn(app, 'agent.LN0101');
    const a = (await post('/api/v1/connections', agent, {
      externalRef: 'YK-RULES-0002', type: 'residential', applicantName: '赵六', address: '和平小区2号楼', category: 'residential',
      tariffCode: 'RES-TIER', capacityKva: 8, transformerAreaCode: place.area,
    })).json();
    ctx.clock.set('2026-03-04T09:00:00+08:00');
    const detail = (await get(`/api/v1/connections/${a.id}`, agent)).json();
    expect(detail).toMatchObject({ workingDaysUsed: 2, overdue: false });
    const listed = (await get('/api/v1/connections?type=residential&limit=500', agent)).json().items.find((x: { id: number }) => x.id === a.id);
    expect(listed).toMatchObject({ workingDaysUsed: 2, overdue: false, totalLimitWorkingDays: 5 });
  });

  it("refuses to connect an application to a transformer area outside the caller's scope, and changes nothing", async () => {
    ctx.clock.set('2026-03-02T09:00:00+08:00');
    const place = await customerIn('LN0101', 3);
    const far = await customerIn('LN0201', 1);
    const agent = await signIn(app, 'agent.LN0101');
    const a = (await post('/api/v1/connections', agent, {
      externalRef: 'YK-RULES-0003', type: 'residential', applicantName: '钱七', address: '和平小区3号楼', category: 'residential',
      tariffCode: 'RES-TIER', capacityKva: 8, transformerAreaCode: place.area,
    })).json();
    const r = await post(`/api/v1/connections/${a.id}/steps/survey_plan/complete`, agent, { transformerAreaCode: far.area });
    expect([r.statusCode, r.json().code]).toEqual([403, 'AUTH_FORBIDDEN']);
    const after = (await get(`/api/v1/connections/${a.id}`, agent)).json();
    expect(after.steps[0]).toMatchObject({ step: 'survey_plan', status: 'in_progress' });
    const area = await sql<{ code: string }>`SELECT ta.code FROM connection_application a JOIN transformer_area ta ON ta.id = a.transformer_area_id WHERE a.id = ${a.id}`.execute(ctx.db);
    expect(area.rows).toEqual([{ code: place.area }]);
  });
});

describe('new-connection compliance once completed', () => {
  it('a completed application says whether it kept its end-to-end limit: 5 working days is on time, 6 is late', async () => {
    ctx.clock.set('2026-03-02T09:00:00+08:00');
    const place = await customerIn('LN0101', 5);
    const agent = await signIn(app, 'agent.LN0101');
    const admin = await signIn(app, 'admin');
    const done: { onTime: boolean | null; workingDaysUsed: number; overdue: boolean }[] = [];
    for (const [n, installOn] of [[1, '2026-03-09'], [2, '2026-03-10']] as const) {
      const assetNo = `CL000000000${n}`;
      expect((await post('/api/v1/meters', admin, { assetNo, commAddress: `99000000010${n}`, meterType: 'single_phase', manufacturedOn: '2026-01-01', place: '库房', orgCode: 'LN0101' })).statusCode).toBe(201);
      for (const ev of [{ event: 'verified', result: 'pass' }, { event: 'in_stock' }]) await post(`/api/v1/meters/${assetNo}/events`, admin, { ...ev, place: '计量中心' });
      ctx.clock.set('2026-03-02T09:00:00+08:00');
      const a = (await post('/api/v1/connections', agent, {
        externalRef: `YK-RULES-10${n}`, type: 'residential', applicantName: `申请人${n}`, address: `和平小区${n}号楼`, category: 'residential',
        tariffCode: 'RES-TIER', capacityKva: 8, transformerAreaCode: place.area,
      })).json();
      expect(a.onTime).toBeNull();
      ctx.clock.set('2026-03-04T09:00:00+08:00');
      expect((await post(`/api/v1/connections/${a.id}/steps/survey_plan/complete`, agent)).statusCode).toBe(200);
      ctx.clock.set(`${installOn}T15:00:00+08:00`);
      const r = await post(`/api/v1/connections/${a.id}/steps/install_energise/complete`, agent, { meterAssetNo: assetNo });
      expect(r.statusCode, r.body).toBe(200);
      done.push(r.json());
      const listed = (await get('/api/v1/connections?status=completed&limit=500', agent)).json().items.find((x: { id: number }) => x.id === a.id);
      expect(listed).toMatchObject({ onTime: r.json().onTime, workingDaysUsed: r.json().workingDaysUsed });
    }
    expect(done.map((d) => [d.workingDaysUsed, d.onTime, d.overdue])).toEqual([[5, true, false], [6, false, false]]);
  });

  it('handing in for a step the application does not have is CONNECTION_STEP_UNKNOWN, as completing it is', async () => {
    ctx.clock.set('2026-03-02T09:00:00+08:00');
    const agent = await signIn(app, 'agent.LN0101');
    const a = (await post('/api/v1/connections', agent, {
      externalRef: 'YK-RULES-0201', type: 'hv_single', applicantName: '抚顺化工有限公司', address: '新华路20号', category: 'large_industry',
      tariffCode: 'LI-2P', capacityKva: 630, orgCode: 'LN0101',
    })).json();
    for (const action of ['hand-in', 'complete']) {
      const r = await post(`/api/v1/connections/${a.id}/steps/survey/${action}`, agent);
      expect([r.statusCode, r.json().code], action).toEqual([404, 'CONNECTION_STEP_UNKNOWN']);
    }
    const early = await post(`/api/v1/connections/${a.id}/steps/design_review/hand-in`, agent);
    expect([early.statusCode, early.json().code]).toEqual([409, 'CONNECTION_STEP_REFUSED']);
  });
});

describe('95598 chasers', () => {
  it('answering an order answers its running chasers: they are not escalated as late afterwards', async () => {
    ctx.clock.set('2026-03-02T10:00:00+08:00');
    const agent = await signIn(app, 'agent.LN0101');
    const order = { orgCode: 'LN0101', address: '新华路5号', callerName: '孙女士', callerPhone: '13900005555' };
    const complaint = (await post('/api/v1/orders', agent, { ...order, externalRef: 'RULES-95598-1', kind: 'complaint', description: '电压低' })).json();
    ctx.clock.set('2026-03-04T10:00:00+08:00');
    const chaser = (await post('/api/v1/orders', agent, { ...order, externalRef: 'RULES-95598-2', kind: 'chaser', parentOrderId: complaint.id, description: '催办' })).json();
    expect(chaser).toMatchObject({ status: 'dispatched', parentOrderId: complaint.id });
    ctx.clock.set('2026-03-04T15:00:00+08:00');
    expect((await post(`/api/v1/orders/${complaint.id}/resolve`, agent, { resolution: '调整变压器分接头' })).json()).toMatchObject({ status: 'resolved' });
    const answered = (await get(`/api/v1/orders/${chaser.id}`, agent)).json();
    expect(answered).toMatchObject({ status: 'resolved', overdue: false, resolvedOnTime: true });
    expect(answered.events.map((e: { action: string; actor: string }) => e.action)).toEqual(['receive', 'resolve']);
    ctx.clock.set('2026-03-09T10:00:00+08:00');
    await escalateOverdueOrders(ctx, ctx.clock.now());
    expect((await get(`/api/v1/orders/${chaser.id}`, agent)).json()).toMatchObject({ escalationLevel: 0 });
  });
});
