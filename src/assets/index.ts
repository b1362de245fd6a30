/** Assets: transformer areas (台区), concentrators (集中器), meters and their lifecycle. */
export * from './store/assets.repository.ts';
export * from './store/meter-events.repository.ts';
export * from './domain/meter-lifecycle.ts';
export { assetsRoutes } from './api/assets.routes.ts';
