import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import { manualCollectionKey } from '../../src/dunning/index.ts';
import { openTasks } from '../../src/work/index.ts';
import { agreeChannels, customersWithChannels, pay, releaseBills } from './support.ts';

let ctx: TestContext;
let silent: { id: number; number: string }[];

const runAt = async (date: string) => {
  ctx.clock.set(`${date}T09:00:00+08:00`);
  return runDunning(ctx, date);
};

interface TaskRow {
  kind: string; idempotency_key: string; title: string; org_path: string; assignee_staff_id: number | null; payload: unknown;
  created_by: string; hours: number; events: number;
}
const tasksOf = async (customerId: number): Promise<TaskRow[]> => (await sql<TaskRow>`
  SELECT t.kind, t.idempotency_key, t.title, t.org_path, t.assignee_staff_id, t.payload, t.created_by,
         extract(epoch FROM t.due_at - t.opened_at)::int / 3600 AS hours,
         (SELECT count(*)::int FROM task_event e WHERE e.task_id = t.id AND e.action = 'open') AS events
  FROM task t WHERE t.customer_id = ${customerId} ORDER BY t.id`.execute(ctx.db)).rows;

beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: '2026-02-01T09:00:00+08:00' });
  silent = await customersWithChannels(ctx, ['sms'], 3);
  for (const c of silent) await agreeChannels(ctx, c.id, []);
  await releaseBills(ctx, silent.map((c) => ({
    customerId: c.id, period: '2026-01', amount: '120.50', issuedOn: '2026-02-01', dueDate: '2026-02-16', releasedAt: new Date('2026-02-01T08:00:00+08:00'),
  })));
}, 180_000);
afterAll(async () => ctx?.drop());

describe('manual collection hand-over', () => {
  it('opens one task per debt from the run, in SQL, with the title, payload and routing of the grid manager', async () => {
    const bill = async (customerId: number) =>
      Number((await sql<{ id: number }>`SELECT id FROM bill WHERE customer_id = ${customerId}`.execute(ctx.db)).rows[0]!.id);
    // one debt already has a task under its key (opened by hand): it is left alone, the others open
    const byHand = silent[2]!;
    await openTasks(ctx.db, ctx.clock.now(), [{
      kind: 'manual_collection', idempotencyKey: manualCollectionKey(byHand.id, await bill(byHand.id)), title: 'by hand',
      customerId: byHand.id, createdBy: 'test',
    }]);

    expect((await runAt('2026-02-01')).manualCollection).toBe(0);
    const r = await runAt('2026-02-13');
    expect(r.notices).toContainEqual({ step: 'reminder', status: 'no_channel', n: 3 });
    expect(r.manualCollection).toBe(3);

    const [first] = silent;
    const billId = await bill(first!.id);
    const org = (await sql<{ org_path: string }>`SELECT org_path FROM customer WHERE id = ${first!.id}`.execute(ctx.db)).rows[0]!.org_path;
    const tasks = await tasksOf(first!.id);
    expect(tasks).toEqual([{
      kind: 'manual_collection', idempotency_key: `dunning:manual_collection:${first!.id}:${billId}`,
      title: `人工催费：无约定通知渠道，电费 120.50 元（B2026-01-${first!.number}）`, org_path: org, assignee_staff_id: expect.any(Number),
      payload: { billId, billNo: `B2026-01-${first!.number}`, outstanding: '120.50', reason: 'no_channel' },
      created_by: 'dunning', hours: expect.any(Number), events: 1,
    }]);
    expect(tasks[0]!.hours).toBeGreaterThan(0);
    expect((await tasksOf(silent[1]!.id)).map((t) => t.title)).toEqual([`人工催费：无约定通知渠道，电费 120.50 元（B2026-01-${silent[1]!.number}）`]);
    expect((await tasksOf(byHand.id)).map((t) => `${t.title}:${t.events}`)).toEqual(['by hand:1']);
    const escalations = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM dunning_escalation WHERE kind = 'manual_collection' AND reason = 'no_channel'
        AND customer_id IN (${silent[0]!.id}, ${silent[1]!.id}, ${silent[2]!.id})`.execute(ctx.db);
    expect(escalations.rows[0]!.n).toBe(3);
  });

  it('opens nothing more on a rerun or on the next step', async () => {
    const before = await sql<{ n: number }>`SELECT count(*)::int AS n FROM task`.execute(ctx.db);
    expect((await runAt('2026-02-13')).manualCollection).toBe(0);
    expect((await runAt('2026-02-17')).manualCollection).toBe(0);
    const after = await sql<{ n: number }>`SELECT count(*)::int AS n FROM task`.execute(ctx.db);
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });

  it('calls off the task of a debt paid since, and leaves alone a task already worked and a debt still owed', async () => {
    const [paid, worked, owing] = silent;
    const task = async (customerId: number) => (await sql<{ status: string; outcome: unknown }>`
      SELECT status, outcome FROM task WHERE customer_id = ${customerId} AND kind = 'manual_collection'`.execute(ctx.db)).rows;
    // the grid manager recorded an outcome for one; then both customers pay in full (the excess is prepaid)
    await sql`UPDATE task SET status = 'done', closed_at = now(), outcome = '{"result":"promise_to_pay"}'::jsonb
              WHERE customer_id = ${worked!.id} AND kind = 'manual_collection'`.execute(ctx.db);
    ctx.clock.set('2026-02-18T10:00:00+08:00');
    await pay(ctx, paid!.number, '200.00', '2026-02-18', 'mc-paid');
    await pay(ctx, worked!.number, '200.00', '2026-02-18', 'mc-worked');

    const r = await runAt('2026-02-18');
    expect(r.collectionsSettled).toBe(2);
    expect(await task(paid!.id)).toEqual([{ status: 'cancelled', outcome: { closedBy: 'debt_settled' } }]);
    expect(await task(worked!.id)).toEqual([{ status: 'done', outcome: { result: 'promise_to_pay' } }]);
    expect((await task(owing!.id)).map((t) => t.status)).toEqual(['open']);
    expect((await runAt('2026-02-18')).collectionsSettled).toBe(0);
  });
});

describe('when notice 3 hands over to the grid manager', () => {
  it('on due + 18 days (notice 3 on due + 15, then the policy grace); a chase that starts late gives its notice 3 the grace first', async () => {
    const [onTime, lateStart] = (await customersWithChannels(ctx, ['sms'], 2)) as [{ id: number; number: string }, { id: number; number: string }];
    const billOf = (c: { id: number }) => ({
      customerId: c.id, period: '2026-02', amount: '64.00', issuedOn: '2026-03-01', dueDate: '2026-03-16', releasedAt: new Date('2026-03-01T08:00:00+08:00'),
    });
    const collectionsOf = async (customerId: number) => (await sql<{ reason: string; created_on: string }>`
      SELECT reason, created_on::text FROM dunning_escalation WHERE kind = 'manual_collection' AND customer_id = ${customerId}`.execute(ctx.db)).rows;
    await releaseBills(ctx, [billOf(onTime)]);
    expect((await runAt('2026-03-31')).notices).toContainEqual({ step: 'overdue_3', status: 'pending', n: 1 });
    expect((await runAt('2026-04-02')).manualCollection).toBe(0);
    // the other debt's first run is on due + 18: its notice 3 goes out, and a person calls only when its grace is over
    await releaseBills(ctx, [billOf(lateStart)]);
    const r = await runAt('2026-04-03');
    expect(r.notices).toContainEqual({ step: 'overdue_3', status: 'pending', n: 1 });
    expect(r.manualCollection).toBe(1);
    expect(await collectionsOf(onTime.id)).toEqual([{ reason: 'after_notice_3', created_on: '2026-04-03' }]);
    expect(await collectionsOf(lateStart.id)).toEqual([]);
    expect((await runAt('2026-04-06')).manualCollection).toBe(1);
    expect(await collectionsOf(lateStart.id)).toEqual([{ reason: 'after_notice_3', created_on: '2026-04-06' }]);
  });
});
