/** Metering: readings store, ingest, protocols (DL/T 645, Q/GDW 1376.1), front-end, VEE, re-reads. */
export * from './store/readings.repository.ts';
export { meteringRoutes } from './api/routes.ts';
export { registerMeteringCommands } from './cli.ts';
