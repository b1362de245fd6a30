import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { planRows, testContext, type TestContext } from '../support/db.ts';
import { ingestReadings, upsertReadings } from '../../src/metering/index.ts';
import { runMeteringDay } from '../../src/flows/metering-day.ts';
import { enterManualReading } from '../../src/flows/metering-reread.ts';
import { meterRefs, series, type MeterRef } from './support.ts';

let ctx: TestContext;
let all: MeterRef[];
let u1: MeterRef; // unread 01-08 and 01-09: re-read task, closed by a manual reading
let u2: MeterRef; // unread 01-09 only: no task
let u3: MeterRef; // unread 01-08 and 01-09: re-read task, closed by a late automatic reading

beforeAll(async () => {
  ctx = await testContext({ customers: 600, now: '2026-01-09T10:00:00+08:00' });
  all = await meterRefs(ctx, 10_000);
  [u1, u2, u3] = [all[5]!, all[6]!, all[300]!];
  const rows = series(all.map((m) => m.id), '2026-01-06', 5).filter((r) =>
    !((r.meterId === u1.id || r.meterId === u3.id) && r.readingDate >= '2026-01-08') && !(r.meterId === u2.id && r.readingDate === '2026-01-09'));
  await upsertReadings(ctx.db, ctx.clock.now(), rows);
});
afterAll(async () => ctx?.drop());

const tasks = async () => (await sql<{ meter_id: number; team_id: number; status: string; outcome: { closedBy?: string } | null; kind: string }>`
  SELECT meter_id::int AS meter_id, team_id, status, outcome, kind FROM task WHERE kind = 're_read' ORDER BY meter_id`.execute(ctx.db)).rows;

describe('read success rollup', () => {
  it('counts meters and read meters at every area, team and org level', async () => {
    await runMeteringDay(ctx, '2026-01-09');
    const got = await sql<{ scope_kind: string; scope_id: number; meters: number; read: number }>`
      SELECT scope_kind, scope_id::int AS scope_id, meters, read FROM read_success_daily WHERE day = '2026-01-09'`.execute(ctx.db);
    const at = (kind: string, id: number) => got.rows.find((r) => r.scope_kind === kind && r.scope_id === id);
    const unread = new Set([u1.id, u2.id, u3.id]);
    const expectScope = (kind: string, id: number, members: MeterRef[]) =>
      expect(at(kind, id), `${kind} ${id}`).toMatchObject({ meters: members.length, read: members.filter((m) => !unread.has(m.id)).length });

    expectScope('area', u1.areaId, all.filter((m) => m.areaId === u1.areaId));
    expectScope('team', u3.teamId, all.filter((m) => m.teamId === u3.teamId));
    const orgs = await sql<{ id: number; path: string; level: string }>`SELECT id, path, level FROM org_unit`.execute(ctx.db);
    for (const o of orgs.rows) {
      const members = all.filter((m) => m.orgPath.startsWith(o.path));
      if (members.length) expectScope('org', o.id, members);
    }
    const hq = orgs.rows.find((o) => o.level === 'hq')!;
    expect(at('org', hq.id)).toMatchObject({ meters: 600, read: 597 });
  });
});

describe('re-read tasks (补抄)', () => {
  it('a meter unread for two days opens exactly one task for the team contracting its area', async () => {
    await runMeteringDay(ctx, '2026-01-09');
    ctx.clock.set('2026-01-10T10:00:00+08:00');
    await runMeteringDay(ctx, '2026-01-10');
    const t = await tasks();
    expect(t.map((x) => x.meter_id)).toEqual([u1.id, u3.id].sort((a, b) => a - b));
    expect(t.find((x) => x.meter_id === u1.id)).toMatchObject({ team_id: u1.teamId, status: 'open' });
    expect(t.find((x) => x.meter_id === u3.id)).toMatchObject({ team_id: u3.teamId, status: 'open' });
  });

  it('an on-site reading for a day the calendar does not have is refused with its code, before anything is stored', async () => {
    for (const date of ['2026-02-30', '2025-04-31', '0000-01-10']) {
      await expect(enterManualReading(ctx, { meter: u1.commAddress, date, values: { total: '1045' }, enteredBy: 'staff:9' }))
        .rejects.toMatchObject({ code: 'READING_DATE_INVALID' });
    }
    expect((await tasks()).find((x) => x.meter_id === u1.id)).toMatchObject({ status: 'open' });
  });

  it('entering the on-site reading stores it as re_read and closes the task', async () => {
    const r = await enterManualReading(ctx, { meter: u1.commAddress, date: '2026-01-10', values: { total: '1045' }, enteredBy: 'staff:9' });
    expect(r).toMatchObject({ quality: 're_read', tasksClosed: 1 });
    expect((await tasks()).find((x) => x.meter_id === u1.id)).toMatchObject({ status: 'done', outcome: { closedBy: 'manual_reading' } });
  });

  it('a late automatic reading closes the task in the daily flow', async () => {
    const res = await ingestReadings(ctx, 'api', [{ meter: u3.commAddress, date: '2026-01-09', total: '1030' }]);
    expect(res.stored).toBe(1);
    const day = await runMeteringDay(ctx, '2026-01-10');
    expect(day.reReadTasks.closedAutomatic).toBe(1);
    expect((await tasks()).find((x) => x.meter_id === u3.id)).toMatchObject({ status: 'done', outcome: { closedBy: 'automatic_reading' } });
    expect((await tasks()).length).toBe(2);
  });
});

describe('planner statistics at the day-end', () => {
  const estimate = (day: string) => planRows(ctx.db, `SELECT * FROM meter_reading WHERE reading_date = '${day}'`);

  it('refreshes the statistics of the day\'s partition before its statements plan on the new day', async () => {
    await sql`ANALYZE meter_reading_202601`.execute(ctx.db);
    await upsertReadings(ctx.db, ctx.clock.now(), series(all.map((m) => m.id), '2026-01-11', 1, 10, 1100));
    // statistics from before the day arrived: the planner takes the new day for one without readings
    expect(await estimate('2026-01-11')).toBeLessThan(60);
    ctx.clock.set('2026-01-12T00:30:00+08:00');
    await runMeteringDay(ctx, '2026-01-11');
    expect(await estimate('2026-01-11')).toBeGreaterThan(500);
  });
});
