-- Business changes (name, tariff, capacity, move-in) recorded by a community manager's business-change
-- task, applied to the customer on their effective date by the day-end schedule (or at once when due).
CREATE TABLE customer_change (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL CONSTRAINT customer_change_customer_fkey REFERENCES customer (id),
  change_type text NOT NULL CONSTRAINT customer_change_type_check CHECK (change_type IN ('name', 'tariff', 'capacity', 'move_in')),
  effective_on date NOT NULL,
  -- name: {newName}; tariff: {newTariffCode}; capacity: {newCapacityKva}; move_in: {newName, contact?}
  payload jsonb NOT NULL,
  task_id bigint,
  recorded_by text NOT NULL,
  recorded_at timestamptz NOT NULL,
  applied_at timestamptz
);
CREATE INDEX customer_change_due_idx ON customer_change (effective_on) WHERE applied_at IS NULL;
CREATE INDEX customer_change_customer_idx ON customer_change (customer_id);
