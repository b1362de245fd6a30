import type { Database, Db } from './db.ts';
import type { Clock } from './clock.ts';
import type { Logger } from './log.ts';
import type { Config } from './config.ts';

/** What every entry point (server, CLI command, worker) hands to the contexts. */
export interface AppContext {
  database: Database;
  db: Db;
  clock: Clock;
  log: Logger;
  config: Config;
}
