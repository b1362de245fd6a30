import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { editReading, listUnreadMeters, rollupReadSuccess, upsertReadings } from '../../src/metering/index.ts';
import { computeKpis } from '../../src/monitoring/index.ts';
import { openReReadTasks } from '../../src/flows/metering-reread.ts';
import { runMeteringDay } from '../../src/flows/metering-day.ts';
import { meterRefs, series, type MeterRef } from './support.ts';

let ctx: TestContext;
let all: MeterRef[];
let unread: MeterRef; // unread 01-10 and 01-11: one re-read task
let closed: MeterRef; // same, but its account is closed: no task, out of scope
let removed: MeterRef; // same, but its meter came off on 01-11: no task, in scope on 01-10 only
let edited: MeterRef; // its 01-11 reading is a person's substitute: no valid reading

beforeAll(async () => {
  ctx = await testContext({ customers: 200, now: '2026-01-12T10:00:00+08:00' });
  all = await meterRefs(ctx, 10_000);
  [unread, closed, removed, edited] = [all[3]!, all[4]!, all[5]!, all[40]!];
  const gone = new Set([unread.id, closed.id, removed.id]);
  await upsertReadings(ctx.db, ctx.clock.now(), series(all.map((m) => m.id), '2026-01-05', 7).filter((r) => !(gone.has(r.meterId) && r.readingDate >= '2026-01-10')));
  await ctx.db.transaction().execute((trx) =>
    editReading(trx, ctx.clock.now(), { meterId: edited.id, date: '2026-01-11', values: { total: '1050' }, reason: 'register misread', editedBy: 'staff:3' }));
  await sql`UPDATE customer SET status = 'closed' WHERE id = ${closed.customerId}`.execute(ctx.db);
  await sql`UPDATE service_point SET removed_on = '2026-01-11' WHERE meter_id = ${removed.id}`.execute(ctx.db);
  await sql`UPDATE meter SET state = 'removed' WHERE id = ${removed.id}`.execute(ctx.db);
});
afterAll(async () => ctx?.drop());

describe('which meters collection answers for', () => {
  it('a meter of a closed account or a removed meter gets no re-read task; an unread one gets one for the team of its area', async () => {
    await openReReadTasks(ctx, '2026-01-11');
    const t = await sql<{ meter_id: number; team_id: number }>`
      SELECT meter_id::int AS meter_id, team_id FROM task WHERE kind = 're_read' AND meter_id IN (${unread.id}, ${closed.id}, ${removed.id})`.execute(ctx.db);
    expect(t.rows).toEqual([{ meter_id: unread.id, team_id: unread.teamId }]);
  });

  it('read success per org unit and team is the KPI: valid daily frozen readings of the day / meters in scope that day', async () => {
    for (const day of ['2026-01-10', '2026-01-11']) {
      await rollupReadSuccess(ctx.db, day, ctx.clock.now());
      await computeKpis(ctx, day);
      const ours = await sql<{ kind: string; id: number; read: number; meters: number }>`
        SELECT scope_kind AS kind, scope_id::int AS id, read, meters FROM read_success_daily WHERE day = ${day}::date AND scope_kind IN ('org', 'team')
        ORDER BY 1, 2`.execute(ctx.db);
      const kpi = await sql<{ kind: string; id: number; read: number; meters: number }>`
        SELECT CASE WHEN org_id IS NULL THEN 'team' ELSE 'org' END AS kind, coalesce(org_id, team_id)::int AS id,
               numerator::int AS read, denominator::int AS meters
        FROM kpi_daily WHERE day = ${day}::date AND kpi = 'read_success' ORDER BY 1, 2`.execute(ctx.db);
      expect(ours.rows, day).toEqual(kpi.rows);
    }
    const hq = async (day: string) => (await sql<{ read: number; meters: number }>`
      SELECT read, meters FROM read_success_daily rs JOIN org_unit o ON o.id = rs.scope_id AND o.level = 'hq'
      WHERE rs.day = ${day}::date AND rs.scope_kind = 'org'`.execute(ctx.db)).rows[0];
    // 01-10: the closed account is out; the removed meter was still there and unread
    expect(await hq('2026-01-10')).toEqual({ meters: 199, read: 197 });
    // 01-11: the removed meter is gone too; the edited reading is no valid one
    expect(await hq('2026-01-11')).toEqual({ meters: 198, read: 196 });
    const list = await listUnreadMeters(ctx.db, { day: '2026-01-11', scopePath: '/', lookbackDays: 35, limit: 100, offset: 0 });
    expect(list.items.map((x) => x.meterId).sort((a, b) => a - b)).toEqual([unread.id, edited.id].sort((a, b) => a - b));
  });

  it('an open re-read task is cancelled when the account closes or the meter comes off unread; a closing reading closes it as read', async () => {
    const [leaving, exchanged, stays] = [all[10]!, all[11]!, all[12]!];
    await sql`DELETE FROM meter_reading WHERE meter_id IN (${leaving.id}, ${exchanged.id}, ${stays.id}) AND reading_date >= '2026-01-10'`.execute(ctx.db);
    await openReReadTasks(ctx, '2026-01-11');
    await sql`UPDATE customer SET status = 'closed' WHERE id = ${leaving.customerId}`.execute(ctx.db);
    // the exchanged meter's closing register, read on site on the day it came off
    await upsertReadings(ctx.db, ctx.clock.now(), [{ meterId: exchanged.id, readingDate: '2026-01-12', totalKwh: '1077', quality: 'actual', source: 'manual' }]);
    await sql`UPDATE service_point SET removed_on = '2026-01-12' WHERE meter_id = ${exchanged.id}`.execute(ctx.db);
    await sql`UPDATE meter SET state = 'removed' WHERE id = ${exchanged.id}`.execute(ctx.db);
    const day = await runMeteringDay(ctx, '2026-01-12');
    expect(day.reReadTasks).toMatchObject({ closedOutOfScope: 1 });
    const t = await sql<{ meter_id: number; status: string; closed_by: string | null }>`
      SELECT meter_id::int AS meter_id, status, outcome->>'closedBy' AS closed_by FROM task
      WHERE kind = 're_read' AND meter_id IN (${leaving.id}, ${exchanged.id}, ${stays.id}) ORDER BY meter_id`.execute(ctx.db);
    expect(t.rows).toEqual([
      { meter_id: leaving.id, status: 'cancelled', closed_by: 'out_of_scope' },
      { meter_id: exchanged.id, status: 'done', closed_by: 'automatic_reading' },
      { meter_id: stays.id, status: 'open', closed_by: null },
    ]);
    // the day again changes nothing
    expect((await runMeteringDay(ctx, '2026-01-12')).reReadTasks).toMatchObject({ opened: 0, closedManual: 0, closedAutomatic: 0, closedOutOfScope: 0 });
  });
});
