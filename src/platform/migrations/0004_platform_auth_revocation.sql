-- A revoked sign-in is kept until it expires, with why it ended: its holder is told that its account was
-- deactivated (AUTH_ACCOUNT_INACTIVE) rather than only to sign in again.
ALTER TABLE auth_token ADD COLUMN revoked_at timestamptz;
ALTER TABLE auth_token ADD COLUMN revoked_reason text
  CONSTRAINT auth_token_revoked_reason_check CHECK (revoked_reason IN ('signed_out', 'account_inactive'));
ALTER TABLE auth_token ADD CONSTRAINT auth_token_revoked_check CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL));

-- Raised by every revocation that ended a sign-in. A process serving the API caches sign-ins (principalForToken)
-- and reads this one row about once a second: a generation newer than its cached entries makes it look them up
-- again, so a sign-in revoked by another process (or by SQL) ends there within about a second, not 30.
CREATE TABLE auth_revocation (
  id integer PRIMARY KEY CONSTRAINT auth_revocation_single_check CHECK (id = 1),
  generation bigint NOT NULL
);
INSERT INTO auth_revocation (id, generation) VALUES (1, 0);

-- Ends every sign-in of these subjects, for revokeTokens and for other contexts' triggers (a staff member
-- deactivated). The generation row is locked until the revoking transaction ends, so revocations are counted in
-- commit order and a process never sees the new generation before the revoked rows.
CREATE FUNCTION auth_revoke_tokens(p_kind text, p_ids bigint[], p_reason text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  revoked integer;
BEGIN
  UPDATE auth_token SET revoked_at = now(), revoked_reason = p_reason
  WHERE subject_kind = p_kind AND subject_id = ANY (p_ids) AND revoked_at IS NULL;
  GET DIAGNOSTICS revoked = ROW_COUNT;
  IF revoked > 0 THEN
    UPDATE auth_revocation SET generation = generation + 1 WHERE id = 1;
  END IF;
  RETURN revoked;
END $$;
