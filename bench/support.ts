import pg from 'pg';
import { sql } from 'kysely';
import { migrate, openDatabase, type Database } from '../src/platform/index.ts';

export const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Run `fn` on a connection to the server's maintenance database (create, drop, clone databases). */
export async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: SERVER_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The server URL with another database name. */
export function databaseUrl(name: string): string {
  const u = new URL(SERVER_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A freshly created database on the PostgreSQL server (dropped first if it exists), migrated. */
export async function benchDatabase(name: string): Promise<Database> {
  await admin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name}`);
  });
  const database = await openDatabase({ databaseUrl: databaseUrl(name), poolSize: 40 });
  await migrate(database);
  return database;
}

/**
 * A database prepared by `prepare`. With `--reuse` on the command line it is cloned from a template
 * database (`templateName`) that is prepared the first time only: seeding a million customers takes
 * minutes, cloning takes seconds.
 */
export async function preparedDatabase(name: string, templateName: string, prepare: (db: Database) => Promise<void>): Promise<Database> {
  if (!process.argv.includes('--reuse')) {
    const database = await benchDatabase(name);
    await prepare(database);
    return database;
  }
  const exists = await admin(async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [templateName])).rowCount === 1);
  if (!exists) {
    const template = await benchDatabase(templateName);
    await prepare(template);
    await template.close();
  }
  const t = performance.now();
  await admin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name} TEMPLATE ${templateName}`);
  });
  const database = await openDatabase({ databaseUrl: databaseUrl(name), poolSize: 40 });
  await migrate(database);
  // the copy is written to the WAL page by page (gigabytes for a 1M province): without a checkpoint
  // here the server takes one in the middle of the first timed run
  await sql`CHECKPOINT`.execute(database.db);
  process.stderr.write(`cloned ${templateName} in ${((performance.now() - t) / 1000).toFixed(2)} s\n`);
  return database;
}

/** An in-memory PGlite database, migrated. */
export async function pgliteDatabase(): Promise<Database> {
  const database = await openDatabase({});
  await migrate(database);
  return database;
}

export function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

export function argString(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function report(title: string, rows: Record<string, string | number>): void {
  process.stdout.write(`\n${title}\n`);
  for (const [k, v] of Object.entries(rows)) process.stdout.write(`  ${k.padEnd(34)} ${v}\n`);
}
