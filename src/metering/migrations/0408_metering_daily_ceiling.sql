-- The most a meter can register in a day, for the spike rule when a meter has too little history for a median
-- (a new connection, the new meter of an exchange): a customer with a contract capacity cannot draw more than
-- that many kVA for 24 hours; a residential customer without one is held to the largest household meter,
-- 10(100) A at 220 V for 24 hours (528 kWh). Data, as every policy number.
ALTER TABLE metering_policy ADD COLUMN residential_max_daily_kwh numeric(14,2) NOT NULL DEFAULT 528
  CONSTRAINT metering_policy_residential_max_daily_check CHECK (residential_max_daily_kwh > 0);
