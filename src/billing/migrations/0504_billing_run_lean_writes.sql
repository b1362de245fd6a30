-- A billing run writes a million bills at once: every index on bill is maintained for each of them.
-- bill_no is derived from the bill key (period and customer number, prefixed CR-/RB- for the credit
-- and rebill of a document), so (customer, period, kind, original) already makes it unique, and no
-- query looks a bill up by its number: the unique index on it only cost writes.
ALTER TABLE bill DROP CONSTRAINT IF EXISTS bill_no_key;
