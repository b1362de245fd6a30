-- The outbox keeps every notice ever decided. The notices a manual collection can follow from
-- (overdue notice 3, or any chase step the customer had no channel for) are indexed apart, so the
-- daily run finds them without reading the whole history: with three past months of notices stored
-- (7.2M, the 1M-account dunning benchmark with --history-months 3) the manual-collection hand-over
-- read them all, 2.4 s of a 10 s day; through this index it took 1.3 s.
CREATE INDEX dunning_notice_escalation_idx ON dunning_notice (customer_id, bill_id)
  WHERE (step = 'overdue_3' AND status <> 'cancelled') OR (status = 'no_channel' AND step NOT IN ('bill_notice', 'reconnect'));
