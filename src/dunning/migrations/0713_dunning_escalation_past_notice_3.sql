-- A manual collection also follows a chase that passed notice 3 without sending it: the first run after
-- a long outage decides the suspension notice directly, and a dispatcher down past day 31 cancels the
-- waiting notice 3 as superseded. Neither left a notice the hand-over looked for, so such a debt was
-- cut off without ever reaching the grid's community manager. The index now holds every notice 3
-- (a cancelled one too: the open-debt join drops those cancelled because paid) and every suspension
-- notice, besides the chase steps that found no channel.
DROP INDEX IF EXISTS dunning_notice_escalation_idx;
CREATE INDEX dunning_notice_escalation_idx ON dunning_notice (customer_id, bill_id)
  WHERE step IN ('overdue_3', 'suspension_notice') OR (status = 'no_channel' AND step NOT IN ('bill_notice', 'reconnect'));
