-- Clock drift the meter reported with its reading (seconds, meter minus master station); the
-- front-end fills it, VEE flags it past the policy.
ALTER TABLE meter_reading ADD COLUMN clock_drift_s integer;

-- Collection, VEE and re-read policy (demo defaults; every number is data, one row per policy).
CREATE TABLE metering_policy (
  id text PRIMARY KEY,
  -- a meter unread this many days after remote retries gets an on-site re-read task (补抄)
  reread_missing_days integer NOT NULL CONSTRAINT metering_policy_reread_days_check CHECK (reread_missing_days >= 1),
  -- how far back the daily jobs look for a meter's last reading
  lookback_days integer NOT NULL,
  -- readings dated further back than this are quarantined instead of stored
  max_reading_age_days integer NOT NULL,
  spike_factor numeric(8,2) NOT NULL,
  spike_floor_kwh numeric(14,2) NOT NULL,
  spike_history_days integer NOT NULL,
  spike_min_history integer NOT NULL,
  stuck_days integer NOT NULL,
  zero_streak_days integer NOT NULL,
  tariff_tolerance_kwh numeric(14,4) NOT NULL,
  tariff_tolerance_ratio numeric(8,6) NOT NULL,
  max_clock_drift_s integer NOT NULL,
  estimation_allowed boolean NOT NULL,
  estimation_max_gap_days integer NOT NULL
);
INSERT INTO metering_policy VALUES ('default', 2, 35, 400, 5, 20, 30, 7, 7, 5, 0.5, 0.01, 300, true, 45);

-- Rows an ingest path refused, with why. One row per (source, origin, reason, raw row): a file
-- ingested twice does not quarantine its bad rows twice.
CREATE TABLE reading_quarantine (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source text NOT NULL CONSTRAINT reading_quarantine_source_check CHECK (source IN ('frontend', 'file', 'api', 'mqtt', 'manual')),
  origin text NOT NULL,
  reason text NOT NULL,
  raw jsonb NOT NULL,
  raw_hash text NOT NULL,
  meter_id bigint,
  -- the meter's customer org path when the meter is known: scoped callers see only their own rows
  org_path text,
  received_at timestamptz NOT NULL,
  CONSTRAINT reading_quarantine_row_key UNIQUE (source, origin, reason, raw_hash)
);
CREATE INDEX reading_quarantine_reason_idx ON reading_quarantine (reason, id);
CREATE INDEX reading_quarantine_org_path_idx ON reading_quarantine (org_path text_pattern_ops);
