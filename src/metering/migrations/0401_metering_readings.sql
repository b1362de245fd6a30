-- Daily frozen registers (日冻结), one row per meter and day: the registers are columns so a month
-- of a province is ~30 rows per meter, not 150. Idempotent on (meter, date); a register arriving
-- alone (file rows, MQTT) fills its column without erasing the others.
CREATE TABLE meter_reading (
  meter_id bigint NOT NULL,
  reading_date date NOT NULL,
  total_kwh numeric(16,4),
  sharp_kwh numeric(16,4),
  peak_kwh numeric(16,4),
  flat_kwh numeric(16,4),
  valley_kwh numeric(16,4),
  quality text NOT NULL DEFAULT 'actual' CONSTRAINT meter_reading_quality_check CHECK (quality IN ('actual', 're_read', 'estimated', 'edited')),
  source text NOT NULL CONSTRAINT meter_reading_source_check CHECK (source IN ('frontend', 'file', 'api', 'mqtt', 'manual', 'estimate')),
  received_at timestamptz NOT NULL,
  CONSTRAINT meter_reading_pkey PRIMARY KEY (meter_id, reading_date)
) PARTITION BY RANGE (reading_date);
-- Months get their own partitions (ensureReadingPartitions); anything else lands here, never lost.
CREATE TABLE meter_reading_default PARTITION OF meter_reading DEFAULT;
