-- A reversal reopens the debts the reversed payment had paid; the account's unallocated money (a later
-- payment's remainder, a credit note) then settles them, oldest debt first, as it did (0602). That money
-- was on the account while the reversed payment still seemed to pay: it settles a reopened debt with the
-- late fee accrued to the day the money and the debt first coexisted (the later of the debt's issue date
-- and the money's date, as for prepaid money meeting a newly posted bill), not to the reversal day, which
-- charged the customer late fees on debt its own money had covered. The allocation itself is still dated
-- the reversal day, so what any earlier day's statement showed stays as it was. Money a payment already
-- allocated stays where it went (see payments.repository.ts, reversePayment).
--
-- payments_allocate and payments_settle take p_applied_from, the earliest day an allocation is dated
-- (NULL: none); the signatures without it keep their callers (posting, posted debits) as they were.

-- 0604's body; the allocation is dated no earlier than p_applied_from
CREATE FUNCTION payments_allocate(p_customer bigint[], p_source_kind text[], p_source_id bigint[], p_money numeric[],
                                  p_source_date date[], p_on date, p_at timestamptz, p_applied_from date)
RETURNS integer
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE n integer;
BEGIN
  WITH src AS (
    SELECT * FROM unnest(p_customer, p_source_kind, p_source_id, p_money, p_source_date) AS s(customer_id, source_kind, source_id, money, source_date)
  ), used AS (
    -- = ANY of the parameter (not a join with src): the planner sees the array and reads the index
    SELECT a.receivable_id, sum(a.principal) AS principal, sum(a.late_fee) AS late_fee
    FROM allocation a WHERE a.customer_id = ANY (p_customer) GROUP BY a.receivable_id
  ), open AS (
    SELECT r.id AS receivable_id, r.customer_id, r.due_date, r.issued_on, c.kind AS segment,
           r.amount - coalesce(u.principal, 0) AS outstanding, coalesce(u.late_fee, 0) AS fee_paid,
           s.source_kind, s.source_id, s.money, coalesce(p_on, greatest(r.issued_on, s.source_date)) AS on_date
    FROM src s
    JOIN receivable r ON r.customer_id = s.customer_id AND r.amount > 0
    JOIN customer c ON c.id = r.customer_id
    LEFT JOIN used u ON u.receivable_id = r.id
    WHERE r.amount > coalesce(u.principal, 0)
  ), factor AS MATERIALIZED (
    SELECT d.segment, d.due_date, d.on_date, payments_fee_factor(d.segment, d.due_date, d.on_date) AS k, payments_fee_minimum(d.segment, d.on_date) AS minimum
    FROM (SELECT DISTINCT o.segment, o.due_date, o.on_date FROM open o) d
  ), cost AS (
    SELECT o.*, CASE WHEN o.source_kind = 'payment' THEN f.k ELSE 0 END AS k,
           CASE WHEN o.source_kind = 'payment' THEN payments_fee_due(o.outstanding, o.fee_paid, f.k, f.minimum) ELSE 0 END AS fee
    FROM open o JOIN factor f ON f.segment = o.segment AND f.due_date = o.due_date AND f.on_date = o.on_date
  ), running AS (
    SELECT c.*, sum(c.outstanding + c.fee) OVER (PARTITION BY c.customer_id ORDER BY c.due_date, c.issued_on, c.receivable_id) AS upto
    FROM cost c
  ), take AS (
    -- rest = money left when this bill's turn comes
    SELECT r.*, r.money - (r.upto - r.outstanding - r.fee) AS rest FROM running r WHERE r.upto - r.outstanding - r.fee < r.money
  ), split AS (
    SELECT t.*, CASE WHEN t.rest >= t.outstanding + t.fee THEN t.outstanding
                     ELSE greatest(0, least(round(t.rest / (1 + t.k), 2), t.outstanding - 0.01)) END AS principal_paid
    FROM take t
  ), ins AS (
    INSERT INTO allocation (customer_id, receivable_id, source_kind, source_id, principal, late_fee, applied_on, applied_at)
    SELECT customer_id, receivable_id, source_kind, source_id, principal_paid,
           CASE WHEN rest >= outstanding + fee THEN fee ELSE rest - principal_paid END, greatest(on_date, p_applied_from), p_at
    FROM split
    RETURNING customer_id, receivable_id, source_kind, source_id, late_fee, applied_on
  ), fee_entries AS (
    INSERT INTO ledger_entry (customer_id, kind, amount, entry_date, posted_at, receivable_id, payment_id)
    SELECT customer_id, 'late_fee', late_fee, applied_on, p_at, receivable_id, source_id FROM ins WHERE late_fee > 0 AND source_kind = 'payment'
  )
  SELECT count(*) INTO n FROM ins;
  RETURN n;
END
$fn$;

-- 0610's body, passing p_applied_from on
CREATE FUNCTION payments_settle(p_customers bigint[], p_on date, p_at timestamptz, p_applied_from date)
RETURNS integer
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  v_customer bigint[]; v_kind text[]; v_id bigint[]; v_money numeric[]; v_date date[];
  v_rounds integer := 0; v_total integer := 0;
BEGIN
  -- only accounts holding unallocated money can settle anything: lock those, in id order (no deadlocks);
  -- the holders are found once (an init plan), then their accounts by key
  PERFORM 1 FROM account a
  WHERE a.customer_id = ANY (ARRAY(SELECT DISTINCT cs.customer_id FROM payments_credit_source cs JOIN unnest(p_customers) AS s(customer_id) ON s.customer_id = cs.customer_id WHERE cs.remaining > 0))
  ORDER BY a.customer_id FOR UPDATE;
  LOOP
    SELECT array_agg(x.customer_id), array_agg(x.source_kind), array_agg(x.source_id), array_agg(x.remaining), array_agg(x.source_date)
      INTO v_customer, v_kind, v_id, v_money, v_date
    FROM (
      WITH held AS MATERIALIZED (
        SELECT cs.customer_id, cs.source_kind, cs.source_id, cs.remaining, cs.source_date
        FROM payments_credit_source cs JOIN (SELECT DISTINCT unnest(p_customers) AS customer_id) s ON s.customer_id = cs.customer_id
        WHERE cs.remaining > 0
      )
      SELECT DISTINCT ON (h.customer_id) h.customer_id, h.source_kind, h.source_id, h.remaining, h.source_date
      FROM held h
      WHERE EXISTS (SELECT 1 FROM receivable r WHERE r.customer_id = h.customer_id AND r.amount > 0
                    AND r.amount > coalesce((SELECT sum(a.principal) FROM allocation a WHERE a.receivable_id = r.id), 0))
      ORDER BY h.customer_id, h.source_date, h.source_kind, h.source_id
    ) x;
    EXIT WHEN v_customer IS NULL;
    v_total := v_total + payments_allocate(v_customer, v_kind, v_id, v_money, v_date, p_on, p_at, p_applied_from);
    v_rounds := v_rounds + 1;
    -- every round uses up a source or clears a customer's debts; the cap only guards against a defect
    EXIT WHEN v_rounds >= 1000;
  END LOOP;
  RETURN v_total;
END
$fn$;


CREATE OR REPLACE FUNCTION payments_allocate(p_customer bigint[], p_source_kind text[], p_source_id bigint[], p_money numeric[],
                                  p_source_date date[], p_on date, p_at timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $fn$
BEGIN
  RETURN payments_allocate(p_customer, p_source_kind, p_source_id, p_money, p_source_date, p_on, p_at, NULL::date);
END
$fn$;

CREATE OR REPLACE FUNCTION payments_settle(p_customers bigint[], p_on date, p_at timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $fn$
BEGIN
  RETURN payments_settle(p_customers, p_on, p_at, NULL::date);
END
$fn$;
