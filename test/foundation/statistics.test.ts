import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { analyzeChangedTables, type Database } from '../../src/platform/index.ts';
import { freshDatabase, planRows } from '../support/db.ts';

/** Cumulative statistics reach the shared view when the writing backend goes idle (at most once a second). */
async function modsSeen(db: Database['db'], table: string, atLeast: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const r = await sql<{ n: string }>`SELECT n_mod_since_analyze::text AS n FROM pg_stat_user_tables WHERE relname = ${table}`.execute(db);
    if (Number(r.rows[0]?.n ?? 0) >= atLeast) return;
  }
  throw new Error(`the statistics never counted ${atLeast} changes on ${table}`);
}

describe('planner statistics of bulk-filled tables', () => {
  let database: Database;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ database, drop } = await freshDatabase());
    await analyzeChangedTables(database.db); // what the migrations left
  });
  afterAll(() => drop());

  it('analyses a table filled past the threshold, once, and leaves a slightly changed one alone', async () => {
    const { db } = database;
    await sql`CREATE TABLE stats_probe (id int PRIMARY KEY, day date)`.execute(db);
    await sql`CREATE TABLE stats_quiet (id int PRIMARY KEY)`.execute(db);
    await sql`ANALYZE stats_probe, stats_quiet`.execute(db);
    await sql`INSERT INTO stats_probe SELECT g, DATE '2026-01-01' FROM generate_series(1, 20000) g`.execute(db);
    await sql`INSERT INTO stats_quiet SELECT g FROM generate_series(1, 40) g`.execute(db);
    await modsSeen(db, 'stats_probe', 20000);
    await modsSeen(db, 'stats_quiet', 40);
    // before: the planner takes the filled table for (nearly) empty
    expect(await planRows(db, `SELECT * FROM stats_probe WHERE day = '2026-01-01'`)).toBeLessThan(1000);

    const analysed = await analyzeChangedTables(db);
    expect(analysed).toContain('public.stats_probe');
    expect(analysed).not.toContain('public.stats_quiet'); // 40 changes: under 50 + 10 %
    expect(await planRows(db, `SELECT * FROM stats_probe WHERE day = '2026-01-01'`)).toBeGreaterThan(15000);

    // nothing changed since: nothing to do
    expect(await analyzeChangedTables(db)).not.toContain('public.stats_probe');
  });

  it('analyses a table filled since it was analysed empty before its writer reported the changes', async () => {
    const { db } = database;
    await sql`CREATE TABLE stats_fresh (id int PRIMARY KEY, day date)`.execute(db);
    await sql`ANALYZE stats_fresh`.execute(db);
    // in one transaction: its changes are not in the statistics view yet, as just after a bulk load
    // on another connection (a new month's readings partition, then the billing run at once)
    const analysed = await db.transaction().execute(async (trx) => {
      await sql`INSERT INTO stats_fresh SELECT g, DATE '2026-01-01' FROM generate_series(1, 20000) g`.execute(trx);
      const r = await sql<{ n: string }>`SELECT n_mod_since_analyze::text AS n FROM pg_stat_user_tables WHERE relname = 'stats_fresh'`.execute(trx);
      expect(Number(r.rows[0]!.n)).toBe(0);
      return analyzeChangedTables(trx);
    });
    expect(analysed).toContain('public.stats_fresh');
    expect(await planRows(db, `SELECT * FROM stats_fresh WHERE day = '2026-01-01'`)).toBeGreaterThan(15000);
  });
});
