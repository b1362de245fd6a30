-- A provider that answers 429 or 503 with Retry-After says when it will take the message again: the
-- attempt keeps that instant, and the notice's next attempt on the channel is not before it (the policy's
-- backoff still applies when it is later).
ALTER TABLE dunning_attempt ADD COLUMN retry_not_before timestamptz;
