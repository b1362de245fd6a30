-- One row per customer ever chased, locked by a dispatcher's claim (lockContactCounts) while it counts
-- the customer's dunning contacts of the day and leases the next: two claims holding different notices
-- of one customer take turns here, so the daily contact cap holds with several dispatchers. The rows
-- carry no data (the count is of dunning_notice.dispatched_on), so the table is unlogged: a crash
-- empties it and the next claims insert the rows again.
--
-- A row, not an advisory lock per customer: a bulk claim (5,000 notices, four at once in the dispatch
-- bench) would hold 20,000 advisory locks, past the server's shared lock table (out of shared
-- memory at the default max_locks_per_transaction); row locks are kept in the rows themselves.
CREATE UNLOGGED TABLE dunning_contact_lock (
  customer_id bigint CONSTRAINT dunning_contact_lock_pkey PRIMARY KEY
);
