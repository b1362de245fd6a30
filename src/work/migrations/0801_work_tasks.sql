-- Kinds of field and desk work, with where they are routed and their time limit.
CREATE TABLE task_kind (
  kind text PRIMARY KEY,
  name text NOT NULL,
  name_en text NOT NULL,
  routed_to text NOT NULL CONSTRAINT task_kind_routed_to_check CHECK (routed_to IN ('team', 'grid_manager', 'service_agent')),
  time_limit_hours integer NOT NULL
);
INSERT INTO task_kind (kind, name, name_en, routed_to, time_limit_hours) VALUES
  ('re_read', '现场补抄', 'on-site re-read', 'team', 48),
  ('manual_collection', '人工催费', 'manual collection', 'grid_manager', 72),
  ('contact_verification', '联系方式核实', 'contact verification', 'grid_manager', 120),
  ('business_change', '业务变更代理', 'business-change agency', 'grid_manager', 72),
  ('consultation', '咨询服务', 'consultation', 'grid_manager', 24),
  ('area_inspection', '台区巡视', 'transformer-area inspection', 'team', 168),
  ('disconnect', '停电作业', 'disconnect field job', 'team', 24),
  ('reconnect', '复电作业', 'reconnect field job', 'team', 24);

-- One model for all field and desk work. idempotency_key makes "open the task for X" safe to repeat.
CREATE TABLE task (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL CONSTRAINT task_kind_fkey REFERENCES task_kind (kind),
  idempotency_key text NOT NULL CONSTRAINT task_idempotency_key_key UNIQUE,
  status text NOT NULL DEFAULT 'open' CONSTRAINT task_status_check CHECK (status IN ('open', 'accepted', 'in_progress', 'done', 'cannot_complete', 'cancelled')),
  title text NOT NULL,
  org_path text NOT NULL,
  team_id integer CONSTRAINT task_team_fkey REFERENCES team (id),
  assignee_staff_id integer CONSTRAINT task_assignee_fkey REFERENCES staff (id),
  grid_id integer CONSTRAINT task_grid_fkey REFERENCES org_unit (id),
  customer_id bigint,
  meter_id bigint,
  transformer_area_id integer,
  payload jsonb NOT NULL DEFAULT '{}',
  opened_at timestamptz NOT NULL,
  due_at timestamptz NOT NULL,
  closed_at timestamptz,
  outcome jsonb,
  created_by text NOT NULL
);
CREATE INDEX task_open_team_idx ON task (team_id, due_at) WHERE closed_at IS NULL;
CREATE INDEX task_open_assignee_idx ON task (assignee_staff_id, due_at) WHERE closed_at IS NULL;
CREATE INDEX task_org_path_idx ON task (org_path text_pattern_ops);
CREATE INDEX task_customer_idx ON task (customer_id);
CREATE INDEX task_kind_status_idx ON task (kind, status);
