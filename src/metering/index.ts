/** Metering: readings store, ingest, protocols (DL/T 645, Q/GDW 1376.1), front-end, VEE, re-reads. */
export * from './store/readings.repository.ts';
export * from './store/policy.repository.ts';
export * from './store/read-success.repository.ts';
export * from './store/reread.repository.ts';
export * from './store/vee.repository.ts';
export * from './store/edits.repository.ts';
export * from './store/queries.repository.ts';
export { REGISTERS, type RawReading, type Register } from './domain/raw-reading.ts';
export { REGISTER_WRAP, registerUsed } from './domain/register.ts';
export { ingestReadings, ingestStaged, type IngestResult, type IngestSource, type IngestOptions, type QuarantineReason } from './ingest/ingest.ts';
export { ingestReadingsFile, detectFormat, stageFileContent } from './ingest/file.ts';
export { startMqttIngest, READINGS_TOPIC, type MqttIngestOptions } from './ingest/mqtt.ts';
export { meteringRoutes } from './api/routes.ts';
export { registerMeteringCommands } from './cli.ts';
export * from './frontend/index.ts';
