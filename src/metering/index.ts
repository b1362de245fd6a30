/** Metering context. */
export { meteringRoutes } from './api/routes.ts';
export { registerMeteringCommands } from './cli.ts';
