-- A customer whose tariff changed inside the run's period: the parts of the period at each tariff,
-- [{"from": date, "to": date, "tariff": code}, …] in date order; null (the common case) when one
-- tariff, tariff_code, holds for the whole period.
ALTER TABLE billing_run_input ADD COLUMN tariff_spans jsonb;
-- finds a chunk's few customers with parts without reading its other rows again
CREATE INDEX billing_run_input_tariff_spans_idx ON billing_run_input (run_id, customer_id) WHERE tariff_spans IS NOT NULL;
