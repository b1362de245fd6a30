-- Staging a run wrote a million rows through a btree on (run_id, customer_id): a fifth of the
-- staging's CPU. Each slice worker writes its customers in id order to pages of its own, so a
-- block-range index of one page per range finds a chunk's rows (the run's rows are summarised once,
-- when staging closes). Staged rows stay unique without the key: a run's slice bounds are fixed on
-- the run when first staged, so every start and resume stages the same slices, each under its own
-- lock, and a slice staged again adds only the customers it is missing.
ALTER TABLE billing_run_input DROP CONSTRAINT billing_run_input_pkey;
CREATE INDEX billing_run_input_run_brin ON billing_run_input USING brin (run_id, customer_id) WITH (pages_per_range = 1);
-- the customer id bounds of the run's staging slices: [b0, b1), [b1, b2), …; the last slice has no upper bound
ALTER TABLE billing_run ADD COLUMN stage_bounds bigint[];
-- Staged inputs are derived data (readings, customers, bills), and a run restages them when a server
-- crash has emptied the table: they need not be written twice, to the WAL as well.
ALTER TABLE billing_run_input SET UNLOGGED;
