-- A day's KPI families are computed at the same time, each on its own connection, into this staging
-- table under the computation's token; one transaction then replaces the day in kpi_daily with them
-- (readers never see a day half replaced). Unlogged: what it holds is recomputed by a rerun after a
-- crash, and each computation removes its rows when it is done.
CREATE UNLOGGED TABLE kpi_daily_stage (
  token text NOT NULL,
  day date NOT NULL,
  org_id integer,
  team_id integer,
  kpi text NOT NULL,
  value numeric,
  numerator numeric NOT NULL,
  denominator numeric,
  computed_at timestamptz NOT NULL
);
CREATE INDEX kpi_daily_stage_token_idx ON kpi_daily_stage (token);
