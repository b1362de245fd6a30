/** Org: the hierarchy HQ → province → city → county → supply station → grid unit, teams and staff. */
export * from './store/org.repository.ts';
export { orgRoutes } from './api/org.routes.ts';
