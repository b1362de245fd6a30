import { describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { TestContext } from '../support/db.ts';
import { provinceApi, signIn } from '../support/http.ts';
import { AppError, hashPassword } from '../../src/platform/index.ts';
import { completeTasksWithOutcomes } from '../../src/flows/work-task-outcome.ts';
import { openTasks, type TaskKind } from '../../src/work/index.ts';
import { DEMO_PASSWORD } from '../../src/sim/province.ts';

let ctx: TestContext;
let app: FastifyInstance;

interface Place { id: number; number: string; grid: string; team: string; mobile: string | null }

/** A customer of a county with the codes of its grid and its area's team (the staff sign-in names derive from them). */
async function customerIn(county: string, offset = 0): Promise<Place> {
  const r = await sql<Place>`
    SELECT c.id::int AS id, c.number, g.code AS grid, t.code AS team,
           (SELECT k.value FROM contact k WHERE k.customer_id = c.id AND k.kind = 'mobile' ORDER BY k.id LIMIT 1) AS mobile
    FROM customer c JOIN org_unit g ON g.id = c.grid_id JOIN transformer_area ta ON ta.id = c.transformer_area_id JOIN team t ON t.id = ta.team_id
    WHERE c.org_path LIKE ${`%/${county}/%`} AND EXISTS (SELECT 1 FROM contact k WHERE k.customer_id = c.id AND k.kind = 'mobile')
    ORDER BY c.number OFFSET ${offset} LIMIT 1`.execute(ctx.db);
  return r.rows[0]!;
}

let seq = 0;
async function open(kind: TaskKind, customerId: number, payload: Record<string, unknown> = {}): Promise<number> {
  const key = `test:${kind}:${++seq}`;
  await openTasks(ctx.db, ctx.clock.now(), [{ kind, idempotencyKey: key, title: `${kind} ${seq}`, customerId, payload, createdBy: 'test' }]);
  const r = await sql<{ id: number }>`SELECT id FROM task WHERE idempotency_key = ${key}`.execute(ctx.db);
  return Number(r.rows[0]!.id);
}

const post = (url: string, headers: Record<string, string>, payload: unknown = {}) => app.inject({ method: 'POST', url, headers, payload: payload as object });

provinceApi({ customers: 1500, now: '2026-03-02T09:00:00+08:00' }, (c, a) => {
  ctx = c;
  app = a;
});

describe('task inbox', () => {
  const outcomes: Record<TaskKind, (p: Place) => Record<string, unknown>> = {
    re_read: () => ({ readingDate: '2026-03-02', totalKwh: '1234.5600' }),
    manual_collection: () => ({ result: 'paid_on_site', amount: '256.30', receiptNo: 'R-1' }),
    contact_verification: () => ({ result: 'corrected', contact: { kind: 'mobile', value: '13912345678' } }),
    business_change: () => ({ changeType: 'tariff', effectiveDate: '2026-04-01', newTariffCode: 'RES-TOU' }),
    consultation: () => ({ answer: 'explained the tiered tariff' }),
    area_inspection: () => ({ findings: 'meter box door broken', defects: ['box-door'] }),
    disconnect: () => ({ registerKwh: '1500.2' }),
    reconnect: () => ({}),
    meter_exchange: () => ({}),
  };

  it('walks every kind open → accepted → in progress → done, with its outcome and audit trail', async () => {
    const place = await customerIn('LN0101');
    const gm = await signIn(app, `gm.${place.grid}`);
    const team = await signIn(app, `team.${place.team}.1`);
    const kinds = Object.keys(outcomes).filter((k) => k !== 'meter_exchange') as TaskKind[];
    for (const kind of kinds) {
      const id = await open(kind, place.id);
      const task = (await app.inject({ url: `/api/v1/tasks/${id}`, headers: gm })).json();
      const worker = task.teamId ? team : gm;
      for (const step of ['accept', 'start']) expect((await post(`/api/v1/tasks/${id}/${step}`, worker)).statusCode, `${kind} ${step}`).toBe(200);
      const done = await post(`/api/v1/tasks/${id}/complete`, worker, { outcome: outcomes[kind](place) });
      expect(done.statusCode, `${kind}: ${done.body}`).toBe(200);
      expect(done.json().status).toBe('done');
      const events = (await app.inject({ url: `/api/v1/tasks/${id}`, headers: gm })).json().events;
      expect(events.map((e: { action: string }) => e.action)).toEqual(['open', 'accept', 'start', 'complete']);
    }
    const reading = await sql<{ total_kwh: string; quality: string }>`
      SELECT r.total_kwh, r.quality FROM meter_reading r JOIN service_point sp ON sp.meter_id = r.meter_id
      WHERE sp.customer_id = ${place.id} AND r.reading_date = '2026-03-02'`.execute(ctx.db);
    expect(reading.rows).toEqual([{ total_kwh: '1234.5600', quality: 're_read' }]);
    const contact = await sql<{ status: string }>`SELECT status FROM contact WHERE customer_id = ${place.id} AND value = '13912345678'`.execute(ctx.db);
    expect(contact.rows).toEqual([{ status: 'verified' }]);
  });

  it('records each manual-collection result and keeps a paid-on-site amount exact', async () => {
    const place = await customerIn('LN0101', 1);
    const gm = await signIn(app, `gm.${place.grid}`);
    const results = [
      { result: 'paid_on_site', amount: '0.10' },
      { result: 'promise_to_pay', promisedDate: '2026-03-09' },
      { result: 'dispute', reason: 'says the meter runs fast' },
      { result: 'vacant_premises' },
      { result: 'wrong_contact_corrected', contact: { kind: 'mobile', value: '13800002222' } },
    ];
    for (const outcome of results) {
      const id = await open('manual_collection', place.id, { outstanding: '88.80' });
      await post(`/api/v1/tasks/${id}/start`, gm);
      const r = await post(`/api/v1/tasks/${id}/complete`, gm, { outcome });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json().outcome).toMatchObject(outcome);
      if (outcome.result === 'paid_on_site') {
        expect(r.json().outcome.payment).toMatchObject({ reference: `task-${id}`, amount: '0.10' });
        const posted = await sql<{ amount: string; channel: string }>`SELECT amount, channel FROM payment WHERE reference = ${`task-${id}`}`.execute(ctx.db);
        expect(posted.rows).toEqual([{ amount: '0.10', channel: 'grid_manager' }]);
      }
    }
  });

  it('refuses closing twice, accepting a closed task and a malformed outcome, and changes nothing', async () => {
    const place = await customerIn('LN0101', 2);
    const gm = await signIn(app, `gm.${place.grid}`);
    const id = await open('manual_collection', place.id);
    expect((await post(`/api/v1/tasks/${id}/complete`, gm, { outcome: { result: 'vacant_premises' } })).json().code).toBe('TASK_TRANSITION_REFUSED');
    await post(`/api/v1/tasks/${id}/start`, gm);
    const bad = await post(`/api/v1/tasks/${id}/complete`, gm, { outcome: { result: 'paid_on_site', amount: 12.5 } });
    expect([bad.statusCode, bad.json().code]).toEqual([400, 'TASK_OUTCOME_INVALID']);
    expect((await app.inject({ url: `/api/v1/tasks/${id}`, headers: gm })).json()).toMatchObject({ status: 'in_progress', outcome: null });
    expect((await post(`/api/v1/tasks/${id}/complete`, gm, { outcome: { result: 'vacant_premises' } })).statusCode).toBe(200);
    const twice = await post(`/api/v1/tasks/${id}/complete`, gm, { outcome: { result: 'dispute', reason: 'x' } });
    expect([twice.statusCode, twice.json().code]).toEqual([409, 'TASK_TRANSITION_REFUSED']);
    expect((await post(`/api/v1/tasks/${id}/accept`, gm)).json().code).toBe('TASK_TRANSITION_REFUSED');
    const after = (await app.inject({ url: `/api/v1/tasks/${id}`, headers: gm })).json();
    expect(after.outcome).toEqual({ result: 'vacant_premises' });
    expect(after.events).toHaveLength(3);

    const other = await open('consultation', place.id);
    const cannot = await post(`/api/v1/tasks/${other}/cannot-complete`, gm, { reason: '' });
    expect(cannot.json().code).toBe('TASK_OUTCOME_INVALID');
    await post(`/api/v1/tasks/${other}/accept`, gm);
    expect((await post(`/api/v1/tasks/${other}/cannot-complete`, gm, { reason: 'customer moved away' })).json()).toMatchObject({ status: 'cannot_complete', outcome: { reason: 'customer moved away' } });
  });

  it('completes a day of visits in one batch: an unknown, refused or invalid one comes back as its error, the others go through', async () => {
    const place = await customerIn('LN0101', 9);
    const [paid, verify, closed, bad] = [await open('manual_collection', place.id), await open('contact_verification', place.id),
      await open('consultation', place.id), await open('manual_collection', place.id)];
    await completeTasksWithOutcomes(ctx, { actor: 'test' }, [{ taskId: closed, outcome: { answer: 'explained' }, start: true }]);
    const r = await completeTasksWithOutcomes(ctx, { actor: 'test' }, [
      { taskId: paid, outcome: { result: 'paid_on_site', amount: '12.34' }, start: true },
      { taskId: closed, outcome: { answer: 'again' }, start: true },
      { taskId: 987654321, outcome: { answer: 'x' } },
      { taskId: bad, outcome: { result: 'paid_on_site', amount: 12.5 }, start: true },
      { taskId: verify, outcome: { result: 'corrected', contact: { kind: 'mobile', value: '13912340000' } }, start: true },
    ]);
    expect(r.map((x) => (x instanceof AppError ? x.code : x.status))).toEqual(['done', 'TASK_TRANSITION_REFUSED', 'TASK_UNKNOWN', 'TASK_OUTCOME_INVALID', 'done']);
    const events = await sql<{ task_id: number; action: string }>`SELECT task_id::int, action FROM task_event WHERE task_id IN (${paid}, ${closed}, ${bad}, ${verify}) AND action <> 'open' ORDER BY id`.execute(ctx.db);
    expect(events.rows).toEqual([
      { task_id: closed, action: 'start' }, { task_id: closed, action: 'complete' },
      { task_id: paid, action: 'start' }, { task_id: paid, action: 'complete' },
      { task_id: verify, action: 'start' }, { task_id: verify, action: 'complete' },
    ]);
    const money = await sql<{ amount: string }>`SELECT amount FROM payment WHERE channel = 'grid_manager' AND reference = ${`task-${paid}`}`.execute(ctx.db);
    expect(money.rows).toEqual([{ amount: '12.34' }]);
    expect((r[0] as unknown as { outcome: { payment: { amount: string } } }).outcome.payment.amount).toBe('12.34');
    const contact = await sql<{ status: string }>`SELECT status FROM contact WHERE customer_id = ${place.id} AND value = '13912340000'`.execute(ctx.db);
    expect(contact.rows).toEqual([{ status: 'verified' }]);
    // the corrected number carries the notices its kind carried (the failing one no longer does)
    const agreed = await sql<{ channel: string; value: string }>`
      SELECT a.channel, ct.value FROM channel_agreement a JOIN contact ct ON ct.id = a.contact_id
      WHERE a.customer_id = ${place.id} AND a.withdrawn_at IS NULL AND ct.kind = 'mobile' ORDER BY a.channel`.execute(ctx.db);
    expect(agreed.rows.length).toBeGreaterThan(0);
    expect(agreed.rows.every((a) => a.value === '13912340000')).toBe(true);
    const untouched = await sql<{ status: string }>`SELECT status FROM task WHERE id = ${bad}`.execute(ctx.db);
    expect(untouched.rows).toEqual([{ status: 'open' }]);
  });

  it("the workbench lists the worker's open tasks soonest due first, with the customer card and the amount owed", async () => {
    const place = await customerIn('LN0101', 3);
    const gm = await signIn(app, `gm.${place.grid}`);
    const collection = await open('manual_collection', place.id, { outstanding: '312.45' });
    const consultation = await open('consultation', place.id);
    const team = await open('area_inspection', place.id);
    const items = (await app.inject({ url: '/api/v1/me/tasks?limit=500', headers: gm })).json().items as { id: number; dueAt: string; amountOwed: string | null; customer: { mobile: string; address: string } }[];
    const ids = items.map((t) => t.id);
    expect(ids).toContain(collection);
    expect(ids).not.toContain(team);
    expect(ids.indexOf(consultation)).toBeLessThan(ids.indexOf(collection));
    expect([...items].sort((a, b) => a.dueAt.localeCompare(b.dueAt)).map((t) => t.id)).toEqual(ids);
    const card = items.find((t) => t.id === collection)!;
    expect(card.amountOwed).toBe('312.45');
    expect(card.customer.mobile).toBe(place.mobile);
    expect(card.customer.address).toMatch(/辽宁省/);
    const member = await signIn(app, `team.${place.team}.2`);
    expect((await app.inject({ url: '/api/v1/me/tasks?limit=500', headers: member })).json().items.map((t: { id: number }) => t.id)).toContain(team);
    const analyst = await signIn(app, 'analyst');
    const masked = (await app.inject({ url: `/api/v1/tasks?kind=manual_collection&limit=500`, headers: analyst })).json().items.find((t: { id: number }) => t.id === collection);
    expect(masked.customer.mobile).toMatch(/^\d{3}\*+\d{2}$/);
  });

  it('flags tasks past their due time against the business clock', async () => {
    const place = await customerIn('LN0101', 4);
    const admin = await signIn(app, 'admin');
    const id = await open('consultation', place.id);
    const before = (await app.inject({ url: `/api/v1/tasks?overdue=true&limit=500`, headers: admin })).json().items.map((t: { id: number }) => t.id);
    expect(before).not.toContain(id);
    ctx.clock.advance(25 * 3600_000);
    const after = (await app.inject({ url: `/api/v1/tasks?overdue=true&kind=consultation&limit=500`, headers: admin })).json();
    expect(after.items.map((t: { id: number }) => t.id)).toContain(id);
    expect(after.items.find((t: { id: number }) => t.id === id)).toMatchObject({ overdue: true });
  });

  it("a county agent sees only its county's tasks", async () => {
    const own = await customerIn('LN0101', 5);
    const other = await customerIn('LN0201', 0);
    const mine = await open('consultation', own.id);
    const theirs = await open('consultation', other.id);
    const agent = await signIn(app, 'agent.LN0101');
    const list = (await app.inject({ url: '/api/v1/tasks?limit=500', headers: agent })).json();
    const ids = list.items.map((t: { id: number }) => t.id);
    expect(ids).toContain(mine);
    expect(ids).not.toContain(theirs);
    expect(list.items.every((t: { orgPath: string }) => t.orgPath.includes('/LN0101/'))).toBe(true);
    expect((await app.inject({ url: `/api/v1/tasks/${theirs}`, headers: agent })).statusCode).toBe(403);
    expect((await post(`/api/v1/tasks/${theirs}/accept`, agent)).statusCode).toBe(403);
  });

  it("an absent manager's open tasks move to a colleague of the same grid, and reassignment stays in the area", async () => {
    const place = await customerIn('LN0101', 6);
    const grid = await sql<{ id: number }>`SELECT id FROM org_unit WHERE code = ${place.grid}`.execute(ctx.db);
    await sql`INSERT INTO staff (id, code, name, role, org_id, password_hash) VALUES (9001, ${`gm2.${place.grid}`}, '替班经理', 'grid_manager', ${grid.rows[0]!.id}, ${hashPassword(DEMO_PASSWORD, 's')})`.execute(ctx.db);
    const id = await open('manual_collection', place.id, { outstanding: '50.00' });
    const agent = await signIn(app, 'agent.LN0101');
    const absence = await post('/api/v1/staff-absences', agent, { staffCode: `gm.${place.grid}`, fromDate: '2026-03-01', toDate: '2026-03-20', reason: 'training' });
    expect(absence.statusCode, absence.body).toBe(201);
    expect(absence.json().tasksReassigned).toBeGreaterThan(0);
    const sub = await signIn(app, `gm2.${place.grid}`);
    expect((await app.inject({ url: '/api/v1/me/tasks?limit=500', headers: sub })).json().items.map((t: { id: number }) => t.id)).toContain(id);
    const events = (await app.inject({ url: `/api/v1/tasks/${id}`, headers: agent })).json().events;
    expect(events.at(-1)).toMatchObject({ action: 'reassign', toAssignee: 9001, note: 'assignee absent' });
    const far = await post(`/api/v1/tasks/${id}/reassign`, await signIn(app, 'admin'), { staffCode: 'gm.' + (await customerIn('LN0201')).grid });
    expect(far.json().code).toBe('TASK_ASSIGNEE_OUT_OF_AREA');
    const back = await post(`/api/v1/tasks/${id}/reassign`, agent, { staffCode: `gm.${place.grid}`, note: 'back from training' });
    expect(back.json().assigneeStaffId).not.toBe(9001);
  });
});
