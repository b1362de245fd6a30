/** Work: one task model for all field and desk work (re-reads, manual collection, agency, …), 95598 orders, new connections. */
export * from './store/tasks.repository.ts';
export { workRoutes } from './api/routes.ts';
export { registerWorkCommands } from './cli.ts';
