import { describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { TestContext } from '../support/db.ts';
import { provinceApi, signIn } from '../support/http.ts';
import { hashPassword } from '../../src/platform/index.ts';
import { openTasks, reassignForAbsences, type TaskKind } from '../../src/work/index.ts';
import { DEMO_PASSWORD } from '../../src/sim/province.ts';

// Who holds a task when its holder is away or gone, and who may be handed it. Each test works in a county
// of its own (one grid and one collection team each at this size), so the staff it adds stay there.
let ctx: TestContext;
let app: FastifyInstance;
const post = (url: string, headers: Record<string, string>, payload: unknown = {}) => app.inject({ method: 'POST', url, headers, payload: payload as object });
const get = (url: string, headers: Record<string, string>) => app.inject({ url, headers });
const ids = (r: { json: () => { items: { id: number }[] } }) => r.json().items.map((t) => t.id);

interface Place { id: number; grid: string; team: string; area: string }

async function customerIn(county: string): Promise<Place> {
  const r = await sql<Place>`
    SELECT c.id::int AS id, g.code AS grid, t.code AS team, ta.code AS area
    FROM customer c JOIN org_unit g ON g.id = c.grid_id JOIN transformer_area ta ON ta.id = c.transformer_area_id JOIN team t ON t.id = ta.team_id
    WHERE c.org_path LIKE ${`%/${county}/%`} ORDER BY c.number LIMIT 1`.execute(ctx.db);
  return r.rows[0]!;
}

let seq = 0;
async function open(kind: TaskKind, customerId: number): Promise<number> {
  const key = `handover:${kind}:${++seq}`;
  await openTasks(ctx.db, ctx.clock.now(), [{ kind, idempotencyKey: key, title: `${kind} ${seq}`, customerId, createdBy: 'test' }]);
  return Number((await sql<{ id: number }>`SELECT id FROM task WHERE idempotency_key = ${key}`.execute(ctx.db)).rows[0]!.id);
}

const staffId = async (code: string) => Number((await sql<{ id: number }>`SELECT id FROM staff WHERE code = ${code}`.execute(ctx.db)).rows[0]!.id);

async function addStaff(id: number, code: string, role: string, orgCode: string, teamId: number | null = null): Promise<void> {
  await sql`
    INSERT INTO staff (id, code, name, role, org_id, team_id, password_hash)
    SELECT ${id}, ${code}, ${code}, ${role}, id, ${teamId}, ${hashPassword(DEMO_PASSWORD, 's')} FROM org_unit WHERE code = ${orgCode}`.execute(ctx.db);
}

provinceApi({ customers: 600, now: '2026-03-02T09:00:00+08:00' }, (c, a) => {
  ctx = c;
  app = a;
});

describe('absence substitutes', () => {
  it("an absent community manager's tasks go to a colleague of the same grid before a sibling grid's manager", async () => {
    const place = await customerIn('LN0101');
    const station = place.grid.slice(0, -3);
    await sql`
      INSERT INTO org_unit (id, code, name, name_en, level, parent_id, path)
      SELECT 9900, ${`${station}G09`}, '邻近社区网格', 'sibling grid', 'grid', id, path || ${`${station}G09/`} FROM org_unit WHERE code = ${station}`.execute(ctx.db);
    await addStaff(9901, `gm.${station}G09`, 'grid_manager', `${station}G09`);
    await addStaff(9902, `gm2.${place.grid}`, 'grid_manager', place.grid);
    const id = await open('manual_collection', place.id);
    const agent = await signIn(app, 'agent.LN0101');
    expect((await get(`/api/v1/tasks/${id}`, agent)).json().assigneeStaffId).toBe(await staffId(`gm.${place.grid}`));

    const absence = await post('/api/v1/staff-absences', agent, { staffCode: `gm.${place.grid}`, fromDate: '2026-03-02', toDate: '2026-03-06', reason: 'training' });
    expect(absence.statusCode, absence.body).toBe(201);
    const task = (await get(`/api/v1/tasks/${id}`, agent)).json();
    expect(task.assigneeStaffId).toBe(9902);
    expect(task.events.at(-1)).toMatchObject({ action: 'reassign', toAssignee: 9902, note: 'assignee absent' });
  });

  it("an absent team member's task goes to a colleague of the same team, not to another team of the county", async () => {
    const place = await customerIn('LN0201');
    // a second team of the county takes over this area; the first team's members have the lower ids
    await sql`INSERT INTO team (id, code, name, kind, org_id) SELECT 9910, 'LN0201T99', '采集运维99班', 'collection_ops', id FROM org_unit WHERE code = 'LN0201'`.execute(ctx.db);
    await sql`UPDATE transformer_area SET team_id = 9910 WHERE code = ${place.area}`.execute(ctx.db);
    await addStaff(9911, 'team.LN0201T99.1', 'collection_team', 'LN0201', 9910);
    await addStaff(9912, 'team.LN0201T99.2', 'collection_team', 'LN0201', 9910);
    const id = await open('re_read', place.id);
    const started = await post(`/api/v1/tasks/${id}/start`, await signIn(app, 'team.LN0201T99.1'));
    expect(started.json()).toMatchObject({ status: 'in_progress', assigneeStaffId: 9911, teamId: 9910 });

    const agent = await signIn(app, 'agent.LN0201');
    expect((await post('/api/v1/staff-absences', agent, { staffCode: 'team.LN0201T99.1', fromDate: '2026-03-02', toDate: '2026-03-03', reason: 'sick' })).statusCode).toBe(201);
    const task = (await get(`/api/v1/tasks/${id}`, agent)).json();
    expect(task.assigneeStaffId).toBe(9912);
    expect(ids(await get('/api/v1/me/tasks?limit=500', await signIn(app, 'team.LN0201T99.2')))).toContain(id);
    expect(ids(await get('/api/v1/me/tasks?limit=500', await signIn(app, `team.${place.team}.1`)))).not.toContain(id);
  });
});

describe('deactivated staff', () => {
  it("the day's reassignment routes a deactivated holder's tasks again: the grid's to the dispatcher's unassigned list, the team's back to the team", async () => {
    const place = await customerIn('LN0301');
    const gm = `gm.${place.grid}`;
    const member = `team.${place.team}.1`;
    const collection = await open('manual_collection', place.id);
    const reRead = await open('re_read', place.id);
    expect((await post(`/api/v1/tasks/${reRead}/accept`, await signIn(app, member))).json().assigneeStaffId).toBe(await staffId(member));
    await sql`UPDATE staff SET active = false WHERE code IN (${gm}, ${member})`.execute(ctx.db);
    try {
      expect(await reassignForAbsences(ctx.db, ctx.clock.now())).toBe(2);
      expect(await reassignForAbsences(ctx.db, ctx.clock.now())).toBe(0);
      const agent = await signIn(app, 'agent.LN0301');
      expect(ids(await get('/api/v1/tasks?unassigned=true&limit=500', agent))).toContain(collection);
      const c = (await get(`/api/v1/tasks/${collection}`, agent)).json();
      expect(c.events.at(-1)).toMatchObject({ action: 'reassign', fromAssignee: await staffId(gm), toAssignee: null, note: 'assignee inactive' });
      const colleague = await signIn(app, `team.${place.team}.2`);
      expect((await get('/api/v1/me/tasks?limit=500', colleague)).json().items.find((t: { id: number }) => t.id === reRead))
        .toMatchObject({ status: 'accepted', assigneeStaffId: null });
      expect((await post(`/api/v1/tasks/${reRead}/start`, colleague)).json()).toMatchObject({ status: 'in_progress', assigneeStaffId: await staffId(`team.${place.team}.2`) });
    } finally {
      await sql`UPDATE staff SET active = true WHERE code IN (${gm}, ${member})`.execute(ctx.db);
    }
  });
});

describe('who is handed a task', () => {
  it('a manual collection goes only to a community manager and a re-read only to a collection team member; a refusal changes nothing', async () => {
    const place = await customerIn('LN0401');
    const collection = await open('manual_collection', place.id);
    const reRead = await open('re_read', place.id);
    const agent = await signIn(app, 'agent.LN0401');
    const toTeam = await post(`/api/v1/tasks/${collection}/reassign`, agent, { staffCode: `team.${place.team}.1` });
    expect([toTeam.statusCode, toTeam.json().code]).toEqual([409, 'TASK_ASSIGNEE_ROLE']);
    const toManager = await post(`/api/v1/tasks/${reRead}/reassign`, agent, { staffCode: `gm.${place.grid}` });
    expect([toManager.statusCode, toManager.json().code]).toEqual([409, 'TASK_ASSIGNEE_ROLE']);
    for (const [id, holder] of [[collection, await staffId(`gm.${place.grid}`)], [reRead, null]] as const) {
      const t = (await get(`/api/v1/tasks/${id}`, agent)).json();
      expect([t.assigneeStaffId, t.events.map((e: { action: string }) => e.action)]).toEqual([holder, ['open']]);
    }
    const ok = await post(`/api/v1/tasks/${reRead}/reassign`, agent, { staffCode: `team.${place.team}.2` });
    expect([ok.statusCode, ok.json().assigneeStaffId]).toEqual([200, await staffId(`team.${place.team}.2`)]);
  });

  it("a service agent starting a team's untaken task moves it along without taking it from the team", async () => {
    const place = await customerIn('LN0501');
    const id = await open('re_read', place.id);
    const started = await post(`/api/v1/tasks/${id}/start`, await signIn(app, 'agent.LN0501'));
    expect(started.json()).toMatchObject({ status: 'in_progress', assigneeStaffId: null });
    expect(ids(await get('/api/v1/me/tasks?limit=500', await signIn(app, `team.${place.team}.1`)))).toContain(id);
  });
});
