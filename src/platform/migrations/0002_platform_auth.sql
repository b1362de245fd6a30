-- Bearer tokens for staff and customers; only a hash of the token is stored.
CREATE TABLE auth_token (
  token_hash text PRIMARY KEY,
  subject_kind text NOT NULL CONSTRAINT auth_token_subject_kind_check CHECK (subject_kind IN ('staff', 'customer', 'system')),
  subject_id bigint NOT NULL,
  role text NOT NULL,
  org_id integer,
  org_path text NOT NULL,
  display_name text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
