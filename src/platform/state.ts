import { sql } from 'kysely';
import type { Db } from './db.ts';

/** Small persisted state of long-running processes (simulated clock, last daily run), so a restart resumes. */
export async function getState<T>(db: Db, key: string): Promise<T | undefined> {
  const r = await sql<{ value: T }>`SELECT value FROM system_state WHERE key = ${key}`.execute(db);
  return r.rows[0]?.value;
}

export async function setState(db: Db, key: string, value: unknown): Promise<void> {
  await sql`INSERT INTO system_state (key, value, updated_at) VALUES (${key}, ${JSON.stringify(value)}::jsonb, now())
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`.execute(db);
}
