-- Open debt of one range of customer ids [p_lo, p_hi): a province-wide pass (the daily dunning run) can
-- then be computed in slices, one connection per slice at the same time. The range is tested on the
-- receivables and allocations themselves, before anything is joined or summed, so a slice costs its
-- share of the pass. The functions keep one body each: the range versions below are those of 0606 and
-- 0601 with the range added, and the signatures other contexts use call them with no range (NULL: every
-- customer). Called with constants, the SQL functions are inlined and the NULL tests fold away.

CREATE FUNCTION payments_debt_fen(p_as_of date, p_customers bigint[], p_lo bigint, p_hi bigint)
RETURNS TABLE (customer_id bigint, receivable_id bigint, bill_id bigint, kind text, ref_no text, period text, issued_on date,
               due_date date, amount numeric, outstanding_fen bigint, late_fee_paid_fen bigint, late_fee_fen bigint)
LANGUAGE sql STABLE AS $$
  WITH factor AS MATERIALIZED (SELECT * FROM payments_fee_factors_by_due(p_as_of, p_customers))
  SELECT d.customer_id, d.id, d.bill_id, d.kind, d.ref_no, d.period, d.issued_on, d.due_date, d.amount, d.outstanding, d.fee_paid,
         -- no factor row: not overdue on p_as_of (no fee)
         CASE WHEN d.segment = 'residential' THEN payments_fee_due_fen(d.outstanding, d.fee_paid, f.res_k_micro, f.res_min_fen, f.res_max_fen)
              WHEN d.segment = 'non_residential' THEN payments_fee_due_fen(d.outstanding, d.fee_paid, f.non_k_micro, f.non_min_fen, f.non_max_fen)
              ELSE 0 END
  FROM (SELECT r.customer_id, r.id, r.bill_id, r.kind, r.ref_no, r.period, r.issued_on, r.due_date, r.amount, c.kind AS segment,
               (r.amount * 100)::bigint - coalesce(p.principal, 0) AS outstanding, coalesce(p.late_fee, 0) AS fee_paid
        FROM receivable r
        JOIN customer c ON c.id = r.customer_id
        LEFT JOIN (SELECT a.receivable_id, sum((a.principal * 100)::bigint)::bigint AS principal, sum((a.late_fee * 100)::bigint)::bigint AS late_fee
                   FROM allocation a
                   WHERE a.applied_on <= p_as_of AND (p_customers IS NULL OR a.customer_id = ANY (p_customers))
                     AND (p_lo IS NULL OR a.customer_id >= p_lo) AND (p_hi IS NULL OR a.customer_id < p_hi)
                   GROUP BY a.receivable_id) p ON p.receivable_id = r.id
        WHERE r.amount > 0 AND r.issued_on <= p_as_of AND (p.principal IS NULL OR r.amount * 100 > p.principal)
          AND (p_customers IS NULL OR r.customer_id = ANY (p_customers))
          AND (p_lo IS NULL OR r.customer_id >= p_lo) AND (p_hi IS NULL OR r.customer_id < p_hi)
          AND (p_lo IS NULL OR c.id >= p_lo) AND (p_hi IS NULL OR c.id < p_hi)
        -- a fence: the fee formula reads outstanding four times, inlined it would convert the amount to fen four times
        OFFSET 0) d
  LEFT JOIN factor f ON f.due_date = d.due_date
$$;

CREATE OR REPLACE FUNCTION payments_debt_fen(p_as_of date, p_customers bigint[])
RETURNS TABLE (customer_id bigint, receivable_id bigint, bill_id bigint, kind text, ref_no text, period text, issued_on date,
               due_date date, amount numeric, outstanding_fen bigint, late_fee_paid_fen bigint, late_fee_fen bigint)
LANGUAGE sql STABLE AS $$
  SELECT * FROM payments_debt_fen(p_as_of, p_customers, NULL, NULL)
$$;

CREATE FUNCTION payments_debt_as_of(p_as_of date, p_customers bigint[], p_lo bigint, p_hi bigint)
RETURNS TABLE (customer_id bigint, receivable_id bigint, bill_id bigint, kind text, ref_no text, period text, issued_on date,
               due_date date, amount numeric, outstanding numeric, late_fee_paid numeric, late_fee numeric)
LANGUAGE sql STABLE AS $$
  SELECT d.customer_id, d.receivable_id, d.bill_id, d.kind, d.ref_no, d.period, d.issued_on, d.due_date, d.amount,
         d.outstanding_fen * 0.01, d.late_fee_paid_fen * 0.01, d.late_fee_fen * 0.01
  FROM payments_debt_fen(p_as_of, p_customers, p_lo, p_hi) d
$$;

CREATE OR REPLACE FUNCTION payments_debt_as_of(p_as_of date, p_customers bigint[])
RETURNS TABLE (customer_id bigint, receivable_id bigint, bill_id bigint, kind text, ref_no text, period text, issued_on date,
               due_date date, amount numeric, outstanding numeric, late_fee_paid numeric, late_fee numeric)
LANGUAGE sql STABLE AS $$
  SELECT * FROM payments_debt_as_of(p_as_of, p_customers, NULL, NULL)
$$;

-- Contract for dunning: every bill with money still owed as of p_as_of by the customers of [p_lo, p_hi).
CREATE FUNCTION payments_open_debt(p_as_of date, p_lo bigint, p_hi bigint)
RETURNS TABLE (customer_id bigint, bill_id bigint, bill_no text, period text, due_date date, outstanding numeric(14,2), late_fee numeric(14,2))
LANGUAGE sql STABLE AS $$
  SELECT d.customer_id, d.bill_id, d.ref_no, d.period, d.due_date, d.outstanding::numeric(14,2), d.late_fee::numeric(14,2)
  FROM payments_debt_as_of(p_as_of, NULL, p_lo, p_hi) d
  WHERE d.bill_id IS NOT NULL
$$;

CREATE OR REPLACE FUNCTION payments_open_debt(p_as_of date)
RETURNS TABLE (customer_id bigint, bill_id bigint, bill_no text, period text, due_date date, outstanding numeric(14,2), late_fee numeric(14,2))
LANGUAGE sql STABLE AS $$
  SELECT * FROM payments_open_debt(p_as_of, NULL, NULL)
$$;
