-- payments_post_many (0604) runs its statements with generic plans, made once per connection at its first
-- call. A connection that first posts while payment, allocation and ledger_entry are still small (a new
-- system, a new month's partitions of work, a test) got sequential scans of them, and kept those plans as the
-- tables grew: the cost of each batch then grew with the history (measured: twice the server CPU per payment
-- after 20,000 payments). Every statement of a posting reads a handful of rows by key (customer number,
-- (channel, reference), account, a customer's debts and allocations), so the function plans by index.
ALTER FUNCTION payments_post_many(text[], text[], text[], numeric[], date[], text[], timestamptz, text) SET enable_seqscan = off;
