-- 0703 turned deduplication off on the org index, measured when the run's insert order scattered
-- the org paths. The run now inserts its notices in customer order (the order of its anti-join on
-- the notice key), so each org path arrives as one run of equal keys: deduplicated, those fold
-- into a few posting lists per org unit. Measured on the 1M-account run's 840k notices, the same
-- rows into the outbox with its five indexes: 15.6 / 11.0 s with deduplication off, 10.8 / 7.4 s
-- with it on (a loaded machine; alternating runs), the org index 7 MB instead of 53 MB.
-- Existing entries stay as they are; new ones are deduplicated as their pages fill.
ALTER INDEX dunning_notice_org_idx RESET (deduplicate_items);
