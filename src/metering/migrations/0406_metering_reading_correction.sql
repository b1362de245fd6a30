-- A stored reading replaced by a later one keeps what it was: a bill may have used it, and a customer
-- disputing their meter data (answered within 5 working days) is shown what was received when.
-- Covers a head-end's corrected value, an estimate replaced by the actual reading and a person's re-read;
-- a person's edit is kept in reading_edit with its reason instead. One row per replacement; the new values
-- are the reading's current ones (or the next correction's previous ones).
CREATE TABLE reading_correction (
  id bigint GENERATED ALWAYS AS IDENTITY,
  meter_id bigint NOT NULL,
  reading_date date NOT NULL,
  -- the reading as it was before the replacement
  total_kwh numeric(16,4),
  sharp_kwh numeric(16,4),
  peak_kwh numeric(16,4),
  flat_kwh numeric(16,4),
  valley_kwh numeric(16,4),
  quality text NOT NULL,
  source text NOT NULL,
  received_at timestamptz NOT NULL,
  -- what replaced it, and when (the new reading's received_at: the ingest's clock, not the server's)
  replaced_by_source text NOT NULL,
  replaced_by_quality text NOT NULL,
  replaced_at timestamptz NOT NULL,
  -- keyed by meter first: a meter-day's history is one range read, and the table co-locates with meter_reading
  CONSTRAINT reading_correction_pkey PRIMARY KEY (meter_id, reading_date, id)
);

CREATE FUNCTION metering_keep_replaced_reading() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO reading_correction (meter_id, reading_date, total_kwh, sharp_kwh, peak_kwh, flat_kwh, valley_kwh, quality, source, received_at,
                                  replaced_by_source, replaced_by_quality, replaced_at)
  VALUES (OLD.meter_id, OLD.reading_date, OLD.total_kwh, OLD.sharp_kwh, OLD.peak_kwh, OLD.flat_kwh, OLD.valley_kwh, OLD.quality, OLD.source,
          OLD.received_at, NEW.source, NEW.quality, NEW.received_at);
  RETURN NULL;
END $$;

-- An update trigger, so the bulk ingest's plain inserts never pay for it; the WHEN test runs in the executor
-- and queues nothing for an upsert that changed no value (a rerun, a clock-drift update). A register filled
-- for the first time (a meter-day arriving in pieces) replaces nothing. Defined on the partitioned table,
-- it is cloned onto every month partition, including the ones attached later.
CREATE TRIGGER meter_reading_replaced AFTER UPDATE ON meter_reading
  FOR EACH ROW WHEN (NEW.quality <> 'edited' AND (
    OLD.quality = 'estimated'
    OR (OLD.total_kwh IS NOT NULL AND OLD.total_kwh IS DISTINCT FROM NEW.total_kwh)
    OR (OLD.sharp_kwh IS NOT NULL AND OLD.sharp_kwh IS DISTINCT FROM NEW.sharp_kwh)
    OR (OLD.peak_kwh IS NOT NULL AND OLD.peak_kwh IS DISTINCT FROM NEW.peak_kwh)
    OR (OLD.flat_kwh IS NOT NULL AND OLD.flat_kwh IS DISTINCT FROM NEW.flat_kwh)
    OR (OLD.valley_kwh IS NOT NULL AND OLD.valley_kwh IS DISTINCT FROM NEW.valley_kwh)))
  EXECUTE FUNCTION metering_keep_replaced_reading();
