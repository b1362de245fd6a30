import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';
import type { ChannelMode, ChannelName, DunningPolicy, NoticeStep, Segment } from '../domain/policy.ts';

export interface DunningPolicyRow {
  segment: Segment;
  quiet_start: string;
  quiet_end: string;
  quiet_channels: ChannelName[];
  daily_contact_cap: number;
  escalation_grace_days: number;
  suspension_notice_days: number;
  suspension_needs_call: boolean;
  reconnect_within_hours: number;
  max_attempts_per_channel: number;
  retry_backoff_seconds: number;
  contact_failure_threshold: number;
  bill_notice_window_days: number;
}
export interface DunningPolicyStepRow {
  segment: Segment;
  step: NoticeStep;
  offset_days: number | null;
  channel_mode: ChannelMode;
}

export function policyRowToPolicy(row: DunningPolicyRow, steps: DunningPolicyStepRow[]): DunningPolicy {
  return {
    segment: row.segment,
    quietStart: row.quiet_start.slice(0, 5),
    quietEnd: row.quiet_end.slice(0, 5),
    quietChannels: row.quiet_channels,
    dailyContactCap: row.daily_contact_cap,
    escalationGraceDays: row.escalation_grace_days,
    suspensionNoticeDays: row.suspension_notice_days,
    suspensionNeedsCall: row.suspension_needs_call,
    reconnectWithinHours: row.reconnect_within_hours,
    maxAttemptsPerChannel: row.max_attempts_per_channel,
    retryBackoffSeconds: row.retry_backoff_seconds,
    contactFailureThreshold: row.contact_failure_threshold,
    billNoticeWindowDays: row.bill_notice_window_days,
    steps: steps
      .filter((s) => s.segment === row.segment)
      .map((s) => ({ step: s.step, offsetDays: s.offset_days, channelMode: s.channel_mode })),
  };
}

export async function loadPolicies(db: Db): Promise<DunningPolicy[]> {
  const [policies, steps] = await Promise.all([
    sql<DunningPolicyRow>`SELECT segment, quiet_start::text AS quiet_start, quiet_end::text AS quiet_end, quiet_channels,
             daily_contact_cap, escalation_grace_days, suspension_notice_days, suspension_needs_call, reconnect_within_hours,
             max_attempts_per_channel, retry_backoff_seconds, contact_failure_threshold, bill_notice_window_days
      FROM dunning_policy ORDER BY segment`.execute(db),
    sql<DunningPolicyStepRow>`SELECT segment, step, offset_days, channel_mode FROM dunning_policy_step ORDER BY segment, offset_days NULLS FIRST`.execute(db),
  ]);
  return policies.rows.map((p) => policyRowToPolicy(p, steps.rows));
}

/** Change one number of a segment's policy (policies are data; tests and operators tune them). */
export async function updatePolicy(db: Db, segment: Segment, changes: Partial<Omit<DunningPolicyRow, 'segment'>>): Promise<void> {
  if (!Object.keys(changes).length) return;
  await db.updateTable('dunning_policy').set(changes).where('segment', '=', segment).execute();
}
