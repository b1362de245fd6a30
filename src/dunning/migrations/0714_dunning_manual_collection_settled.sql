-- A manual collection whose debt is no longer open (paid, credited, voided) is settled: the daily run
-- marks it and calls its task off, so no grid manager goes to collect a bill already paid. The partial
-- index holds the collections still in force only: the run reads those, not every escalation ever made.
ALTER TABLE dunning_escalation ADD COLUMN IF NOT EXISTS settled_on date;
CREATE INDEX IF NOT EXISTS dunning_escalation_collection_in_force_idx ON dunning_escalation (customer_id, bill_id)
  WHERE kind = 'manual_collection' AND settled_on IS NULL;
