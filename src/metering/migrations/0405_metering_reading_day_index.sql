-- The day's readings of a province are ~1/30 of a monthly partition and arrive together, so they sit in
-- neighbouring pages: a block-range index finds them without scanning the month (rollup, VEE, estimates,
-- KPIs all read "the readings of day D"). A few kilobytes per partition, nothing to maintain per row.
CREATE INDEX meter_reading_day_brin ON meter_reading USING brin (reading_date) WITH (pages_per_range = 16);

-- A streak is at least two days (today and yesterday): the VEE rules look for streaks among the meters
-- unchanged since yesterday.
ALTER TABLE metering_policy ADD CONSTRAINT metering_policy_streaks_check CHECK (stuck_days >= 1 AND zero_streak_days >= 1);
