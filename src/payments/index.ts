/** Payments context. */
export { paymentsRoutes } from './api/routes.ts';
export { registerPaymentsCommands } from './cli.ts';
