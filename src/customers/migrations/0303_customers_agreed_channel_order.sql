-- The agreed channels of a customer in priority order, as the daily dunning run reads them for every
-- account of the province (one array per customer): an index in that order lets the run aggregate
-- them as they come instead of sorting every agreement of the province (1M accounts: 1.6M
-- agreements, about 0.4 s of sorting per run). The contact is included so the run reads the index
-- alone.
CREATE INDEX channel_agreement_agreed_idx ON channel_agreement (customer_id, priority, channel) INCLUDE (contact_id)
  WHERE withdrawn_at IS NULL;
