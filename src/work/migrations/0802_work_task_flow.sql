-- Meter exchange (换表) is field work for the collection-operations team of the area.
INSERT INTO task_kind (kind, name, name_en, routed_to, time_limit_hours) VALUES
  ('meter_exchange', '装拆换表', 'meter exchange', 'team', 72);

-- The audit trail of every task: who moved it from which status to which, when and why.
CREATE TABLE task_event (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id bigint NOT NULL CONSTRAINT task_event_task_fkey REFERENCES task (id),
  at timestamptz NOT NULL,
  actor text NOT NULL,
  action text NOT NULL CONSTRAINT task_event_action_check CHECK (action IN ('open', 'accept', 'start', 'complete', 'cannot_complete', 'cancel', 'close', 'reassign')),
  from_status text,
  to_status text NOT NULL,
  from_assignee integer,
  to_assignee integer,
  note text
);
CREATE INDEX task_event_task_idx ON task_event (task_id, id);

-- Staff absence (leave, training); open tasks of an absent manager move to a substitute.
CREATE TABLE staff_absence (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  staff_id integer NOT NULL CONSTRAINT staff_absence_staff_fkey REFERENCES staff (id),
  from_date date NOT NULL,
  to_date date NOT NULL,
  -- null: the first present colleague of the same role in the same grid, else the same station
  substitute_staff_id integer CONSTRAINT staff_absence_substitute_fkey REFERENCES staff (id),
  reason text NOT NULL,
  created_by text NOT NULL,
  CONSTRAINT staff_absence_dates_check CHECK (to_date >= from_date),
  CONSTRAINT staff_absence_staff_from_key UNIQUE (staff_id, from_date)
);
CREATE INDEX staff_absence_dates_idx ON staff_absence (from_date, to_date);
