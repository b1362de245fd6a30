-- A late-fee rate is in force from its effective date until its own end date or until the next rate of
-- the segment takes effect, whichever comes first. 0601 read only effective_to: a new rate entered with
-- the one before it still open-ended (effective_to NULL) made both count for the same days, and the fee
-- charged the sum of the two rates. Otherwise the rule is that of 0601: days from the day after the due
-- date to p_on inclusive, current-year rate in the year of the first overdue day, earlier-year rate after.
CREATE OR REPLACE FUNCTION payments_fee_factor(p_segment text, p_due date, p_on date) RETURNS numeric
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT coalesce(sum(
      greatest(0, least(p_on, y.year_end, coalesce(p.until - 1, p_on)) - greatest(p_due + 1, p.effective_from) + 1) * p.current_year_rate
    + greatest(0, least(p_on, coalesce(p.until - 1, p_on)) - greatest(y.year_end + 1, p.effective_from) + 1) * p.earlier_year_rate), 0)
  FROM (SELECT l.effective_from, l.current_year_rate, l.earlier_year_rate,
               -- exclusive end; least() skips NULLs: NULL only when open-ended and the latest rate
               least(l.effective_to, lead(l.effective_from) OVER (ORDER BY l.effective_from)) AS until
        FROM late_fee_policy l WHERE l.segment = p_segment) p,
       (SELECT make_date(extract(year FROM p_due + 1)::int, 12, 31) AS year_end) y
  WHERE p_on > p_due);
END
$$;
