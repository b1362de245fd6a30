-- A reconciliation run covers the settlement rows of one org subtree: a city's clerk reconciles (and
-- posts) the city's share of a bank's province-wide file, a province-wide reconciliation ('/', the CLI
-- or province staff) every row. Runs before this were province-wide. The same file reconciled by two
-- cities is two runs, one per scope, so the key of a run now holds its scope.
ALTER TABLE reconciliation_run ADD COLUMN scope_path text NOT NULL DEFAULT '/';
ALTER TABLE reconciliation_run ALTER COLUMN scope_path DROP DEFAULT;
ALTER TABLE reconciliation_run DROP CONSTRAINT reconciliation_run_file_key;
ALTER TABLE reconciliation_run ADD CONSTRAINT reconciliation_run_file_key UNIQUE (channel, settlement_date, file_sha256, scope_path);
