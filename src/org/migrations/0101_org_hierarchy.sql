-- The organisation: HQ → province → city → county → supply station → grid unit (网格).
CREATE TABLE org_unit (
  id integer PRIMARY KEY,
  code text NOT NULL CONSTRAINT org_unit_code_key UNIQUE,
  name text NOT NULL,
  name_en text NOT NULL,
  level text NOT NULL CONSTRAINT org_unit_level_check CHECK (level IN ('hq', 'province', 'city', 'county', 'station', 'grid')),
  parent_id integer CONSTRAINT org_unit_parent_fkey REFERENCES org_unit (id),
  -- '/SGCC/LN/LN02/…/' : scope checks are a prefix match on this path.
  path text NOT NULL CONSTRAINT org_unit_path_key UNIQUE
);
CREATE INDEX org_unit_parent_idx ON org_unit (parent_id);
CREATE INDEX org_unit_path_prefix_idx ON org_unit (path text_pattern_ops);

-- Collection-operations teams (采集运维班) that contract transformer areas.
CREATE TABLE team (
  id integer PRIMARY KEY,
  code text NOT NULL CONSTRAINT team_code_key UNIQUE,
  name text NOT NULL,
  kind text NOT NULL CONSTRAINT team_kind_check CHECK (kind IN ('collection_ops', 'service', 'field')),
  org_id integer NOT NULL CONSTRAINT team_org_fkey REFERENCES org_unit (id)
);
CREATE INDEX team_org_idx ON team (org_id);

CREATE TABLE staff (
  id integer PRIMARY KEY,
  code text NOT NULL CONSTRAINT staff_code_key UNIQUE,
  name text NOT NULL,
  role text NOT NULL CONSTRAINT staff_role_check CHECK (role IN ('admin', 'province_analyst', 'city_billing_clerk', 'collection_team', 'grid_manager', 'service_agent')),
  org_id integer NOT NULL CONSTRAINT staff_org_fkey REFERENCES org_unit (id),
  team_id integer CONSTRAINT staff_team_fkey REFERENCES team (id),
  mobile text,
  password_hash text NOT NULL,
  active boolean NOT NULL DEFAULT true
);
CREATE INDEX staff_org_idx ON staff (org_id);
