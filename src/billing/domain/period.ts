import { AppError } from '../../platform/index.ts';

/** A bill period 'YYYY-MM' of a cycle ends on that month's reading day and starts on the previous month's. */
export interface PeriodBounds {
  period: string;
  start: string;
  end: string;
  days: number;
}

export function assertPeriod(period: string): void {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(period)) throw new AppError('BILLING_PERIOD_INVALID', `a period is YYYY-MM: ${period}`);
}

/** Shift a 'YYYY-MM' period by whole months. */
export function addMonths(period: string, months: number): string {
  assertPeriod(period);
  const idx = Number(period.slice(0, 4)) * 12 + Number(period.slice(5, 7)) - 1 + months;
  return `${String(Math.floor(idx / 12)).padStart(4, '0')}-${String((idx % 12) + 1).padStart(2, '0')}`;
}

export function periodBounds(readingDay: number, period: string): PeriodBounds {
  assertPeriod(period);
  const day = String(readingDay).padStart(2, '0');
  const start = `${addMonths(period, -1)}-${day}`;
  const end = `${period}-${day}`;
  const days = Math.round((Date.parse(`${end}T00:00:00Z`) - Date.parse(`${start}T00:00:00Z`)) / 86_400_000);
  return { period, start, end, days };
}

/** The first period of the tier year that `period` belongs to, for a tier year starting in `startMonth`. */
export function tierYearStart(period: string, startMonth: number): string {
  assertPeriod(period);
  const y = Number(period.slice(0, 4));
  const m = Number(period.slice(5, 7));
  return `${m >= startMonth ? y : y - 1}-${String(startMonth).padStart(2, '0')}`;
}
