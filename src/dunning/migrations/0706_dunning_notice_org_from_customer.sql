-- A notice no longer carries the customer's org path: the lists and the channel health read it from
-- the customer (by the customer's index on org_path for a grid or county, by one hash join for a
-- city or the province), so a notice counts under the org that serves its customer now. The copy
-- on every notice (45 bytes, a tenth of the row with its index entry) was written for every account
-- of the province by the daily run and read by nobody else: the 1M-account first run wrote 840k of
-- them, and the customer rows the run hashes to find each account's segment carried it too.
DROP INDEX IF EXISTS dunning_notice_org_idx;
ALTER TABLE dunning_notice DROP COLUMN IF EXISTS org_path;
