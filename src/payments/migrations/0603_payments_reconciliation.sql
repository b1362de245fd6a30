-- A bank's daily settlement file checked against the posted payments; the same file twice is one run.
CREATE TABLE reconciliation_run (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  channel text NOT NULL,
  settlement_date date NOT NULL,
  file_name text NOT NULL,
  file_sha256 text NOT NULL,
  run_at timestamptz NOT NULL,
  run_by text NOT NULL,
  file_rows integer NOT NULL,
  matched integer NOT NULL,
  missing_in_ledger integer NOT NULL,
  posted integer NOT NULL,
  missing_in_file integer NOT NULL,
  mismatched integer NOT NULL,
  rejected integer NOT NULL,
  CONSTRAINT reconciliation_run_file_key UNIQUE (channel, settlement_date, file_sha256)
);
CREATE INDEX reconciliation_run_day_idx ON reconciliation_run (settlement_date, channel);

-- One discrepancy (or rejected row) of a run.
CREATE TABLE reconciliation_item (
  run_id bigint NOT NULL CONSTRAINT reconciliation_item_run_fkey REFERENCES reconciliation_run (id),
  line integer,
  kind text NOT NULL CONSTRAINT reconciliation_item_kind_check CHECK (kind IN ('missing_in_ledger', 'missing_in_file', 'amount_mismatch', 'customer_mismatch', 'reversed_in_ledger', 'rejected')),
  reference text,
  customer_number text,
  file_amount numeric(14,2),
  ledger_amount numeric(14,2),
  payment_id bigint,
  -- missing_in_ledger: did reconciliation post it
  posted boolean NOT NULL DEFAULT false,
  code text,
  reason text
);
CREATE INDEX reconciliation_item_run_idx ON reconciliation_item (run_id);
