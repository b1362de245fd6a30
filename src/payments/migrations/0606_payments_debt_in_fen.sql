-- Open debt and late fees as of a date, computed in integer fen (one set-based pass, province-wide).
--
-- 0605 made the pass one plan of hash joins, but per debt item it still did about fifteen numeric
-- operations (outstanding, the fee, rounding, the minimum, casts) and a two-key hash join (segment text,
-- due date) with the factors, and its callers summed numeric columns per account (a numeric sum state per
-- account and per column: 1 KB per account, a hash aggregate of 1M accounts spilled to disk). Now:
--  * the factors are one row per due date with both segments' factor and minimum side by side (a hash
--    join on the date alone), factor in millionths (k_micro: days × rate, exact at rate scale 6) and the
--    minimum in fen;
--  * each item converts amount and what it was paid to fen once, and the fee is integer arithmetic:
--    round half up of outstanding_fen × k_micro / 10^6 (= round(outstanding × k, 2) of 0601, outstanding
--    and k being positive), topped up to the minimum; exact, no floating point. An item so large that the
--    product could leave bigint (above max_fen) takes the numeric formula instead;
--  * aggregates sum bigint fen (a small int128 state), and convert to yuan once per group.
-- payments_debt_as_of keeps its signature and its values (it converts back to yuan; a fee of nothing now reads
-- 0.00 where it read 0); payments_fee_factor stays
-- the one definition of the rate rule. The segments are the two that the CHECK constraints of customer.kind
-- and late_fee_policy.segment allow; a new segment needs its columns here.

-- Factor (millionths) and minimum (fen) per due date before p_as_of, both segments on one row.
CREATE FUNCTION payments_fee_factors_by_due(p_as_of date, p_customers bigint[])
RETURNS TABLE (due_date date, res_k_micro bigint, res_min_fen bigint, res_max_fen bigint,
               non_k_micro bigint, non_min_fen bigint, non_max_fen bigint)
LANGUAGE sql STABLE AS $$
  SELECT x.due_date, x.rk, x.rm, 9000000000000000000 / greatest(x.rk, 1), x.nk, x.nm, 9000000000000000000 / greatest(x.nk, 1)
  FROM (SELECT f.due_date,
               max((f.k * 1000000)::bigint) FILTER (WHERE f.segment = 'residential') AS rk,
               max((f.minimum * 100)::bigint) FILTER (WHERE f.segment = 'residential') AS rm,
               max((f.k * 1000000)::bigint) FILTER (WHERE f.segment = 'non_residential') AS nk,
               max((f.minimum * 100)::bigint) FILTER (WHERE f.segment = 'non_residential') AS nm
        FROM payments_fee_factors(p_as_of, p_customers) f GROUP BY f.due_date) x
$$;

-- Late fee in fen still to pay on outstanding_fen (see payments_fee_due): accrued fee rounded half up to the
-- fen, topped up so the item's total fee is at least the minimum. max_fen: above it the product may leave bigint.
CREATE FUNCTION payments_fee_due_fen(p_outstanding bigint, p_fee_paid bigint, p_k_micro bigint, p_min bigint, p_max_fen bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_k_micro > 0 AND p_outstanding > 0
              THEN greatest(CASE WHEN p_outstanding <= p_max_fen THEN (p_outstanding * p_k_micro + 500000) / 1000000
                                 ELSE round(p_outstanding::numeric * p_k_micro / 1000000)::bigint END,
                            p_min - p_fee_paid)
              ELSE 0 END
$$;

-- Every debt item with money owed as of p_as_of (for p_customers, or all when NULL), amounts in fen.
CREATE FUNCTION payments_debt_fen(p_as_of date, p_customers bigint[])
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
                   GROUP BY a.receivable_id) p ON p.receivable_id = r.id
        WHERE r.amount > 0 AND r.issued_on <= p_as_of AND (p.principal IS NULL OR r.amount * 100 > p.principal)
          AND (p_customers IS NULL OR r.customer_id = ANY (p_customers))
        -- a fence: the fee formula reads outstanding four times, inlined it would convert the amount to fen four times
        OFFSET 0) d
  LEFT JOIN factor f ON f.due_date = d.due_date
$$;

CREATE OR REPLACE FUNCTION payments_debt_as_of(p_as_of date, p_customers bigint[])
RETURNS TABLE (customer_id bigint, receivable_id bigint, bill_id bigint, kind text, ref_no text, period text, issued_on date,
               due_date date, amount numeric, outstanding numeric, late_fee_paid numeric, late_fee numeric)
LANGUAGE sql STABLE AS $$
  SELECT d.customer_id, d.receivable_id, d.bill_id, d.kind, d.ref_no, d.period, d.issued_on, d.due_date, d.amount,
         d.outstanding_fen * 0.01, d.late_fee_paid_fen * 0.01, d.late_fee_fen * 0.01
  FROM payments_debt_fen(p_as_of, p_customers) d
$$;

-- Statement totals of every account with open debt as of p_as_of (a print or dunning run): open items,
-- outstanding, late fee and total due, one aggregate per account over the items of payments_debt_fen.
CREATE FUNCTION payments_statement_totals(p_as_of date)
RETURNS TABLE (customer_id bigint, open_items integer, outstanding numeric(14,2), late_fee numeric(14,2), total_due numeric(14,2))
LANGUAGE sql STABLE AS $$
  SELECT t.customer_id, t.n::integer, (t.o * 0.01)::numeric(14,2), (t.f * 0.01)::numeric(14,2), ((t.o + t.f) * 0.01)::numeric(14,2)
  FROM (SELECT d.customer_id, count(*) AS n, sum(d.outstanding_fen) AS o, sum(d.late_fee_fen) AS f
        FROM payments_debt_fen(p_as_of, NULL) d GROUP BY d.customer_id) t
$$;
