/** Work: one task model for all field and desk work (re-reads, manual collection, agency, …), 95598 orders, new connections. */
export * from './store/tasks.repository.ts';
export * from './store/task-flow.repository.ts';
export * from './store/task-queries.repository.ts';
export * from './store/orders.repository.ts';
export * from './store/calendar.repository.ts';
export * from './store/connections.repository.ts';
export * from './domain/task-flow.ts';
export * from './domain/order-flow.ts';
export * from './domain/working-days.ts';
export * from './domain/meter-store.ts';
export { workRoutes } from './api/routes.ts';
export { registerWorkCommands } from './cli.ts';
