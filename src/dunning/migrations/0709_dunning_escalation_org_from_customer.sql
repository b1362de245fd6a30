-- An escalation no longer carries the customer's org path (as 0706 did for notices): the list reads
-- it from the customer, so an escalation counts under the org that serves its customer now. The copy
-- cost the daily run a customer lookup and an index entry per hand-over: the 1M-account bench's
-- fifth day hands 284k debts over to people at once.
DROP INDEX IF EXISTS dunning_escalation_org_idx;
ALTER TABLE dunning_escalation DROP COLUMN IF EXISTS org_path;
