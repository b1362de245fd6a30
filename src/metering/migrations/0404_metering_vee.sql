-- VEE flags: one per meter-day and rule, with the reason in detail; resolved by an edit or a person.
CREATE TABLE vee_flag (
  meter_id bigint NOT NULL,
  reading_date date NOT NULL,
  rule text NOT NULL CONSTRAINT vee_flag_rule_check CHECK (rule IN ('reverse', 'spike', 'stuck_register', 'zero_streak', 'tariff_sum', 'clock_error')),
  detail jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  resolved_at timestamptz,
  resolved_by text,
  resolution text,
  CONSTRAINT vee_flag_pkey PRIMARY KEY (meter_id, reading_date, rule)
);
CREATE INDEX vee_flag_open_idx ON vee_flag (reading_date, rule) WHERE resolved_at IS NULL;

-- Manual edits keep the reading as it was, who changed it and why.
CREATE TABLE reading_edit (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  meter_id bigint NOT NULL,
  reading_date date NOT NULL,
  original jsonb NOT NULL,
  edited jsonb NOT NULL,
  reason text NOT NULL,
  edited_by text NOT NULL,
  edited_at timestamptz NOT NULL
);
CREATE INDEX reading_edit_meter_idx ON reading_edit (meter_id, reading_date);

-- What billing reads: the day's registers, their quality and whether VEE still has a doubt.
CREATE VIEW v_meter_reading AS
SELECT r.meter_id, r.reading_date, r.total_kwh, r.sharp_kwh, r.peak_kwh, r.flat_kwh, r.valley_kwh, r.quality,
       EXISTS (SELECT 1 FROM vee_flag f WHERE f.meter_id = r.meter_id AND f.reading_date = r.reading_date AND f.resolved_at IS NULL) AS has_open_vee_flag
FROM meter_reading r;
