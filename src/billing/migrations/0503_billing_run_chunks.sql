-- The chunks of a run's bill pass, so several workers can rate a run at once: a worker claims an
-- open chunk (FOR UPDATE SKIP LOCKED), rates it and marks it done in the same transaction, so a
-- crash leaves the chunk open for the resumed run and no chunk is ever rated twice.
CREATE TABLE billing_run_chunk (
  run_id bigint NOT NULL CONSTRAINT billing_run_chunk_run_fkey REFERENCES billing_run (id),
  chunk_no integer NOT NULL,
  -- customer id range [lo, hi)
  lo bigint NOT NULL,
  hi bigint NOT NULL,
  done_at timestamptz,
  bills_created integer NOT NULL DEFAULT 0,
  bills_held integer NOT NULL DEFAULT 0,
  CONSTRAINT billing_run_chunk_pkey PRIMARY KEY (run_id, chunk_no)
);

ALTER TABLE billing_run ADD COLUMN chunks_total integer NOT NULL DEFAULT 0;
