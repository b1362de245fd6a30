/** Billing context. */
export { billingRoutes } from './api/routes.ts';
export { registerBillingCommands } from './cli.ts';
