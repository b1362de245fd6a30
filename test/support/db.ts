import { sql, type RawBuilder } from 'kysely';
import {
  createLogger, loadConfig, migrate, openDatabase, SimulatedClock,
  type AppContext, type Clock, type Database, type Db,
} from '../../src/platform/index.ts';
import { dropOnFailure, freshServerDatabase } from '../../src/platform/fresh-database.ts';
import { seedProvince } from '../../src/sim/seed.ts';

/**
 * A fresh, migrated database for one test file: PGlite in memory by default; with DATABASE_URL a new
 * database on that server, dropped afterwards, so parallel runs never collide.
 */
export async function freshDatabase(): Promise<{ database: Database; drop: () => Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const database = await openDatabase({});
    await migrate(database);
    return { database, drop: () => database.close() };
  }
  const fresh = await freshServerDatabase(url, 'zt_test');
  return { database: fresh.database, drop: fresh.drop };
}

export interface TestContext extends AppContext {
  clock: SimulatedClock;
  drop: () => Promise<void>;
}

/** A context on a fresh database, with a simulated clock and optionally a seeded province. */
export async function testContext(opts: { customers?: number; seed?: number; now?: string } = {}): Promise<TestContext> {
  const { database, drop } = await freshDatabase();
  const clock = new SimulatedClock(opts.now ?? '2026-01-01T10:00:00+08:00');
  if (opts.customers) await dropOnFailure(drop, () => seedProvince(database, { customers: opts.customers!, seed: opts.seed ?? 1, since: '2025-01-01' }));
  return { database, db: database.db, clock, log: createLogger('test'), config: { ...loadConfig({}), port: 0 }, drop };
}

export type { Clock };

/** The plan the planner would run for a query (EXPLAIN's JSON form), without running it. */
export async function queryPlan(db: Db, query: string | RawBuilder<unknown>): Promise<{ Plan: { 'Plan Rows': number } }> {
  const r = await sql<{ 'QUERY PLAN': { Plan: { 'Plan Rows': number } }[] }>`EXPLAIN (FORMAT JSON) ${typeof query === 'string' ? sql.raw(query) : query}`.execute(db);
  return r.rows[0]!['QUERY PLAN'][0]!;
}

/** The planner's row estimate for a query (what a plan is built on, before anything runs). */
export async function planRows(db: Db, query: string): Promise<number> {
  return (await queryPlan(db, query)).Plan['Plan Rows'];
}
