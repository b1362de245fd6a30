import crypto from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from './db.ts';
import { migrate } from './migrate.ts';

/** A new, migrated database on a PostgreSQL server, and how to drop it; runs never collide. */
export async function freshServerDatabase(url: string, prefix: string): Promise<{ database: Database; name: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${crypto.randomBytes(6).toString('hex')}`;
  const admin = async (q: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(q);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: u.toString() });
  const drop = async () => {
    await database.close();
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  };
  // a migration that fails leaves no database behind on the shared server
  await dropOnFailure(drop, () => migrate(database));
  return { database, name, drop };
}

/** `fn`, and if it fails, `drop` (what was created for it) before the failure goes on. */
export async function dropOnFailure<T>(drop: () => Promise<void>, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    await drop().catch(() => undefined);
    throw e;
  }
}
