-- Meter-days whose reading was replaced (a head-end's corrected resend, a re-read, a late front-end value) while VEE had
-- flagged the meter on that day or after: the flags judged the old value, or a later day against it, and are judged again
-- (recheckVeeFlags) by the ingest that replaced it, or by the next VEE run. A queue, emptied as it is worked.
CREATE TABLE vee_recheck (
  meter_id bigint NOT NULL,
  reading_date date NOT NULL,
  CONSTRAINT vee_recheck_pkey PRIMARY KEY (meter_id, reading_date)
);

-- Flags the recheck resolved are its own to raise again when a later value fails the rule once more; a person's
-- resolution (an edit, a review) stays.
CREATE FUNCTION metering_queue_vee_recheck() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM vee_flag f WHERE f.meter_id = NEW.meter_id AND f.reading_date >= NEW.reading_date
             AND (f.resolved_at IS NULL OR f.resolved_by = 'vee_recheck')) THEN
    INSERT INTO vee_recheck (meter_id, reading_date) VALUES (NEW.meter_id, NEW.reading_date)
    ON CONFLICT ON CONSTRAINT vee_recheck_pkey DO NOTHING;
  END IF;
  RETURN NULL;
END $$;

-- As meter_reading_replaced: an update trigger, so plain inserts never pay for it, and the WHEN test queues nothing for an
-- upsert that changed no value (a rerun, the front-end rewriting a row). A person's edit resolves its flags itself.
CREATE TRIGGER meter_reading_vee_recheck AFTER UPDATE ON meter_reading
  FOR EACH ROW WHEN (NEW.quality <> 'edited' AND (OLD.total_kwh, OLD.sharp_kwh, OLD.peak_kwh, OLD.flat_kwh, OLD.valley_kwh, OLD.clock_drift_s, OLD.quality)
    IS DISTINCT FROM (NEW.total_kwh, NEW.sharp_kwh, NEW.peak_kwh, NEW.flat_kwh, NEW.valley_kwh, NEW.clock_drift_s, NEW.quality))
  EXECUTE FUNCTION metering_queue_vee_recheck();
