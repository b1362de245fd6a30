/** The Q/GDW 1376.1 front-end (前置机): concentrators log in over TCP; daily frozen readings are collected and stored. */
export { startFrontend, type CollectDaySummary, type Frontend, type FrontendOptions, type FrontendStatus } from './server.ts';
export { FrameReader, type FrameReadResult } from './framer.ts';
export { clockDriftSeconds, type CollectOptions } from './collector.ts';
export {
  listCollections,
  listConcentratorLinks,
  type CollectionRecord,
  type ConcentratorLinkRow,
  type FrontendCollectionRow,
} from './store.ts';
export { registerFrontendCommands } from './cli.ts';
