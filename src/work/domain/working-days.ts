import { addDays } from '../../platform/index.ts';

/**
 * A working-day calendar (工作日): Monday to Friday work unless an override says otherwise (a public
 * holiday on a weekday, or a weekend worked in exchange, 调休). Overrides come from data.
 */
export interface WorkingCalendar {
  overrides: ReadonlyMap<string, boolean>;
}

export function isWorkingDay(cal: WorkingCalendar, date: string): boolean {
  const o = cal.overrides.get(date);
  if (o !== undefined) return o;
  const dow = new Date(`${date}T00:00:00Z`).getUTCDay();
  return dow !== 0 && dow !== 6;
}

/** The n-th working day after `date` (the day itself never counts, as in the service commitments). */
export function addWorkingDays(cal: WorkingCalendar, date: string, n: number): string {
  let d = date;
  for (let left = n; left > 0; ) {
    d = addDays(d, 1);
    if (isWorkingDay(cal, d)) left--;
  }
  return d;
}

/** Working days in (from, to]: how many working days a step started on `from` has used by `to`. */
export function workingDaysBetween(cal: WorkingCalendar, from: string, to: string): number {
  let n = 0;
  for (let d = addDays(from, 1); d <= to; d = addDays(d, 1)) if (isWorkingDay(cal, d)) n++;
  return n;
}
