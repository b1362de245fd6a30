CREATE TABLE customer (
  id bigint PRIMARY KEY,
  -- 10-digit customer number (户号)
  number char(10) NOT NULL CONSTRAINT customer_number_key UNIQUE CONSTRAINT customer_number_check CHECK (number ~ '^[0-9]{10}$'),
  name text NOT NULL,
  kind text NOT NULL CONSTRAINT customer_kind_check CHECK (kind IN ('residential', 'non_residential')),
  category text NOT NULL CONSTRAINT customer_category_check CHECK (category IN ('residential', 'general', 'large_industry', 'agriculture')),
  tariff_code text NOT NULL,
  billing_cycle text NOT NULL,
  grid_id integer NOT NULL CONSTRAINT customer_grid_fkey REFERENCES org_unit (id),
  transformer_area_id integer NOT NULL CONSTRAINT customer_area_fkey REFERENCES transformer_area (id),
  -- the grid unit's org path, kept here so every scoped query is one indexed prefix match
  org_path text NOT NULL,
  address text NOT NULL,
  status text NOT NULL DEFAULT 'active' CONSTRAINT customer_status_check CHECK (status IN ('active', 'suspended', 'closed')),
  contract_capacity_kva integer,
  created_on date NOT NULL,
  portal_password_hash text
);
CREATE INDEX customer_org_path_idx ON customer (org_path text_pattern_ops);
CREATE INDEX customer_name_idx ON customer (name text_pattern_ops);
CREATE INDEX customer_area_idx ON customer (transformer_area_id);
CREATE INDEX customer_cycle_idx ON customer (billing_cycle);

-- A meter installed for a customer; removed_on closes the installation (meter exchange).
CREATE TABLE service_point (
  id bigint PRIMARY KEY,
  customer_id bigint NOT NULL CONSTRAINT service_point_customer_fkey REFERENCES customer (id),
  meter_id bigint NOT NULL CONSTRAINT service_point_meter_fkey REFERENCES meter (id),
  installed_on date NOT NULL,
  removed_on date
);
CREATE UNIQUE INDEX service_point_meter_active_key ON service_point (meter_id) WHERE removed_on IS NULL;
CREATE INDEX service_point_customer_idx ON service_point (customer_id);
CREATE SEQUENCE service_point_id_seq OWNED BY service_point.id;

CREATE TABLE contact (
  id bigint PRIMARY KEY,
  customer_id bigint NOT NULL CONSTRAINT contact_customer_fkey REFERENCES customer (id),
  kind text NOT NULL CONSTRAINT contact_kind_check CHECK (kind IN ('mobile', 'landline', 'email', 'catv')),
  value text NOT NULL,
  status text NOT NULL DEFAULT 'unverified' CONSTRAINT contact_status_check CHECK (status IN ('unverified', 'verified', 'invalid')),
  CONSTRAINT contact_customer_kind_value_key UNIQUE (customer_id, kind, value)
);
CREATE SEQUENCE contact_id_seq OWNED BY contact.id;

-- Which channels the customer consented to be notified on, in which order, since when.
CREATE TABLE channel_agreement (
  customer_id bigint NOT NULL CONSTRAINT channel_agreement_customer_fkey REFERENCES customer (id),
  channel text NOT NULL CONSTRAINT channel_agreement_channel_check CHECK (channel IN ('sms', 'voice', 'email', 'catv')),
  contact_id bigint NOT NULL CONSTRAINT channel_agreement_contact_fkey REFERENCES contact (id),
  priority integer NOT NULL,
  consented_at timestamptz NOT NULL,
  withdrawn_at timestamptz,
  CONSTRAINT channel_agreement_pkey PRIMARY KEY (customer_id, channel)
);
