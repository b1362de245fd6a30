-- Transformer areas (台区): the low-voltage network behind one distribution transformer.
CREATE TABLE transformer_area (
  id integer PRIMARY KEY,
  code text NOT NULL CONSTRAINT transformer_area_code_key UNIQUE,
  name text NOT NULL,
  grid_id integer NOT NULL CONSTRAINT transformer_area_grid_fkey REFERENCES org_unit (id),
  -- the collection-operations team that contracts this area (owns its read success and re-reads)
  team_id integer NOT NULL CONSTRAINT transformer_area_team_fkey REFERENCES team (id),
  capacity_kva integer NOT NULL
);
CREATE INDEX transformer_area_grid_idx ON transformer_area (grid_id);
CREATE INDEX transformer_area_team_idx ON transformer_area (team_id);

-- Concentrators (集中器), addressed per Q/GDW 1376.1 by area code (A1, 4 BCD digits) + terminal address (A2).
CREATE TABLE concentrator (
  id integer PRIMARY KEY,
  asset_no text NOT NULL CONSTRAINT concentrator_asset_no_key UNIQUE,
  area_code char(4) NOT NULL,
  terminal_address integer NOT NULL CONSTRAINT concentrator_terminal_address_check CHECK (terminal_address BETWEEN 1 AND 65535),
  transformer_area_id integer NOT NULL CONSTRAINT concentrator_area_fkey REFERENCES transformer_area (id),
  CONSTRAINT concentrator_address_key UNIQUE (area_code, terminal_address)
);
CREATE INDEX concentrator_area_idx ON concentrator (transformer_area_id);

CREATE TABLE meter (
  id bigint PRIMARY KEY,
  asset_no text NOT NULL CONSTRAINT meter_asset_no_key UNIQUE,
  -- DL/T 645 communication address, 12 decimal digits
  comm_address char(12) NOT NULL CONSTRAINT meter_comm_address_key UNIQUE CONSTRAINT meter_comm_address_check CHECK (comm_address ~ '^[0-9]{12}$'),
  meter_type text NOT NULL CONSTRAINT meter_type_check CHECK (meter_type IN ('single_phase', 'three_phase', 'three_phase_ct')),
  cost_control boolean NOT NULL DEFAULT false,
  state text NOT NULL CONSTRAINT meter_state_check CHECK (state IN ('arrived', 'verified', 'verify_failed', 'in_stock', 'dispatched', 'installed', 'removed', 'scrapped')),
  concentrator_id integer CONSTRAINT meter_concentrator_fkey REFERENCES concentrator (id),
  -- measuring point number (pn) on the concentrator
  measuring_point integer,
  manufactured_on date NOT NULL,
  CONSTRAINT meter_measuring_point_key UNIQUE (concentrator_id, measuring_point)
);
