import { describe, expect, it } from 'vitest';
import { addWorkingDays, isWorkingDay, workingDaysBetween, type WorkingCalendar } from './working-days.ts';

// the 2026 National Day week: 1–7 October off (weekdays 1, 2, 5, 6, 7 listed), Saturday 10 October worked
const cal: WorkingCalendar = {
  overrides: new Map([
    ['2026-10-01', false], ['2026-10-02', false], ['2026-10-05', false], ['2026-10-06', false], ['2026-10-07', false],
    ['2026-09-20', true], ['2026-10-10', true],
  ]),
};

describe('working-day calendar', () => {
  it('weekends rest and weekdays work unless the calendar says otherwise', () => {
    expect(isWorkingDay(cal, '2026-09-28')).toBe(true);
    expect(isWorkingDay(cal, '2026-09-26')).toBe(false);
    expect(isWorkingDay(cal, '2026-10-01')).toBe(false);
    expect(isWorkingDay(cal, '2026-10-10')).toBe(true);
  });

  it('counting working days skips the holiday week and includes the worked Saturday', () => {
    expect(addWorkingDays(cal, '2026-09-30', 1)).toBe('2026-10-08');
    expect(addWorkingDays(cal, '2026-09-30', 3)).toBe('2026-10-10');
    expect(addWorkingDays(cal, '2026-09-30', 4)).toBe('2026-10-12');
    expect(workingDaysBetween(cal, '2026-09-30', '2026-10-12')).toBe(4);
  });

  it('the start day itself never counts', () => {
    expect(addWorkingDays(cal, '2026-09-28', 0)).toBe('2026-09-28');
    expect(workingDaysBetween(cal, '2026-09-28', '2026-09-28')).toBe(0);
    expect(addWorkingDays(cal, '2026-09-26', 1)).toBe('2026-09-28');
  });
});
