/** Monitoring context. */
export { monitoringRoutes } from './api/routes.ts';
export { registerMonitoringCommands } from './cli.ts';
