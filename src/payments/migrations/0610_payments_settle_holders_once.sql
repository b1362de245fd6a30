-- payments_settle finds the money holders among the batch's customers (every payment and credit note
-- with money left, joined to the customers) in two statements: the account locks and each round's
-- choice of sources. Written as semi-joins, the planner could run both as nested loops that rescan
-- the holders once per account or per receivable: with the accounts and receivables of a first
-- posting inserted in the same transaction, statistics still counted none, and a 300k-customer
-- simulation's first posting never finished (a 100k one sometimes took minutes). The holders are now
-- computed once per statement (an init plan, a materialized CTE); the rest is unchanged (0602).

CREATE OR REPLACE FUNCTION payments_settle(p_customers bigint[], p_on date, p_at timestamptz)
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
    v_total := v_total + payments_allocate(v_customer, v_kind, v_id, v_money, v_date, p_on, p_at);
    v_rounds := v_rounds + 1;
    -- every round uses up a source or clears a customer's debts; the cap only guards against a defect
    EXIT WHEN v_rounds >= 1000;
  END LOOP;
  RETURN v_total;
END
$fn$;
