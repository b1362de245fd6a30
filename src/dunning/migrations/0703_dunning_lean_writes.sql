-- Every hand-over to a channel inserts an attempt and updates it once or twice (submit response,
-- receipt); each index on it is paid for on the insert and on every update that is not HOT (the
-- submit response sets provider_message_id, an indexed column). Nothing reads attempts by customer
-- (histories go through the notice) or by contact alone (the failing-contacts check reads the last
-- 90 days by time and groups by contact): those two indexes only cost writes.
DROP INDEX IF EXISTS dunning_attempt_customer_idx;
DROP INDEX IF EXISTS dunning_attempt_contact_idx;

-- The daily run appends up to one notice per account, in customer order, and the org paths of
-- consecutive customers are mostly the same (a grid's customers): the org index gets long runs of
-- one key. With deduplication on, every full leaf page of such a run is rewritten into posting
-- lists and each next insert splits one again; measured on the 1M-account run this index cost
-- more than the table and the other indexes together. Without it the index is larger (plain
-- entries) but each insert is an append.
DROP INDEX IF EXISTS dunning_notice_org_idx;
CREATE INDEX dunning_notice_org_idx ON dunning_notice (org_path text_pattern_ops) WITH (deduplicate_items = off);

-- The attempt's reference to its notice was checked by a trigger per inserted attempt (a lookup and
-- a key-share lock of the notice row): about a third of the cost of leasing a batch. Attempts are
-- written by one statement only (leaseNotices), which takes the notice from dunning_notice itself
-- (JOIN on the locked notice), and notices are never deleted: the reference cannot dangle.
ALTER TABLE dunning_attempt DROP CONSTRAINT IF EXISTS dunning_attempt_notice_fkey;
