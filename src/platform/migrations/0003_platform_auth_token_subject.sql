-- A subject's sign-ins, for revoking them before they expire (revokeTokens: a customer's portal after a
-- move-in or a newly issued password).
CREATE INDEX auth_token_subject_idx ON auth_token (subject_kind, subject_id);
