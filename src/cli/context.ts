import { clockFor, createLogger, loadConfig, migrate, openDatabase, type AppContext, type Clock } from '../platform/index.ts';

/** Open the configured database (PGlite folder or DATABASE_URL), migrate it, and hand a context to `fn`. */
export async function withContext<T>(opts: { asOf?: string; clock?: Clock; migrate?: boolean }, fn: (ctx: AppContext) => Promise<T>): Promise<T> {
  const ctx = await openContext(opts);
  try {
    return await fn(ctx);
  } finally {
    await ctx.database.close();
  }
}

export async function openContext(opts: { asOf?: string; clock?: Clock; migrate?: boolean } = {}): Promise<AppContext> {
  // a bad --as-of is refused before the database is opened
  const clock = opts.clock ?? clockFor(opts.asOf);
  const config = loadConfig();
  const log = createLogger();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  if (opts.migrate !== false) await migrate(database, (name) => log.debug({ name }, 'migration applied'));
  return { database, db: database.db, clock, log, config };
}

/** Print a result as JSON (machine-readable) or as the given human text. */
export function output(json: boolean | undefined, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}
