-- Dunning policy as data, per customer segment (DOMAIN.md demo default; every number configurable).
CREATE TABLE dunning_policy (
  segment text PRIMARY KEY CONSTRAINT dunning_policy_segment_check CHECK (segment IN ('residential', 'non_residential')),
  -- no contact on these channels between quiet_start and quiet_end local time
  quiet_start time NOT NULL,
  quiet_end time NOT NULL,
  quiet_channels text[] NOT NULL,
  -- at most this many dunning notices (bill notices excluded) per customer and business day
  daily_contact_cap integer NOT NULL,
  -- days after overdue notice 3 before the manual collection task
  escalation_grace_days integer NOT NULL,
  -- days between the suspension notice and the disconnect
  suspension_notice_days integer NOT NULL,
  -- non-residential customers also need a call (an answered voice attempt) before a remote cut
  suspension_needs_call boolean NOT NULL,
  reconnect_within_hours integer NOT NULL,
  max_attempts_per_channel integer NOT NULL,
  retry_backoff_seconds integer NOT NULL,
  -- failed attempts on one contact (with no success since) that open a contact-verification task
  contact_failure_threshold integer NOT NULL,
  -- bills released at most this many days before the run still get their bill notice
  bill_notice_window_days integer NOT NULL
);

-- Steps of the chase. offset_days counts from the due date; NULL = event driven (bill released, reconnect).
-- channel_mode: all = every agreed channel; preferred = first agreed channel only; failover = next agreed channel on failure.
CREATE TABLE dunning_policy_step (
  segment text NOT NULL CONSTRAINT dunning_policy_step_segment_fkey REFERENCES dunning_policy (segment),
  step text NOT NULL CONSTRAINT dunning_policy_step_step_check
    CHECK (step IN ('bill_notice', 'reminder', 'overdue_1', 'overdue_2', 'overdue_3', 'suspension_notice', 'reconnect')),
  offset_days integer,
  channel_mode text NOT NULL CONSTRAINT dunning_policy_step_mode_check CHECK (channel_mode IN ('all', 'preferred', 'failover')),
  CONSTRAINT dunning_policy_step_pkey PRIMARY KEY (segment, step)
);

INSERT INTO dunning_policy VALUES
  ('residential', '21:00', '08:00', '{sms,voice}', 1, 3, 7, false, 24, 3, 600, 2, 7),
  ('non_residential', '21:00', '08:00', '{sms,voice}', 1, 3, 3, true, 24, 3, 600, 2, 7);
INSERT INTO dunning_policy_step (segment, step, offset_days, channel_mode)
SELECT s.segment, v.step, v.offset_days, v.channel_mode
FROM dunning_policy s
CROSS JOIN (VALUES
  ('bill_notice', NULL::integer, 'all'),
  ('reminder', -3, 'preferred'),
  ('overdue_1', 1, 'failover'),
  ('overdue_2', 8, 'failover'),
  ('overdue_3', 15, 'failover'),
  -- "over 30 days overdue"
  ('suspension_notice', 31, 'all'),
  ('reconnect', NULL, 'all')
) AS v (step, offset_days, channel_mode);

-- The notices outbox: one row per (customer, debt, step); the dispatcher claims rows from it.
CREATE TABLE dunning_notice (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id bigint NOT NULL,
  -- the debt the notice is about: the customer's oldest open bill
  bill_id bigint NOT NULL,
  step text NOT NULL,
  segment text NOT NULL,
  org_path text NOT NULL,
  channel_mode text NOT NULL,
  -- agreed channels in priority order when the notice was decided
  channels text[] NOT NULL,
  -- 1-based position in channels of the channel in use (failover moves it)
  channel_index integer NOT NULL DEFAULT 1,
  status text NOT NULL CONSTRAINT dunning_notice_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'delivered', 'failed', 'cancelled', 'no_channel')),
  bill_no text NOT NULL,
  period text,
  due_date date,
  amount numeric(14,2) NOT NULL,
  late_fee numeric(14,2) NOT NULL DEFAULT 0,
  -- first day without supply (suspension notices)
  suspend_on date,
  created_on date NOT NULL,
  created_at timestamptz NOT NULL,
  next_attempt_at timestamptz NOT NULL,
  -- lease of the dispatcher working on it; an expired lease makes the row claimable again
  claimed_by text,
  claimed_until timestamptz,
  -- business date of the first dispatch: the daily contact cap counts these
  dispatched_on date,
  finished_at timestamptz,
  cancel_reason text,
  CONSTRAINT dunning_notice_key UNIQUE (customer_id, bill_id, step)
);
CREATE INDEX dunning_notice_due_idx ON dunning_notice (next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX dunning_notice_org_idx ON dunning_notice (org_path text_pattern_ops);
CREATE INDEX dunning_notice_step_status_idx ON dunning_notice (step, status);

-- Every hand-over of a notice to a channel, with its delivery state from receipts and callbacks.
CREATE TABLE dunning_attempt (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  notice_id bigint NOT NULL CONSTRAINT dunning_attempt_notice_fkey REFERENCES dunning_notice (id),
  customer_id bigint NOT NULL,
  channel text NOT NULL,
  attempt_no integer NOT NULL,
  contact_id bigint,
  recipient text,
  -- idempotency key handed to the provider; a re-claimed attempt keeps it
  message_key text NOT NULL CONSTRAINT dunning_attempt_message_key_key UNIQUE,
  status text NOT NULL CONSTRAINT dunning_attempt_status_check
    CHECK (status IN ('sending', 'sent', 'delivered', 'failed', 'answered', 'no_answer', 'busy', 'cancelled')),
  -- a failure that may succeed on a later try (link down, deferred, busy, no answer)
  retryable boolean NOT NULL DEFAULT false,
  provider_message_id text,
  error_code text,
  detail text,
  queued_at timestamptz NOT NULL,
  sent_at timestamptz,
  reported_at timestamptz,
  dispatcher text,
  CONSTRAINT dunning_attempt_notice_channel_no_key UNIQUE (notice_id, channel, attempt_no)
);
CREATE INDEX dunning_attempt_provider_idx ON dunning_attempt (provider_message_id);
CREATE INDEX dunning_attempt_contact_idx ON dunning_attempt (contact_id);
CREATE INDEX dunning_attempt_customer_idx ON dunning_attempt (customer_id);

-- People stepping in: manual collection, contact verification, disconnect and reconnect (task key = idempotency).
CREATE TABLE dunning_escalation (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  escalation_key text NOT NULL CONSTRAINT dunning_escalation_key UNIQUE,
  kind text NOT NULL CONSTRAINT dunning_escalation_kind_check
    CHECK (kind IN ('manual_collection', 'contact_verification', 'disconnect', 'reconnect')),
  reason text NOT NULL,
  customer_id bigint NOT NULL,
  bill_id bigint,
  contact_id bigint,
  org_path text NOT NULL,
  -- 'task' (a person) or 'remote' (a command to the meter)
  handled_by text NOT NULL CONSTRAINT dunning_escalation_handled_by_check CHECK (handled_by IN ('task', 'remote')),
  created_on date NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX dunning_escalation_org_idx ON dunning_escalation (org_path text_pattern_ops);
CREATE INDEX dunning_escalation_customer_idx ON dunning_escalation (customer_id);

-- A supply suspension case (停电): scheduled by the suspension notice, ended by payment.
CREATE TABLE dunning_suspension (
  customer_id bigint NOT NULL,
  bill_id bigint NOT NULL,
  notice_id bigint NOT NULL CONSTRAINT dunning_suspension_notice_fkey REFERENCES dunning_notice (id),
  method text NOT NULL CONSTRAINT dunning_suspension_method_check CHECK (method IN ('remote', 'field')),
  status text NOT NULL CONSTRAINT dunning_suspension_status_check CHECK (status IN ('disconnect_requested', 'reconnect_requested')),
  disconnect_requested_at timestamptz NOT NULL,
  reconnect_requested_at timestamptz,
  CONSTRAINT dunning_suspension_pkey PRIMARY KEY (customer_id, bill_id)
);
CREATE INDEX dunning_suspension_open_idx ON dunning_suspension (customer_id) WHERE status = 'disconnect_requested';

-- DL/T 645 relay-control commands (C=0x1C) for cost-control meters; the collection front-end picks up pending ones.
CREATE TABLE remote_switch_command (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  request_key text NOT NULL CONSTRAINT remote_switch_command_request_key UNIQUE,
  meter_id bigint NOT NULL,
  customer_id bigint NOT NULL,
  comm_address char(12) NOT NULL,
  action text NOT NULL CONSTRAINT remote_switch_command_action_check CHECK (action IN ('disconnect', 'reconnect')),
  frame_hex text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CONSTRAINT remote_switch_command_status_check
    CHECK (status IN ('pending', 'sent', 'confirmed', 'failed', 'cancelled')),
  requested_at timestamptz NOT NULL,
  sent_at timestamptz,
  finished_at timestamptz,
  detail text
);
CREATE INDEX remote_switch_command_pending_idx ON remote_switch_command (requested_at) WHERE status = 'pending';
CREATE INDEX remote_switch_command_meter_idx ON remote_switch_command (meter_id);
