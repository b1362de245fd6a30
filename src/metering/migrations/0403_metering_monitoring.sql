-- Read success (采集成功率) per day and scope: transformer area, concentrator, team, org unit.
CREATE TABLE read_success_daily (
  day date NOT NULL,
  scope_kind text NOT NULL CONSTRAINT read_success_daily_scope_kind_check CHECK (scope_kind IN ('area', 'concentrator', 'team', 'org')),
  scope_id bigint NOT NULL,
  meters integer NOT NULL,
  read integer NOT NULL,
  computed_at timestamptz NOT NULL,
  CONSTRAINT read_success_daily_pkey PRIMARY KEY (day, scope_kind, scope_id)
);

-- One re-read case (补抄) per gap in a meter's readings; the work task is opened with task_key.
CREATE TABLE reread_case (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  meter_id bigint NOT NULL,
  missing_since date NOT NULL,
  task_key text NOT NULL CONSTRAINT reread_case_task_key_key UNIQUE,
  customer_id bigint,
  transformer_area_id integer,
  team_id integer,
  org_path text NOT NULL,
  opened_on date NOT NULL,
  opened_at timestamptz NOT NULL,
  closed_at timestamptz,
  closed_by text CONSTRAINT reread_case_closed_by_check CHECK (closed_by IN ('manual_reading', 'automatic_reading')),
  closing_reading_date date,
  CONSTRAINT reread_case_meter_gap_key UNIQUE (meter_id, missing_since)
);
CREATE UNIQUE INDEX reread_case_meter_open_key ON reread_case (meter_id) WHERE closed_at IS NULL;
CREATE INDEX reread_case_open_team_idx ON reread_case (team_id) WHERE closed_at IS NULL;
