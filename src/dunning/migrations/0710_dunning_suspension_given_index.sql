-- The suspension notices given (sent or delivered), by the first day without supply: the daily run's
-- suspension step reads these, not the whole outbox (a parallel sequential scan of every notice ever
-- decided: 0.34 s over 1.1M notices, growing with the history). A notice enters the index when it is
-- sent; its status changes already update every index of the row (status is in the predicate of the
-- dispatcher's pending index).
CREATE INDEX dunning_notice_suspension_given_idx ON dunning_notice (suspend_on)
  WHERE step = 'suspension_notice' AND status IN ('sent', 'delivered');
