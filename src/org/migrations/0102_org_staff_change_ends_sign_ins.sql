-- A token carries the role and org scope its holder had at sign-in. When a staff member is deactivated, or their
-- role, org or password changes, the sign-ins they hold end (auth_revoke_tokens): a deactivated member's are
-- answered AUTH_ACCOUNT_INACTIVE, the others must sign in again. Done here, on the row, so a change made by SQL
-- (an HR import, a DBA) ends them too; reactivating someone does not bring old sign-ins back.
CREATE FUNCTION org_staff_sign_ins_end() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ids bigint[];
BEGIN
  SELECT array_agg(n.id) INTO ids FROM staff_before o JOIN staff_after n ON n.id = o.id WHERE o.active AND NOT n.active;
  IF ids IS NOT NULL THEN
    PERFORM auth_revoke_tokens('staff', ids, 'account_inactive');
  END IF;
  SELECT array_agg(n.id) INTO ids FROM staff_before o JOIN staff_after n ON n.id = o.id
  WHERE n.active AND (o.role, o.org_id, o.password_hash) IS DISTINCT FROM (n.role, n.org_id, n.password_hash);
  IF ids IS NOT NULL THEN
    PERFORM auth_revoke_tokens('staff', ids, 'signed_out');
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER staff_sign_ins_end AFTER UPDATE ON staff
  REFERENCING OLD TABLE AS staff_before NEW TABLE AS staff_after FOR EACH STATEMENT EXECUTE FUNCTION org_staff_sign_ins_end();
