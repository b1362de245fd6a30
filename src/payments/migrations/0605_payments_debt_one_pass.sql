-- Open debt and late fees as of a date in one set-based pass (arrears, statements, dunning's open debt).
--
-- 0601 computed the late-fee factor per distinct (segment, due date) of the open items, which made the
-- open items a materialised CTE read twice, and as a plpgsql function its rows went through a tuplestore
-- before the caller could filter or aggregate them. Now:
--  * the factors come first, for every (segment, due date) an open item can have: the distinct due dates
--    are read from an index (a loose index scan, one probe per date), a few dozen payments_fee_factor calls;
--  * payments_debt_as_of is a plain SQL function the planner inlines into the calling query, so a
--    province-wide call is one pass of hash joins (receivable, customer, what was paid, the factors) that
--    streams into the caller's aggregate, and a one-customer call reads that customer's index entries.
-- Signatures and results are unchanged; payments_fee_factor stays the one definition of the rate rule.

CREATE INDEX receivable_due_date_idx ON receivable (due_date) WHERE amount > 0;

-- Late-fee factor and minimum per (segment, due date) for every due date before p_as_of of the debts of
-- p_customers (all customers when NULL).
CREATE FUNCTION payments_fee_factors(p_as_of date, p_customers bigint[])
RETURNS TABLE (segment text, due_date date, k numeric, minimum numeric)
LANGUAGE sql STABLE AS $$
  WITH RECURSIVE due(d) AS (
    (SELECT r.due_date FROM receivable r WHERE p_customers IS NULL AND r.amount > 0 ORDER BY r.due_date LIMIT 1)
    UNION ALL
    SELECT (SELECT r.due_date FROM receivable r WHERE r.amount > 0 AND r.due_date > due.d ORDER BY r.due_date LIMIT 1)
    FROM due WHERE due.d < p_as_of
  ), dates AS (
    SELECT due.d FROM due WHERE due.d < p_as_of
    UNION
    SELECT r.due_date FROM receivable r
    WHERE p_customers IS NOT NULL AND r.customer_id = ANY (p_customers) AND r.amount > 0 AND r.due_date < p_as_of
  )
  SELECT s.segment, dates.d, payments_fee_factor(s.segment, dates.d, p_as_of), payments_fee_minimum(s.segment, p_as_of)
  FROM (SELECT DISTINCT l.segment FROM late_fee_policy l) s CROSS JOIN dates
$$;

CREATE OR REPLACE FUNCTION payments_debt_as_of(p_as_of date, p_customers bigint[])
RETURNS TABLE (customer_id bigint, receivable_id bigint, bill_id bigint, kind text, ref_no text, period text, issued_on date,
               due_date date, amount numeric, outstanding numeric, late_fee_paid numeric, late_fee numeric)
LANGUAGE sql STABLE AS $$
  WITH factor AS MATERIALIZED (SELECT f.segment, f.due_date, f.k, f.minimum FROM payments_fee_factors(p_as_of, p_customers) f)
  SELECT r.customer_id, r.id, r.bill_id, r.kind, r.ref_no, r.period, r.issued_on, r.due_date, r.amount,
         r.amount - coalesce(p.principal, 0), coalesce(p.late_fee, 0),
         -- no factor row: not overdue on p_as_of (factor 0, no fee)
         payments_fee_due(r.amount - coalesce(p.principal, 0), coalesce(p.late_fee, 0), coalesce(f.k, 0), f.minimum)
  FROM receivable r
  JOIN customer c ON c.id = r.customer_id
  LEFT JOIN (SELECT a.receivable_id, sum(a.principal) AS principal, sum(a.late_fee) AS late_fee
             FROM allocation a
             WHERE a.applied_on <= p_as_of AND (p_customers IS NULL OR a.customer_id = ANY (p_customers))
             GROUP BY a.receivable_id) p ON p.receivable_id = r.id
  LEFT JOIN factor f ON f.segment = c.kind AND f.due_date = r.due_date
  WHERE r.amount > 0 AND r.issued_on <= p_as_of AND r.amount > coalesce(p.principal, 0)
    AND (p_customers IS NULL OR r.customer_id = ANY (p_customers))
$$;
