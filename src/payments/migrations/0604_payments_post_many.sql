-- payments_allocate as in 0602 but for how it reads what each debt has received: through the allocation
-- index for the customers at hand. The join with the unnested sources was planned, for a batch of tens
-- of customers, as a sequential scan of every allocation ever made (cost growing with history).
CREATE OR REPLACE FUNCTION payments_allocate(p_customer bigint[], p_source_kind text[], p_source_id bigint[], p_money numeric[],
                                  p_source_date date[], p_on date, p_at timestamptz)
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

-- Post many payments in one statement (the HTTP posting queue, file imports, reconciliation), each
-- exactly once per (channel, reference). payments_post (one payment) now runs through this function, so
-- there is one posting path and one allocation path (payments_allocate) for every channel.
--
-- Per input row (ord = position in the arrays, from 1) the status is 'posted' (new), 'duplicate' (the key
-- is stored with the same customer and amount: the stored payment is returned), 'conflict' (the key is
-- stored with another customer or amount) or 'unknown_customer'. The same key twice in one call is posted
-- once, for its first row; the later rows are its duplicates (or conflicts).
--
-- Concurrency: the accounts of the rows whose key is not yet stored are locked FOR UPDATE in customer id
-- order before any insert (no deadlock between two calls, and the dunning dispatcher's FOR SHARE waits);
-- a concurrent call posting the same key waits on the unique index and then sees it as stored.
-- Several new payments of one customer are allocated in rounds in row order, each round one set-based
-- payments_allocate per payment day, exactly as if they had been posted one after the other.
CREATE FUNCTION payments_post_many(p_channel text[], p_reference text[], p_customer_number text[], p_amount numeric[],
                                   p_received_on date[], p_actor text[], p_at timestamptz, p_source text)
RETURNS TABLE (ord integer, status text, payment_id bigint, channel text, reference text, customer_id bigint, customer_number text,
               amount numeric, currency text, received_on date, posted_at timestamptz, posted_by text, source text,
               reversed_on date, reversed_by text, reversal_reason text, allocations json, prepaid numeric)
LANGUAGE plpgsql
-- a batch is tens of rows: re-planning every statement per call (custom plans of array parameters) cost
-- more than running them; the generic plans read the indexes by customer and key
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
DECLARE
  v_cust bigint[];
  v_new_ord bigint[];
  v_new_id bigint[];
  g record;
BEGIN
  -- customer.number is char(10): compare as such so the unique index serves the lookup
  SELECT array_agg(c.id ORDER BY u.i) INTO v_cust
  FROM unnest(p_customer_number) WITH ORDINALITY AS u(n, i) LEFT JOIN customer c ON c.number = u.n::char(10);

  INSERT INTO account (customer_id, opened_at)
  SELECT DISTINCT x.c, p_at FROM unnest(v_cust) AS x(c)
  WHERE x.c IS NOT NULL AND NOT EXISTS (SELECT 1 FROM account a WHERE a.customer_id = x.c)
  ON CONFLICT DO NOTHING;

  -- the lock point: every account a new payment may land on, in id order
  PERFORM 1 FROM account a
  WHERE a.customer_id IN (SELECT t.c FROM unnest(v_cust, p_channel, p_reference) AS t(c, ch, ref)
                          WHERE t.c IS NOT NULL AND NOT EXISTS (SELECT 1 FROM payment p WHERE p.channel = t.ch AND p.reference = t.ref))
  ORDER BY a.customer_id FOR UPDATE;

  WITH src AS (
    SELECT DISTINCT ON (t.ch, t.ref) t.ch, t.ref, t.c, t.amt, t.d, t.actor, t.i
    FROM unnest(p_channel, p_reference, v_cust, p_amount, p_received_on, p_actor) WITH ORDINALITY AS t(ch, ref, c, amt, d, actor, i)
    WHERE t.c IS NOT NULL
    ORDER BY t.ch, t.ref, t.i
  ), ins AS (
    INSERT INTO payment (channel, reference, customer_id, amount, received_on, posted_at, posted_by, source)
    SELECT s.ch, s.ref, s.c, s.amt, s.d, p_at, s.actor, p_source FROM src s ORDER BY s.i
    ON CONFLICT ON CONSTRAINT payment_channel_reference_key DO NOTHING
    RETURNING id, channel, reference
  )
  SELECT array_agg(s.i ORDER BY s.i), array_agg(ins.id ORDER BY s.i) INTO v_new_ord, v_new_id
  FROM ins JOIN src s ON s.ch = ins.channel AND s.ref = ins.reference;

  IF v_new_id IS NOT NULL THEN
    -- round k allocates the k-th new payment of each customer; one allocation per payment day
    FOR g IN
      SELECT n.rn, n.d, array_agg(n.c ORDER BY n.o) AS cs, array_agg(n.id ORDER BY n.o) AS ids, array_agg(n.amt ORDER BY n.o) AS amts,
             array_agg(n.memo ORDER BY n.o) AS memos
      FROM (SELECT x.o, x.id, v_cust[x.o] AS c, p_amount[x.o] AS amt, p_received_on[x.o] AS d, p_channel[x.o] || ' ' || p_reference[x.o] AS memo,
                   row_number() OVER (PARTITION BY v_cust[x.o] ORDER BY x.o) AS rn
            FROM unnest(v_new_ord, v_new_id) AS x(o, id)) n
      GROUP BY n.rn, n.d ORDER BY n.rn, n.d
    LOOP
      INSERT INTO ledger_entry (customer_id, kind, amount, entry_date, posted_at, payment_id, memo)
      SELECT x.c, 'payment', -x.amt, g.d, p_at, x.id, x.memo FROM unnest(g.cs, g.amts, g.ids, g.memos) AS x(c, amt, id, memo);
      PERFORM payments_allocate(g.cs, array_fill('payment'::text, ARRAY[cardinality(g.cs)]), g.ids, g.amts,
                                array_fill(g.d, ARRAY[cardinality(g.cs)]), g.d, p_at);
    END LOOP;

    INSERT INTO audit_log (at, actor, action, subject, detail)
    SELECT p_at, p_actor[x.o], 'payment.post', 'payment:' || x.id,
           jsonb_build_object('channel', p_channel[x.o], 'reference', p_reference[x.o], 'customer', p_customer_number[x.o], 'amount', p_amount[x.o], 'source', p_source)
    FROM unnest(v_new_ord, v_new_id) AS x(o, id) ORDER BY x.o;
  END IF;

  -- every row with its stored payment: what it settled at posting and what it kept as prepaid balance
  RETURN QUERY
  SELECT t.i::integer,
         CASE WHEN t.c IS NULL THEN 'unknown_customer'
              WHEN t.i = ANY (coalesce(v_new_ord, '{}')) THEN 'posted'
              WHEN p.customer_id = t.c AND p.amount = t.amt THEN 'duplicate' ELSE 'conflict' END,
         p.id, p.channel, p.reference, p.customer_id, pc.number::text, p.amount, p.currency::text, p.received_on, p.posted_at, p.posted_by, p.source,
         x.reversed_on, x.reversed_by, x.reason, al.allocations, (p.amount - coalesce(al.used, 0))::numeric(14,2)
  FROM unnest(p_channel, p_reference, v_cust, p_amount) WITH ORDINALITY AS t(ch, ref, c, amt, i)
  LEFT JOIN payment p ON t.c IS NOT NULL AND p.channel = t.ch AND p.reference = t.ref
  LEFT JOIN customer pc ON pc.id = p.customer_id
  LEFT JOIN payment_reversal x ON x.payment_id = p.id
  LEFT JOIN LATERAL (
    SELECT json_agg(json_build_object('billNo', r.ref_no, 'billId', r.bill_id, 'principal', a.principal::text, 'lateFee', a.late_fee::text) ORDER BY r.due_date, r.id) AS allocations,
           sum(a.principal + a.late_fee) AS used
    FROM allocation a JOIN receivable r ON r.id = a.receivable_id
    WHERE a.source_kind = 'payment' AND a.source_id = p.id AND a.applied_at = p.posted_at AND a.principal >= 0
  ) al ON p.id IS NOT NULL
  ORDER BY t.i;
END
$fn$;

-- One payment: the same path as many (see payments_post_many); signature and statuses unchanged.
CREATE OR REPLACE FUNCTION payments_post(p_channel text, p_reference text, p_customer_number text, p_amount numeric,
                                         p_received_on date, p_at timestamptz, p_actor text, p_source text)
RETURNS TABLE (status text, payment_id bigint, customer_id bigint, amount numeric, received_on date, posted_at timestamptz, allocations json)
LANGUAGE sql AS $$
  SELECT m.status, m.payment_id, m.customer_id, coalesce(m.amount, p_amount), coalesce(m.received_on, p_received_on), m.posted_at,
         CASE WHEN m.status = 'posted' THEN coalesce(m.allocations, '[]'::json) END
  FROM payments_post_many(ARRAY[p_channel], ARRAY[p_reference], ARRAY[p_customer_number], ARRAY[p_amount], ARRAY[p_received_on],
                          ARRAY[p_actor], p_at, p_source) m
$$;
