-- When the payment that cleared a suspended debt was posted (the allocation that settled the bill).
-- The 24 hours to reconnect (复电, dunning_policy.reconnect_within_hours) count from it, not from the
-- sweep or the daily run that noticed it: a field task is due by then, and a remote reconnect is judged
-- against it (remote_switch_command.finished_at − paid_at). NULL until the reconnect is requested.
ALTER TABLE dunning_suspension ADD COLUMN paid_at timestamptz;
