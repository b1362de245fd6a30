import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { openTasks } from '../../src/work/index.ts';

// A task's team and assignee are checked per statement (0806), as the foreign keys they replace did per row.
let ctx: TestContext;
let customerId: number;

const failure = async (p: Promise<unknown>) => {
  const e = await p.then(() => undefined, (err: unknown) => err as { code?: string; constraint?: string });
  return e && { code: e.code, constraint: e.constraint };
};
const unknownId = async (table: 'staff' | 'team') => Number((await sql<{ id: number }>`SELECT max(id) + 1000 AS id FROM ${sql.table(table)}`.execute(ctx.db)).rows[0]!.id);

async function openManualCollection(key: string): Promise<{ id: number; assignee: number }> {
  await openTasks(ctx.db, ctx.clock.now(), [{ kind: 'manual_collection', idempotencyKey: key, title: key, customerId, payload: {}, createdBy: 'test' }]);
  const r = await sql<{ id: number; assignee: number }>`SELECT id, assignee_staff_id AS assignee FROM task WHERE idempotency_key = ${key}`.execute(ctx.db);
  return { id: Number(r.rows[0]!.id), assignee: Number(r.rows[0]!.assignee) };
}

beforeAll(async () => {
  ctx = await testContext({ customers: 40 });
  customerId = Number((await sql<{ id: number }>`SELECT min(id) AS id FROM customer`.execute(ctx.db)).rows[0]!.id);
});
afterAll(async () => ctx?.drop());

describe('task references to staff and teams', () => {
  it('refuses a statement that writes a task naming staff or a team that does not exist, and keeps what was stored', async () => {
    const task = await openManualCollection('test:refs:1');
    expect(task.assignee).toBeGreaterThan(0);
    const noStaff = await unknownId('staff');
    const noTeam = await unknownId('team');

    expect(await failure(sql`UPDATE task SET assignee_staff_id = ${noStaff} WHERE id = ${task.id}`.execute(ctx.db)))
      .toEqual({ code: '23503', constraint: 'task_assignee_fkey' });
    expect(await failure(sql`UPDATE task SET team_id = ${noTeam} WHERE id = ${task.id}`.execute(ctx.db)))
      .toEqual({ code: '23503', constraint: 'task_team_fkey' });
    // one bad row among good ones: the whole statement is refused
    expect(await failure(sql`
      INSERT INTO task (kind, idempotency_key, title, org_path, assignee_staff_id, payload, opened_at, due_at, created_by)
      SELECT 'manual_collection', 'test:refs:batch:' || i, 'batch', '/', CASE WHEN i = 3 THEN ${noStaff}::int ELSE ${task.assignee}::int END, '{}', now(), now(), 'test'
      FROM generate_series(1, 5) i`.execute(ctx.db))).toEqual({ code: '23503', constraint: 'task_assignee_fkey' });

    const after = await sql<{ assignee: number; team: number | null; batch: number }>`
      SELECT assignee_staff_id AS assignee, team_id AS team,
             (SELECT count(*)::int FROM task WHERE idempotency_key LIKE 'test:refs:batch:%') AS batch
      FROM task WHERE id = ${task.id}`.execute(ctx.db);
    expect(after.rows[0]).toEqual({ assignee: task.assignee, team: null, batch: 0 });
    // a valid reassignment still goes through
    const other = Number((await sql<{ id: number }>`SELECT min(id) AS id FROM staff WHERE id <> ${task.assignee}`.execute(ctx.db)).rows[0]!.id);
    await sql`UPDATE task SET assignee_staff_id = ${other} WHERE id = ${task.id}`.execute(ctx.db);
    await sql`UPDATE task SET assignee_staff_id = ${task.assignee} WHERE id = ${task.id}`.execute(ctx.db);
  });

  it('refuses to delete staff or a team a task names, or to change their ids; the others can go', async () => {
    const task = await openManualCollection('test:refs:2');
    // a team of its own: no staff row names it (staff_team_fkey would answer first)
    const team = Number((await sql<{ id: number }>`
      INSERT INTO team (id, code, name, kind, org_id)
      SELECT max(id) + 1, 'spare-' || max(id), 'spare', 'collection_ops', min(org_id) FROM team RETURNING id`.execute(ctx.db)).rows[0]!.id);
    await sql`UPDATE task SET team_id = ${team} WHERE id = ${task.id}`.execute(ctx.db);

    expect(await failure(sql`DELETE FROM staff WHERE id = ${task.assignee}`.execute(ctx.db))).toEqual({ code: '23503', constraint: 'task_assignee_fkey' });
    expect(await failure(sql`UPDATE staff SET id = ${await unknownId('staff')} WHERE id = ${task.assignee}`.execute(ctx.db)))
      .toEqual({ code: '23503', constraint: 'task_assignee_fkey' });
    expect(await failure(sql`DELETE FROM team WHERE id = ${team}`.execute(ctx.db))).toEqual({ code: '23503', constraint: 'task_team_fkey' });
    expect(await failure(sql`UPDATE team SET id = ${await unknownId('team')} WHERE id = ${team}`.execute(ctx.db)))
      .toEqual({ code: '23503', constraint: 'task_team_fkey' });
    // other changes to a named row, and deleting a row no task names
    await sql`UPDATE staff SET active = active WHERE id = ${task.assignee}`.execute(ctx.db);
    const spare = Number((await sql<{ id: number }>`
      INSERT INTO staff (id, code, name, role, org_id, password_hash)
      SELECT max(id) + 1, 'spare-' || max(id), 'spare', 'grid_manager', min(org_id), 'x' FROM staff RETURNING id`.execute(ctx.db)).rows[0]!.id);
    await sql`DELETE FROM staff WHERE id = ${spare}`.execute(ctx.db);
    const left = await sql<{ n: number }>`SELECT count(*)::int AS n FROM staff WHERE id IN (${task.assignee}, ${spare})`.execute(ctx.db);
    expect(left.rows[0]!.n).toBe(1);
  });
});
