-- Which concentrators are logged in to the front-end (Q/GDW 1376.1 AFN 02), written in batches by
-- the front-end, so a province of heartbeats is one statement every few seconds.
CREATE TABLE concentrator_link (
  concentrator_id integer PRIMARY KEY,
  online boolean NOT NULL,
  last_login_at timestamptz,
  last_seen_at timestamptz,
  remote_address text
);
CREATE INDEX concentrator_link_online_idx ON concentrator_link (concentrator_id) WHERE online;

-- One daily-frozen collection per concentrator and day: how many of its meters answered, which did
-- not after the remote retries (补抄 by the master station), and how many request rounds it took.
CREATE TABLE frontend_collection (
  day date NOT NULL,
  concentrator_id integer NOT NULL,
  meters integer NOT NULL,
  read integer NOT NULL,
  missing_meter_ids bigint[] NOT NULL,
  rounds integer NOT NULL,
  outcome text NOT NULL CONSTRAINT frontend_collection_outcome_check CHECK (outcome IN ('complete', 'partial', 'no_answer', 'disconnected')),
  started_at timestamptz NOT NULL,
  finished_at timestamptz NOT NULL,
  CONSTRAINT frontend_collection_pkey PRIMARY KEY (day, concentrator_id)
);
