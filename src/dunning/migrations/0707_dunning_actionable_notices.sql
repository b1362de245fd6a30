-- The outbox keeps every notice ever decided. Two of the daily run's hand-overs read only the
-- notices they can follow from, and find them through their own partial indexes instead of reading
-- the whole history: with three past months of notices stored (7.2M, the 1M-account dunning
-- benchmark with --history-months 3), the manual-collection hand-over read them all, 2.4 s of a
-- 10 s day.
-- - a manual collection follows overdue notice 3, or any chase step the customer had no channel for
CREATE INDEX dunning_notice_escalation_idx ON dunning_notice (customer_id, bill_id)
  WHERE (step = 'overdue_3' AND status <> 'cancelled') OR (status = 'no_channel' AND step NOT IN ('bill_notice', 'reconnect'));
-- - a suspension follows a suspension notice given (sent or delivered) once its notice period is over
CREATE INDEX dunning_notice_suspension_idx ON dunning_notice (suspend_on)
  WHERE step = 'suspension_notice' AND status IN ('sent', 'delivered');
