-- Daily KPI history over the hierarchy and the collection teams. One row per (day, subject, kpi);
-- the subject is an org unit (any level) or a team. The API reads only this table: no scans.
CREATE TABLE kpi_daily (
  day date NOT NULL,
  org_id integer CONSTRAINT kpi_daily_org_fkey REFERENCES org_unit (id),
  team_id integer CONSTRAINT kpi_daily_team_fkey REFERENCES team (id),
  kpi text NOT NULL,
  -- ratio KPIs: numerator / denominator; counts and amounts: the numerator itself
  value numeric,
  numerator numeric NOT NULL,
  denominator numeric,
  computed_at timestamptz NOT NULL,
  CONSTRAINT kpi_daily_subject_check CHECK ((org_id IS NULL) <> (team_id IS NULL))
);
CREATE UNIQUE INDEX kpi_daily_org_key ON kpi_daily (org_id, day, kpi) WHERE org_id IS NOT NULL;
CREATE UNIQUE INDEX kpi_daily_team_key ON kpi_daily (team_id, day, kpi) WHERE team_id IS NOT NULL;
CREATE INDEX kpi_daily_day_idx ON kpi_daily (day);

-- One row per completed computation, so "latest day" and freshness are one indexed read.
CREATE TABLE kpi_run (
  day date PRIMARY KEY,
  computed_at timestamptz NOT NULL,
  rows_written integer NOT NULL,
  kpis_skipped text[] NOT NULL DEFAULT '{}',
  ms integer NOT NULL
);
