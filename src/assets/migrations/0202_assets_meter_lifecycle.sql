-- Meter lifecycle (表计全寿命周期): every event with who, where and when; meter.state is the state
-- the latest event led to (meters loaded before events existed keep their loaded state).
CREATE TABLE meter_event (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  meter_id bigint NOT NULL CONSTRAINT meter_event_meter_fkey REFERENCES meter (id),
  event text NOT NULL CONSTRAINT meter_event_event_check CHECK (event IN ('arrived', 'verified', 'in_stock', 'dispatched', 'installed', 'removed', 'scrapped')),
  -- verification result: 'pass' or 'fail' for event 'verified'
  result text CONSTRAINT meter_event_result_check CHECK (result IN ('pass', 'fail')),
  from_state text,
  to_state text NOT NULL,
  at timestamptz NOT NULL,
  actor text NOT NULL,
  -- warehouse, verification lab or installation address
  place text NOT NULL,
  org_path text,
  task_id bigint,
  note text,
  CONSTRAINT meter_event_result_needed_check CHECK ((event = 'verified') = (result IS NOT NULL))
);
CREATE INDEX meter_event_meter_idx ON meter_event (meter_id, id);

-- Where a meter is and since when it runs: the org holding it (store or installation grid) and the install date.
ALTER TABLE meter ADD COLUMN custody_org_path text;
ALTER TABLE meter ADD COLUMN installed_on date;
CREATE INDEX meter_state_idx ON meter (state);

-- Rotation (轮换) periods per meter type, in years; demo default 8 for smart meters (verify).
CREATE TABLE meter_rotation_policy (
  meter_type text PRIMARY KEY CONSTRAINT meter_rotation_policy_type_check CHECK (meter_type IN ('single_phase', 'three_phase', 'three_phase_ct')),
  rotation_years integer NOT NULL CONSTRAINT meter_rotation_policy_years_check CHECK (rotation_years > 0)
);
INSERT INTO meter_rotation_policy (meter_type, rotation_years) VALUES ('single_phase', 8), ('three_phase', 8), ('three_phase_ct', 8);
