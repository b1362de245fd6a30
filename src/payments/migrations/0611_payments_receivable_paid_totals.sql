-- Open debt costs what is open, not what was ever billed. payments_debt_fen summed every allocation
-- ever made and joined every receivable ever posted, so the daily dunning run's open-debt snapshot
-- grew with the ledger's history: at 1M customers, 2.2 s with one month of bills, 10-11 s with six
-- more months of bills long paid (measured).
--
-- Each receivable now carries what its allocations add up to, kept by a statement trigger on
-- allocation (allocations are append-only: a reversal is a negative allocation), so every writer (the
-- posting functions, payments_settle, reversals, a bulk load) keeps them without knowing:
--   principal_paid_fen, fee_paid_fen  the sums of all its allocations, in fen;
--   last_applied_on                   the latest applied_on among them (NULL: none);
--   settled_on                        the day from which its principal stays paid in full (NULL: open).
-- A receivable is open as of a day d only if settled_on IS NULL OR settled_on > d; the open ones have a
-- partial index of their own, so the daily run reads open receivables only. The sums answer for d when
-- no allocation was applied after d; otherwise (a past date, or a payment dated after d) they are
-- summed from the allocations as before, for those receivables only.

ALTER TABLE receivable
  ADD COLUMN principal_paid_fen bigint NOT NULL DEFAULT 0,
  ADD COLUMN fee_paid_fen bigint NOT NULL DEFAULT 0,
  ADD COLUMN last_applied_on date,
  ADD COLUMN settled_on date;

-- new pages keep room for the update an allocation makes (same page: a HOT update while settled_on stays)
ALTER TABLE receivable SET (fillfactor = 90);

-- Sets the totals of the receivables p_ids from their allocations. settled_on: the first day of the last
-- run of days on which the principal allocated so far covers the amount (a reversal after it ends that
-- run). plpgsql: its plan is kept for the session (a SQL function's would be made again for every posting).
CREATE FUNCTION payments_receivable_sync(p_ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  UPDATE receivable r
  SET principal_paid_fen = t.paid, fee_paid_fen = t.fee, last_applied_on = t.last_on, settled_on = t.settled_on
  FROM (SELECT c.receivable_id, sum(c.paid)::bigint AS paid, sum(c.fee)::bigint AS fee, max(c.applied_on) AS last_on,
               CASE WHEN c.amount_fen > 0 THEN min(c.applied_on) FILTER (WHERE c.covered_since) END AS settled_on
        FROM (SELECT d.receivable_id, d.amount_fen, d.applied_on, d.paid, d.fee,
                     -- covered on this day and on every later one
                     bool_and(d.cum >= d.amount_fen) OVER (PARTITION BY d.receivable_id ORDER BY d.applied_on DESC) AS covered_since
              FROM (SELECT x.receivable_id, x.amount_fen, x.applied_on, x.paid, x.fee,
                           sum(x.paid) OVER (PARTITION BY x.receivable_id ORDER BY x.applied_on) AS cum
                    FROM (SELECT a.receivable_id, (q.amount * 100)::bigint AS amount_fen, a.applied_on,
                                 sum((a.principal * 100)::bigint) AS paid, sum((a.late_fee * 100)::bigint) AS fee
                          FROM allocation a JOIN receivable q ON q.id = a.receivable_id
                          WHERE a.receivable_id = ANY (p_ids)
                          GROUP BY a.receivable_id, q.amount, a.applied_on) x) d) c
        GROUP BY c.receivable_id, c.amount_fen) t
  WHERE r.id = t.receivable_id;
END $$;

CREATE FUNCTION payments_allocation_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM payments_receivable_sync(ARRAY(SELECT DISTINCT n.receivable_id FROM added n));
  RETURN NULL;
END $$;

CREATE TRIGGER allocation_receivable_paid AFTER INSERT ON allocation
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION payments_allocation_added();

-- the ledger so far
SELECT payments_receivable_sync(ARRAY(SELECT DISTINCT a.receivable_id FROM allocation a));

CREATE INDEX receivable_open_idx ON receivable (customer_id) WHERE settled_on IS NULL AND amount > 0;
-- open as of a past day: settled after it
CREATE INDEX receivable_settled_on_idx ON receivable (settled_on) WHERE settled_on IS NOT NULL;

-- 0609's body, reading the open receivables and their totals
CREATE OR REPLACE FUNCTION payments_debt_fen(p_as_of date, p_customers bigint[], p_lo bigint, p_hi bigint)
RETURNS TABLE (customer_id bigint, receivable_id bigint, bill_id bigint, kind text, ref_no text, period text, issued_on date,
               due_date date, amount numeric, outstanding_fen bigint, late_fee_paid_fen bigint, late_fee_fen bigint)
LANGUAGE sql STABLE AS $$
  WITH factor AS MATERIALIZED (SELECT * FROM payments_fee_factors_by_due(p_as_of, p_customers))
  SELECT d.customer_id, d.id, d.bill_id, d.kind, d.ref_no, d.period, d.issued_on, d.due_date, d.amount, d.outstanding, d.fee_paid,
         -- no factor row: not overdue on p_as_of (no fee)
         CASE WHEN d.segment = 'residential' THEN payments_fee_due_fen(d.outstanding, d.fee_paid, f.res_k_micro, f.res_min_fen, f.res_max_fen)
              WHEN d.segment = 'non_residential' THEN payments_fee_due_fen(d.outstanding, d.fee_paid, f.non_k_micro, f.non_min_fen, f.non_max_fen)
              ELSE 0 END
  FROM (SELECT o.*, o.amount_fen - o.principal AS outstanding
        FROM (SELECT r.customer_id, r.id, r.bill_id, r.kind, r.ref_no, r.period, r.issued_on, r.due_date, r.amount, c.kind AS segment,
                     (r.amount * 100)::bigint AS amount_fen,
                     -- allocations applied after p_as_of: sum those up to it (a past date, or money dated after the day)
                     CASE WHEN r.last_applied_on > p_as_of
                          THEN (SELECT coalesce(sum((a.principal * 100)::bigint), 0) FROM allocation a
                                WHERE a.receivable_id = r.id AND a.applied_on <= p_as_of)::bigint
                          ELSE r.principal_paid_fen END AS principal,
                     CASE WHEN r.last_applied_on > p_as_of
                          THEN (SELECT coalesce(sum((a.late_fee * 100)::bigint), 0) FROM allocation a
                                WHERE a.receivable_id = r.id AND a.applied_on <= p_as_of)::bigint
                          ELSE r.fee_paid_fen END AS fee_paid
              FROM receivable r
              JOIN customer c ON c.id = r.customer_id
              WHERE r.amount > 0 AND r.issued_on <= p_as_of AND (r.settled_on IS NULL OR r.settled_on > p_as_of)
                AND (p_customers IS NULL OR r.customer_id = ANY (p_customers))
                AND (p_lo IS NULL OR r.customer_id >= p_lo) AND (p_hi IS NULL OR r.customer_id < p_hi)
                AND (p_lo IS NULL OR c.id >= p_lo) AND (p_hi IS NULL OR c.id < p_hi)
              -- a fence: the fee formula reads outstanding four times, inlined it would sum the allocations four times
              OFFSET 0) o
        WHERE o.amount_fen > o.principal) d
  LEFT JOIN factor f ON f.due_date = d.due_date
$$;
