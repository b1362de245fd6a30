-- The daily run writes up to one notice per account in one statement: every index on the outbox is
-- paid for on each of those rows and on every status change the dispatcher makes (a status change
-- is never a HOT update: the claim index depends on status). (step, status) served no query the
-- run or the dispatcher makes that a scan of the claim index or of the table does not serve as well.
DROP INDEX IF EXISTS dunning_notice_step_status_idx;

-- The claim queue in two parts. Pending notices in claim order: a claim reads the first rows of the
-- index and stops (the old index ordered by time only, with every notice in flight in it, so each
-- claim sorted the whole queue and stepped over the notices other dispatchers held). Notices in
-- flight by their lease, so a dead dispatcher's notices are found without scanning the live ones.
DROP INDEX IF EXISTS dunning_notice_due_idx;
CREATE INDEX dunning_notice_pending_idx ON dunning_notice (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX dunning_notice_lease_idx ON dunning_notice (claimed_until) WHERE status = 'sending';

-- Room on each page for the receipt's update of an attempt to stay on its page (a HOT update: no
-- new entry in any of the attempt's six indexes).
ALTER TABLE dunning_attempt SET (fillfactor = 70);
