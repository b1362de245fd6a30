-- The tariff in force on each day, for the customers with a tariff change on record (applied or still
-- due): one row per span [valid_from, valid_to) at one tariff; valid_from is null for the span before the
-- first change, valid_to null for the span in force now and on. Customers without a tariff change have
-- no rows: their customer.tariff_code holds for every day. Billing reads it to price a period in parts.
CREATE VIEW v_customer_tariff_span AS
WITH change AS (
  SELECT customer_id, id, effective_on, payload->>'newTariffCode' AS tariff_code, payload->>'oldTariffCode' AS old_tariff_code, applied_at
  FROM customer_change
  WHERE change_type = 'tariff'
),
timeline AS (
  -- the tariff before any change: what the earliest applied change replaced (applying keeps it as
  -- oldTariffCode), else, while none is applied, the customer's tariff
  SELECT c.id AS customer_id, 0::bigint AS seq, NULL::date AS valid_from,
    coalesce((SELECT a.old_tariff_code FROM change a WHERE a.customer_id = c.id AND a.applied_at IS NOT NULL
              ORDER BY a.effective_on, a.id LIMIT 1), c.tariff_code) AS tariff_code
  FROM customer c
  WHERE c.id IN (SELECT customer_id FROM change)
  UNION ALL
  -- of several changes effective the same day, the last recorded holds
  SELECT * FROM (
    SELECT DISTINCT ON (customer_id, effective_on) customer_id, id, effective_on, tariff_code
    FROM change
    ORDER BY customer_id, effective_on, id DESC) last_of_day
),
step AS (
  SELECT t.*, lag(t.tariff_code) OVER (PARTITION BY t.customer_id ORDER BY t.valid_from NULLS FIRST, t.seq) AS before
  FROM timeline t
)
-- a change to the tariff already in force starts no new span
SELECT customer_id, tariff_code, valid_from,
  lead(valid_from) OVER (PARTITION BY customer_id ORDER BY valid_from NULLS FIRST, seq) AS valid_to
FROM step
WHERE before IS DISTINCT FROM tariff_code;
