/**
 * Dunning policy (催费策略): steps with offsets from the due date, channels, quiet hours, the
 * daily contact cap and the escalation and suspension rules, per customer segment. Pure rules;
 * the policy itself is data (tables dunning_policy, dunning_policy_step).
 */
import { addDays, businessDate } from '../../platform/index.ts';

export type Segment = 'residential' | 'non_residential';
export type NoticeStep = 'bill_notice' | 'reminder' | 'overdue_1' | 'overdue_2' | 'overdue_3' | 'suspension_notice' | 'reconnect';
export type ChannelMode = 'all' | 'preferred' | 'failover';
export type ChannelName = 'sms' | 'voice' | 'email' | 'catv';

export interface PolicyStep {
  step: NoticeStep;
  /** Days from the due date; null for event-driven steps (bill released, reconnect). */
  offsetDays: number | null;
  channelMode: ChannelMode;
}

export interface DunningPolicy {
  segment: Segment;
  /** 'HH:MM' local (Asia/Shanghai). */
  quietStart: string;
  quietEnd: string;
  quietChannels: ChannelName[];
  dailyContactCap: number;
  escalationGraceDays: number;
  suspensionNoticeDays: number;
  suspensionNeedsCall: boolean;
  reconnectWithinHours: number;
  maxAttemptsPerChannel: number;
  retryBackoffSeconds: number;
  contactFailureThreshold: number;
  billNoticeWindowDays: number;
  steps: PolicyStep[];
}

const minutesOf = (hhmm: string): number => {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + (m ?? 0);
};

/** Local wall-clock minutes since midnight in Shanghai. */
function localMinutes(instant: Date): number {
  const shifted = new Date(instant.getTime() + 8 * 3600_000);
  return shifted.getUTCHours() * 60 + shifted.getUTCMinutes();
}

/** The instant of a local (Shanghai) date and 'HH:MM'. */
export function localInstant(date: string, hhmm: string): Date {
  return new Date(`${date}T${hhmm.slice(0, 5)}:00+08:00`);
}

/** True when `instant` falls in the quiet window (which may span midnight, e.g. 21:00–08:00). */
export function inQuietHours(instant: Date, quietStart: string, quietEnd: string): boolean {
  const t = localMinutes(instant);
  const s = minutesOf(quietStart);
  const e = minutesOf(quietEnd);
  if (s === e) return false;
  return s < e ? t >= s && t < e : t >= s || t < e;
}

/** True when the policy holds back any of `channels` at `instant` (voice and SMS at night, by default). */
export function quietFor(policy: DunningPolicy, channels: readonly string[], instant: Date): boolean {
  return channels.some((c) => policy.quietChannels.includes(c as ChannelName)) && inQuietHours(instant, policy.quietStart, policy.quietEnd);
}

/** When the quiet window containing `instant` ends; `instant` itself when not quiet. */
export function quietEndsAt(instant: Date, quietStart: string, quietEnd: string): Date {
  if (!inQuietHours(instant, quietStart, quietEnd)) return instant;
  const today = businessDate(instant);
  const endToday = localInstant(today, quietEnd);
  return endToday.getTime() > instant.getTime() ? endToday : localInstant(addDays(today, 1), quietEnd);
}

/** The first contactable instant of the next business day (the daily cap is reached today). */
export function nextDayOpensAt(instant: Date, quietEnd: string): Date {
  return localInstant(addDays(businessDate(instant), 1), quietEnd);
}

/** Exponential backoff before retry n (1-based) on the same channel. */
export function retryDelaySeconds(baseSeconds: number, failedAttempts: number): number {
  return baseSeconds * 2 ** Math.max(0, failedAttempts - 1);
}

/** The chase step due `daysPastDue` days after the due date (negative = before it), if any. */
export function stepDue(steps: readonly PolicyStep[], daysPastDue: number): PolicyStep | undefined {
  let due: PolicyStep | undefined;
  for (const s of steps) {
    if (s.offsetDays === null || s.offsetDays > daysPastDue) continue;
    if (!due || s.offsetDays > due.offsetDays!) due = s;
  }
  return due;
}
