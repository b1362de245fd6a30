-- How many days before today a payment may be dated, per channel ('*': every channel without a row of
-- its own). The date a payment was made sets its late fee and the day its allocations count from: a date
-- without a lower bound waived any late fee and rewrote months already closed (arrears, collection rate).
-- Demo defaults: a month for the channels that report after the fact (a bank's settlement comes a day or
-- two later, a missed file is caught at the month's reconciliation, a long holiday adds a week); none for
-- the customer portal, which takes the money as the customer pays.
CREATE TABLE payment_date_policy (
  channel text PRIMARY KEY CONSTRAINT payment_date_policy_channel_check CHECK (channel IN
    ('*', 'bank_counter', 'bank_withholding', 'online_wallet', 'service_hall', 'portal', 'grid_manager')),
  max_backdated_days integer NOT NULL CONSTRAINT payment_date_policy_days_check CHECK (max_backdated_days >= 0)
);
INSERT INTO payment_date_policy (channel, max_backdated_days) VALUES ('*', 31), ('portal', 0);
