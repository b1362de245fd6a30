-- 95598 work-order kinds and their answer limits in working days. Demo defaults chosen from the SGCC
-- service commitments; every number is data (verify against the current text).
CREATE TABLE service_order_kind (
  kind text PRIMARY KEY,
  name text NOT NULL,
  name_en text NOT NULL,
  -- null for fault repair, whose limits depend on the area (repair_time_limit)
  limit_working_days integer
);
INSERT INTO service_order_kind (kind, name, name_en, limit_working_days) VALUES
  ('fault_repair', '故障报修', 'fault repair', NULL),
  ('consultation', '咨询', 'consultation', 1),
  ('complaint', '投诉', 'complaint', 5),
  ('report', '举报', 'report', 10),
  ('opinion', '意见', 'opinion', 10),
  ('service_request', '服务申请', 'service request', 5),
  ('chaser', '催办', 'chaser', 1);

-- Repair arrival and restoration limits by area (DOMAIN.md); remote areas have no restoration
-- commitment of their own: the rural value is the demo default.
CREATE TABLE repair_time_limit (
  area_type text PRIMARY KEY CONSTRAINT repair_time_limit_area_check CHECK (area_type IN ('urban', 'rural', 'remote')),
  arrival_minutes integer NOT NULL,
  restore_minutes integer NOT NULL
);
INSERT INTO repair_time_limit (area_type, arrival_minutes, restore_minutes) VALUES
  ('urban', 45, 180), ('rural', 90, 240), ('remote', 120, 240);

CREATE TABLE service_order (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- the hotline system's order number: taking the same order twice is a no-op
  external_ref text NOT NULL CONSTRAINT service_order_external_ref_key UNIQUE,
  kind text NOT NULL CONSTRAINT service_order_kind_fkey REFERENCES service_order_kind (kind),
  status text NOT NULL CONSTRAINT service_order_status_check CHECK (status IN ('dispatched', 'arrived', 'resolved', 'closed')),
  area_type text CONSTRAINT service_order_area_check CHECK (area_type IN ('urban', 'rural', 'remote')),
  customer_id bigint,
  caller_name text NOT NULL,
  caller_phone text NOT NULL,
  address text NOT NULL,
  description text NOT NULL,
  -- the org the order is dispatched to (grid when known, else the given org) and its grid
  org_path text NOT NULL,
  grid_id integer,
  parent_order_id bigint CONSTRAINT service_order_parent_fkey REFERENCES service_order (id),
  chase_count integer NOT NULL DEFAULT 0,
  received_at timestamptz NOT NULL,
  arrival_due_at timestamptz,
  arrived_at timestamptz,
  due_at timestamptz NOT NULL,
  resolved_at timestamptz,
  resolution text,
  closed_at timestamptz,
  satisfaction smallint CONSTRAINT service_order_satisfaction_check CHECK (satisfaction BETWEEN 1 AND 5),
  -- 1 = county supervises (one limit missed), 2 = city (both missed)
  escalation_level integer NOT NULL DEFAULT 0,
  escalated_at timestamptz,
  escalated_to_path text,
  created_by text NOT NULL,
  CONSTRAINT service_order_repair_area_check CHECK ((kind = 'fault_repair') = (area_type IS NOT NULL)),
  CONSTRAINT service_order_chaser_parent_check CHECK ((kind = 'chaser') = (parent_order_id IS NOT NULL))
);
CREATE INDEX service_order_org_path_idx ON service_order (org_path text_pattern_ops);
CREATE INDEX service_order_open_due_idx ON service_order (due_at) WHERE closed_at IS NULL;

CREATE TABLE service_order_event (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id bigint NOT NULL CONSTRAINT service_order_event_order_fkey REFERENCES service_order (id),
  at timestamptz NOT NULL,
  actor text NOT NULL,
  action text NOT NULL CONSTRAINT service_order_event_action_check CHECK (action IN ('receive', 'arrive', 'resolve', 'close', 'escalate', 'chase')),
  from_status text,
  to_status text NOT NULL,
  note text
);
CREATE INDEX service_order_event_order_idx ON service_order_event (order_id, id);
