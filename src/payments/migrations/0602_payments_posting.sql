-- Allocate money to debts, oldest due first, each bill's late fee with its principal.
-- Sources are parallel arrays, at most one source per customer per call. A payment pays, for each bill,
-- the principal and the late fee accrued on that principal to p_on; credits (notes, credit adjustments)
-- carry no late fee. When money runs out inside a bill, the part r splits as principal round(r/(1+k)),
-- fee the rest; a bill stays open (at least 0.01) until its whole fee, including the minimum, is paid.
-- The allocation is dated p_on; with p_on NULL (prepaid meeting a newly posted bill) it is dated the day
-- the money and the debt first coexisted: the later of the bill's issue date and the source's date.
CREATE FUNCTION payments_allocate(p_customer bigint[], p_source_kind text[], p_source_id bigint[], p_money numeric[],
                                  p_source_date date[], p_on date, p_at timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE n integer;
BEGIN
  WITH src AS (
    SELECT * FROM unnest(p_customer, p_source_kind, p_source_id, p_money, p_source_date) AS s(customer_id, source_kind, source_id, money, source_date)
  ), used AS (
    SELECT a.receivable_id, sum(a.principal) AS principal, sum(a.late_fee) AS late_fee
    FROM allocation a JOIN src s ON s.customer_id = a.customer_id GROUP BY a.receivable_id
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
           CASE WHEN rest >= outstanding + fee THEN fee ELSE rest - principal_paid END, on_date, p_at
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

-- Money not yet allocated, per source: payments not reversed, credit notes and credit adjustments.
CREATE VIEW payments_credit_source AS
  SELECT p.customer_id, 'payment'::text AS source_kind, p.id AS source_id, p.received_on AS source_date,
         p.amount - coalesce((SELECT sum(a.principal + a.late_fee) FROM allocation a WHERE a.source_kind = 'payment' AND a.source_id = p.id), 0) AS remaining
  FROM payment p
  WHERE NOT EXISTS (SELECT 1 FROM payment_reversal x WHERE x.payment_id = p.id)
  UNION ALL
  SELECT r.customer_id, 'credit', r.id, r.issued_on,
         -r.amount - coalesce((SELECT sum(a.principal) FROM allocation a WHERE a.source_kind = 'credit' AND a.source_id = r.id), 0)
  FROM receivable r WHERE r.amount < 0;

-- Settle open debts of the given customers from their prepaid money (oldest source first), in rounds of
-- one source per customer; each round is one set-based allocation. Locks the accounts it touches.
-- p_on NULL: date each settlement when money and debt first coexisted (see payments_allocate).
CREATE FUNCTION payments_settle(p_customers bigint[], p_on date, p_at timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  v_customer bigint[]; v_kind text[]; v_id bigint[]; v_money numeric[]; v_date date[];
  v_rounds integer := 0; v_total integer := 0;
BEGIN
  -- only accounts holding unallocated money can settle anything: lock those, in id order (no deadlocks)
  PERFORM 1 FROM account a
  WHERE a.customer_id IN (SELECT cs.customer_id FROM payments_credit_source cs JOIN unnest(p_customers) AS s(customer_id) ON s.customer_id = cs.customer_id WHERE cs.remaining > 0)
  ORDER BY a.customer_id FOR UPDATE;
  LOOP
    SELECT array_agg(x.customer_id), array_agg(x.source_kind), array_agg(x.source_id), array_agg(x.remaining), array_agg(x.source_date)
      INTO v_customer, v_kind, v_id, v_money, v_date
    FROM (
      SELECT DISTINCT ON (cs.customer_id) cs.customer_id, cs.source_kind, cs.source_id, cs.remaining, cs.source_date
      FROM payments_credit_source cs JOIN (SELECT DISTINCT unnest(p_customers) AS customer_id) s ON s.customer_id = cs.customer_id
      WHERE cs.remaining > 0
        AND EXISTS (SELECT 1 FROM receivable r WHERE r.customer_id = cs.customer_id AND r.amount > 0
                    AND r.amount > coalesce((SELECT sum(a.principal) FROM allocation a WHERE a.receivable_id = r.id), 0))
      ORDER BY cs.customer_id, cs.source_date, cs.source_kind, cs.source_id
    ) x;
    EXIT WHEN v_customer IS NULL;
    v_total := v_total + payments_allocate(v_customer, v_kind, v_id, v_money, v_date, p_on, p_at);
    v_rounds := v_rounds + 1;
    -- every round uses up a source or clears a customer's debts; the cap only guards against a defect
    EXIT WHEN v_rounds >= 1000;
  END LOOP;
  RETURN v_total;
END
$fn$;

-- Post one payment exactly once per (channel, reference), in one round trip. Status: 'posted' (new),
-- 'duplicate' (same key and same content: the first posting is returned), 'conflict' (same key, other
-- content), 'unknown_customer'.
CREATE FUNCTION payments_post(p_channel text, p_reference text, p_customer_number text, p_amount numeric,
                              p_received_on date, p_at timestamptz, p_actor text, p_source text)
RETURNS TABLE (status text, payment_id bigint, customer_id bigint, amount numeric, received_on date, posted_at timestamptz, allocations json)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE v_customer bigint; v_id bigint;
BEGIN
  -- customer.number is char(10): compare as such so the unique index serves the lookup
  SELECT c.id INTO v_customer FROM customer c WHERE c.number = p_customer_number::char(10);
  IF v_customer IS NULL THEN
    RETURN QUERY SELECT 'unknown_customer'::text, NULL::bigint, NULL::bigint, p_amount, p_received_on, NULL::timestamptz, NULL::json;
    RETURN;
  END IF;
  INSERT INTO account (customer_id, opened_at) VALUES (v_customer, p_at) ON CONFLICT DO NOTHING;
  PERFORM 1 FROM account a WHERE a.customer_id = v_customer FOR UPDATE;
  INSERT INTO payment (channel, reference, customer_id, amount, received_on, posted_at, posted_by, source)
  VALUES (p_channel, p_reference, v_customer, p_amount, p_received_on, p_at, p_actor, p_source)
  ON CONFLICT ON CONSTRAINT payment_channel_reference_key DO NOTHING
  RETURNING id INTO v_id;
  IF v_id IS NULL THEN
    RETURN QUERY SELECT CASE WHEN p.customer_id = v_customer AND p.amount = p_amount THEN 'duplicate' ELSE 'conflict' END,
                        p.id, p.customer_id, p.amount, p.received_on, p.posted_at, NULL::json
                 FROM payment p WHERE p.channel = p_channel AND p.reference = p_reference;
    RETURN;
  END IF;
  INSERT INTO ledger_entry (customer_id, kind, amount, entry_date, posted_at, payment_id, memo)
  VALUES (v_customer, 'payment', -p_amount, p_received_on, p_at, v_id, p_channel || ' ' || p_reference);
  PERFORM payments_allocate(ARRAY[v_customer], ARRAY['payment'], ARRAY[v_id], ARRAY[p_amount], ARRAY[p_received_on], p_received_on, p_at);
  INSERT INTO audit_log (at, actor, action, subject, detail)
  VALUES (p_at, p_actor, 'payment.post', 'payment:' || v_id,
          jsonb_build_object('channel', p_channel, 'reference', p_reference, 'customer', p_customer_number, 'amount', p_amount, 'source', p_source));
  -- the new payment's allocations come back in the same round trip
  RETURN QUERY SELECT 'posted'::text, v_id, v_customer, p_amount, p_received_on, p_at,
    (SELECT json_agg(json_build_object('billNo', r.ref_no, 'billId', r.bill_id, 'principal', a.principal::text, 'lateFee', a.late_fee::text) ORDER BY r.due_date, r.id)
       FROM allocation a JOIN receivable r ON r.id = a.receivable_id WHERE a.source_kind = 'payment' AND a.source_id = v_id);
END
$fn$;
