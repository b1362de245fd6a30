-- Every posting, one or many, goes through payments_post_many (postPayment is the batch of one in
-- TypeScript); the single-payment wrapper of 0602/0604 has no caller left and would be a second
-- entry point to keep in step.
DROP FUNCTION payments_post(text, text, text, numeric, date, timestamptz, text, text);
