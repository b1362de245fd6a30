import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { Database } from './db.ts';
import { AppError } from './errors.ts';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface Migration {
  name: string;
  file: string;
}

/**
 * Every context keeps its plain-SQL migrations in `src/<context>/migrations/NNNN_<context>_<what>.sql`.
 * The number orders them across contexts (platform 00xx, org 01xx, assets 02xx, customers 03xx,
 * metering 04xx, billing 05xx, payments 06xx, dunning 07xx, work 08xx, monitoring 09xx, flows 10xx).
 */
export function listMigrations(srcDir = SRC): Migration[] {
  const found: Migration[] = [];
  for (const ctx of fs.readdirSync(srcDir)) {
    const dir = path.join(srcDir, ctx, 'migrations');
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.sql')) found.push({ name: f.replace(/\.sql$/, ''), file: path.join(dir, f) });
  }
  found.sort((a, b) => a.name.localeCompare(b.name));
  const names = new Set<string>();
  for (const m of found) {
    if (names.has(m.name)) throw new AppError('MIGRATION_DUPLICATE', `two migrations named ${m.name}`);
    names.add(m.name);
  }
  return found;
}

/** Apply pending migrations, each in its own transaction: a failed one leaves the schema as it was. */
export async function migrate(database: Database, onApplied?: (name: string) => void): Promise<string[]> {
  await database.exec(
    `CREATE TABLE IF NOT EXISTS schema_migration (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
  const done = new Set(
    (await sql<{ name: string }>`SELECT name FROM schema_migration`.execute(database.db)).rows.map((r) => r.name),
  );
  const applied: string[] = [];
  for (const m of listMigrations()) {
    if (done.has(m.name)) continue;
    const body = fs.readFileSync(m.file, 'utf8');
    try {
      await database.exec(`${body}\n;INSERT INTO schema_migration (name) VALUES ('${m.name.replace(/'/g, "''")}');`);
    } catch (e) {
      throw new AppError('MIGRATION_FAILED', `migration ${m.name} failed and was rolled back: ${(e as Error).message}`, 500);
    }
    applied.push(m.name);
    onApplied?.(m.name);
  }
  return applied;
}
