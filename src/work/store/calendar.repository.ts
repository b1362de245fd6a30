import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';
import type { WorkingCalendar } from '../domain/working-days.ts';

/**
 * The calendar overrides from a year before `from` on, every one the table holds (a few dozen days a
 * year): a step counted from `from` to its completion may run for months, so no window ends early.
 */
export async function loadWorkingCalendar(db: Db, from: string): Promise<WorkingCalendar> {
  const r = await sql<{ day: string; working: boolean }>`
    SELECT day, working FROM work_calendar WHERE day >= ${from}::date - 400`.execute(db);
  return { overrides: new Map(r.rows.map((x) => [x.day, x.working])) };
}

/** Replace or add calendar days (a new year's holiday schedule). */
export async function upsertCalendarDays(db: Db, days: { day: string; working: boolean; name: string }[]): Promise<void> {
  if (!days.length) return;
  await sql`
    INSERT INTO work_calendar (day, working, name)
    SELECT day, working, name FROM jsonb_to_recordset(${JSON.stringify(days)}::jsonb) AS x(day date, working boolean, name text)
    ON CONFLICT (day) DO UPDATE SET working = EXCLUDED.working, name = EXCLUDED.name`.execute(db);
}

/** The listed days (holidays and worked weekends) between two dates. */
export async function listCalendarDays(db: Db, from: string, to: string): Promise<{ day: string; working: boolean; name: string }[]> {
  return db.selectFrom('work_calendar').selectAll().where('day', '>=', from).where('day', '<=', to).orderBy('day').execute() as Promise<never>;
}
