-- The daily run's snapshot of the day's open debt, written by the run's slices at the same time (one
-- connection each, by customer id range) and read by every step after them. It was a temporary table of
-- the run's one connection; a table the slices share can be filled by several. Unlogged: it is rebuilt by
-- every run (emptied before and after), never needed after a crash. No index: every step hashes it whole.
-- The runs are serialised by the run lock, so one table serves them all. Analysed by the run once filled.
CREATE UNLOGGED TABLE dunning_open_debt (
  customer_id bigint NOT NULL,
  bill_id bigint NOT NULL,
  bill_no text,
  period text,
  due_date date,
  outstanding numeric(14,2),
  late_fee numeric(14,2),
  -- the customer's case: its oldest open bill, and that bill's due date on each of the customer's rows
  is_case boolean,
  case_due date
) WITH (autovacuum_enabled = false);
