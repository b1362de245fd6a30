/** Dunning context. */
export { dunningRoutes } from './api/routes.ts';
export { registerDunningCommands } from './cli.ts';
