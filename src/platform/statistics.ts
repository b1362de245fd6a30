import { sql } from 'kysely';
import type { Db } from './db.ts';

/**
 * ANALYZE the tables (and partitions) that changed by more than autovacuum's analyze threshold
 * (50 rows + 10 % of the rows the planner last counted) since they were last analysed, or that grew to
 * more than twice their pages since; returns their names. The day-end schedule loads tables in bulk
 * and plans the next step on them within seconds: autovacuum comes a minute later at best, and PGlite
 * has none. A planner that still takes a freshly filled table for empty joins it by nested loop, which
 * turns a set-based step quadratic (a billing run's staging on a new month's readings, the ledger
 * posting of a cycle's first bills).
 */
export async function analyzeChangedTables(db: Db): Promise<string[]> {
  const stale = (await sql<{ name: string }>`
    SELECT format('%I.%I', s.schemaname, s.relname) AS name
    FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    WHERE c.relkind = 'r' AND c.relpersistence = 'p'
      AND (s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)
           -- or more than twice the pages it had when last analysed (new partitions: none): a writer's
           -- counts reach the statistics view only when it goes idle, up to a second later, and a
           -- step that starts at once would otherwise plan a freshly filled partition as empty
           OR pg_relation_size(c.oid) > 2 * (c.relpages + 4)::bigint * current_setting('block_size')::bigint)
    ORDER BY 1`.execute(db)).rows.map((r) => r.name);
  if (stale.length) await sql.raw(`ANALYZE ${stale.join(', ')}`).execute(db);
  return stale;
}

export interface StatisticsKeeper {
  stop(): Promise<void>;
}

/**
 * Run `analyzeChangedTables` every `everyMs` (wall clock) in the background, as autovacuum's analyze
 * would: a long-running process (the server, the demo, the headless month) keeps its own statistics
 * when autovacuum is off (a CI server, PGlite) or behind (a dispatcher's outbox filling faster than
 * its naptime). When autovacuum got there first, the thresholds find nothing to do.
 */
export function keepStatistics(db: Db, opts: { everyMs?: number; onError?: (err: unknown) => void } = {}): StatisticsKeeper {
  let pass: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    // a pass still running (a big table being analysed) is not joined by another
    pass ??= analyzeChangedTables(db).catch((err) => opts.onError?.(err)).finally(() => (pass = undefined));
  }, opts.everyMs ?? 5_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await pass;
    },
  };
}
