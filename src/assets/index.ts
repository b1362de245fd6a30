/** Assets: transformer areas (台区), concentrators (集中器), meters and their lifecycle. */
export * from './store/assets.repository.ts';
