import { AppError } from './errors.ts';
/**
 * Business time. All business code takes time from a Clock; business dates (reading day,
 * due date, late-fee days) are calendar dates in Asia/Shanghai (UTC+8, no DST).
 */
export interface Clock {
  now(): Date;
}

const SHANGHAI_OFFSET_MS = 8 * 3600_000;

export const systemClock: Clock = { now: () => new Date() };

/** A clock that stands still until told to move; tests and the simulated month use it. */
export class SimulatedClock implements Clock {
  private t: number;
  constructor(start: Date | string) {
    this.t = typeof start === 'string' ? parseInstant(start).getTime() : start.getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  set(t: Date | string): void {
    this.t = typeof t === 'string' ? parseInstant(t).getTime() : t.getTime();
  }
  advance(ms: number): Date {
    this.t += ms;
    return this.now();
  }
}

/** A date-only string (YYYY-MM-DD) means local midnight in Shanghai. */
export function parseInstant(s: string): Date {
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return new Date(`${s}T00:00:00+08:00`);
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) throw new Error(`not a date or instant: ${s}`);
  return d;
}

/** The Shanghai calendar date (YYYY-MM-DD) of an instant. */
export function businessDate(instant: Date): string {
  return new Date(instant.getTime() + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10);
}

/** Hour of day (0-23) in Shanghai. */
export function businessHour(instant: Date): number {
  return new Date(instant.getTime() + SHANGHAI_OFFSET_MS).getUTCHours();
}

export function today(clock: Clock): string {
  return businessDate(clock.now());
}

export function isIsoDate(s: string): boolean {
  // year 0000 passes JavaScript's calendar but not PostgreSQL's (1 BC is followed by AD 1)
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s) || s.startsWith('0000')) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** Date arithmetic on YYYY-MM-DD strings (calendar days). */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** Clock for a batch command: `--as-of DATE` pins it, otherwise the system clock. */
export function clockFor(asOf?: string): Clock {
  if (!asOf) return systemClock;
  // JavaScript rolls 2026-02-30 over to 2 March: a date, also the date of an instant, must be a real one
  const date = /^\d{4}-\d{2}-\d{2}/.exec(asOf)?.[0];
  if (!date || !isIsoDate(date) || Number.isNaN(Date.parse(asOf))) {
    throw new AppError('REQUEST_INVALID', `--as-of takes a date (YYYY-MM-DD) or an ISO instant: ${asOf}`);
  }
  return new SimulatedClock(asOf);
}
