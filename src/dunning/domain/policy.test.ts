import { describe, expect, it } from 'vitest';
import { inQuietHours, nextDayOpensAt, quietEndsAt, quietFor, retryDelaySeconds, stepDue, type DunningPolicy, type PolicyStep } from './policy.ts';

const STEPS: PolicyStep[] = [
  { step: 'bill_notice', offsetDays: null, channelMode: 'all' },
  { step: 'reminder', offsetDays: -3, channelMode: 'preferred' },
  { step: 'overdue_1', offsetDays: 1, channelMode: 'failover' },
  { step: 'overdue_2', offsetDays: 8, channelMode: 'failover' },
  { step: 'overdue_3', offsetDays: 15, channelMode: 'failover' },
  { step: 'suspension_notice', offsetDays: 31, channelMode: 'all' },
];

describe('dunning policy rules', () => {
  it('treats 21:00 to 08:00 Shanghai time as quiet, across midnight', () => {
    expect(inQuietHours(new Date('2026-01-05T20:59:00+08:00'), '21:00', '08:00')).toBe(false);
    expect(inQuietHours(new Date('2026-01-05T21:00:00+08:00'), '21:00', '08:00')).toBe(true);
    expect(inQuietHours(new Date('2026-01-06T03:00:00+08:00'), '21:00', '08:00')).toBe(true);
    expect(inQuietHours(new Date('2026-01-06T08:00:00+08:00'), '21:00', '08:00')).toBe(false);
  });

  it('holds back only the quiet channels (voice and SMS) at night, and a notice that uses any of them', () => {
    const policy = { quietStart: '21:00', quietEnd: '08:00', quietChannels: ['sms', 'voice'] } as DunningPolicy;
    const night = new Date('2026-01-05T21:00:00+08:00');
    expect(quietFor(policy, ['sms'], night)).toBe(true);
    expect(quietFor(policy, ['email', 'catv'], night)).toBe(false);
    expect(quietFor(policy, ['email', 'voice'], night)).toBe(true);
    expect(quietFor(policy, ['sms'], new Date('2026-01-05T20:59:00+08:00'))).toBe(false);
  });

  it('defers a late-evening or night contact to 08:00 local', () => {
    expect(quietEndsAt(new Date('2026-01-05T22:30:00+08:00'), '21:00', '08:00').toISOString()).toBe('2026-01-06T00:00:00.000Z');
    expect(quietEndsAt(new Date('2026-01-06T02:00:00+08:00'), '21:00', '08:00').toISOString()).toBe('2026-01-06T00:00:00.000Z');
    const noon = new Date('2026-01-06T12:00:00+08:00');
    expect(quietEndsAt(noon, '21:00', '08:00')).toBe(noon);
  });

  it('opens the next business day at the end of the quiet window', () => {
    expect(nextDayOpensAt(new Date('2026-01-05T10:00:00+08:00'), '08:00').toISOString()).toBe('2026-01-06T00:00:00.000Z');
  });

  it('doubles the retry delay with every failed attempt', () => {
    expect([1, 2, 3].map((n) => retryDelaySeconds(600, n))).toEqual([600, 1200, 2400]);
  });

  it('picks the latest chase step reached, skipping none before the reminder', () => {
    expect(stepDue(STEPS, -4)).toBeUndefined();
    expect(stepDue(STEPS, -3)?.step).toBe('reminder');
    expect(stepDue(STEPS, 0)?.step).toBe('reminder');
    expect(stepDue(STEPS, 1)?.step).toBe('overdue_1');
    expect(stepDue(STEPS, 14)?.step).toBe('overdue_2');
    expect(stepDue(STEPS, 31)?.step).toBe('suspension_notice');
  });
});
