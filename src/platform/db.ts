import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { from as copyFromStream } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import fs from 'node:fs';
import {
  CompiledQuery,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  PostgresDialect,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
  sql,
} from 'kysely';

/** Kysely over either engine. Tables are untyped here; each context maps its rows explicitly. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Db = Kysely<any>;

export type Engine = 'pglite' | 'postgres';

/** A value COPY can carry: null becomes SQL NULL. */
export type CopyValue = string | number | bigint | boolean | null | undefined;

export interface Session {
  db: Db;
  /**
   * Bulk-load rows with COPY … FROM STDIN (CSV). Returns the number of rows loaded. A row may also be
   * one CSV line already encoded (with its newline), for callers that encode faster than toCsvLine.
   */
  copyFrom(table: string, columns: string[], rows: Iterable<CopyValue[] | string>): Promise<number>;
  /**
   * COPY … FROM STDIN in binary format, fed by chunks as they come (header and trailer included). Returns
   * the number of rows loaded. Optional: a caller without it takes another way.
   */
  copyBinary?(table: string, columns: string[], chunks: AsyncIterable<Uint8Array>): Promise<number>;
}

export interface Database extends Session {
  engine: Engine;
  /** Run a multi-statement SQL script atomically (all or nothing). */
  exec(script: string): Promise<void>;
  /** Pin one connection (temp tables, COPY then INSERT … SELECT on the same session). */
  session<T>(fn: (s: Session) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const INT8 = 20;
const DATE = 1082;
const NUMERIC = 1700;

// Same JS types on both engines: counts as numbers, money/energy as exact strings, dates as 'YYYY-MM-DD'.
const parsers = {
  [INT8]: (v: string) => Number(v),
  [DATE]: (v: string) => v,
  [NUMERIC]: (v: string) => v,
};

export interface OpenOptions {
  databaseUrl?: string;
  /** PGlite data folder; undefined = in memory. */
  dataDir?: string;
  poolSize?: number;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts.poolSize ?? 10) : openPglite(opts.dataDir);
}

/** CSV encoding for COPY: quote everything that needs it; null is an unquoted empty field. */
export function toCsvLine(row: CopyValue[]): string {
  let out = '';
  for (let i = 0; i < row.length; i++) {
    if (i) out += ',';
    const v = row[i];
    if (v === null || v === undefined) continue;
    const s = String(v);
    out += /[",\n\r]/.test(s) || s === '' ? `"${s.replace(/"/g, '""')}"` : s;
  }
  return out + '\n';
}

function copySql(table: string, columns: string[]): string {
  return `COPY ${table} (${columns.join(', ')}) FROM STDIN WITH (FORMAT csv)`;
}

// ---------- PostgreSQL server ----------

async function openPostgres(url: string, max: number): Promise<Database> {
  for (const [oid, fn] of Object.entries(parsers)) pg.types.setTypeParser(Number(oid), fn);
  // JIT compilation off for every session: our statements are key lookups or one-shot set-based passes, where
  // compiling costs more than it saves (measured: 0.3 s of a 0.4 s VEE statement on a 20,000-meter day; the
  // read-success rollup, the billing and dunning runs and the ingest found the same)
  const pool = new pg.Pool({ connectionString: url, max, options: '-c jit=off' });
  // A server-side end of an idle or closing connection (a restart, pg_terminate_backend, DROP DATABASE …
  // WITH (FORCE) racing a close) arrives as an 'error' event on that client; unheard it would crash the
  // process. The pool discards the client, and a query on a broken connection still rejects to its caller.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db: Db = new Kysely({ dialect: new PostgresDialect({ pool }) });

  const copyWith = async (client: pg.PoolClient, table: string, columns: string[], rows: Iterable<CopyValue[] | string>) => {
    let n = 0;
    const stream = client.query(copyFromStream(copySql(table, columns)));
    const source = Readable.from(
      (function* () {
        let buf = '';
        for (const r of rows) {
          buf += typeof r === 'string' ? r : toCsvLine(r);
          n++;
          if (buf.length > 1 << 20) {
            yield buf;
            buf = '';
          }
        }
        if (buf) yield buf;
      })(),
    );
    await pipeline(source, stream);
    return n;
  };
  const copyBinaryWith = async (client: pg.PoolClient, table: string, columns: string[], chunks: AsyncIterable<Uint8Array>) => {
    const stream = client.query(copyFromStream(`COPY ${table} (${columns.join(', ')}) FROM STDIN WITH (FORMAT binary)`));
    await pipeline(Readable.from(chunks), stream);
    return stream.rowCount;
  };

  return {
    engine: 'postgres',
    db,
    async copyFrom(table, columns, rows) {
      const client = await pool.connect();
      try {
        return await copyWith(client, table, columns, rows);
      } finally {
        client.release();
      }
    },
    async exec(script) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(script);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    },
    async session(fn) {
      const client = await pool.connect();
      const single = {
        connect: async () => ({ query: client.query.bind(client), release: () => undefined }),
        end: async () => undefined,
      };
      const sdb: Db = new Kysely({ dialect: new PostgresDialect({ pool: single as unknown as pg.Pool }) });
      try {
        return await fn({ db: sdb, copyFrom: (t, c, r) => copyWith(client, t, c, r), copyBinary: (t, c, r) => copyBinaryWith(client, t, c, r) });
      } finally {
        client.release();
      }
    },
    async close() {
      await db.destroy();
    },
  };
}

// ---------- PGlite (embedded) ----------

/**
 * PGlite is one connection: a promise-chain mutex serialises every unit of work on it. PGlite runs in
 * this thread and settles its promises without I/O, so a long chain of queries would never let the event
 * loop turn (no HTTP request, socket or Ctrl-C handled until it ends): each lock is granted on a
 * macrotask (setImmediate), which lets the loop run between units of work.
 */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const prev = this.tail;
    this.tail = prev.then(() => next);
    return prev.then(() => new Promise<() => void>((r) => setImmediate(() => r(release))));
  }
}

class PgliteConnection implements DatabaseConnection {
  constructor(private readonly pg: PGlite) {}
  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    // without parameters use the simple protocol, which (like node-postgres) allows several statements
    const res = q.parameters.length
      ? await this.pg.query<R>(q.sql, q.parameters as unknown[], { rowMode: 'object' })
      : ((await this.pg.exec(q.sql, { rowMode: 'object' })).at(-1) as Awaited<ReturnType<PGlite['query']>> & { rows: R[] });
    const kind = q.query?.kind;
    const mutates = kind === 'InsertQueryNode' || kind === 'UpdateQueryNode' || kind === 'DeleteQueryNode';
    return {
      rows: res.rows,
      numAffectedRows: res.affectedRows !== undefined && (mutates || !res.fields.length) ? BigInt(res.affectedRows) : undefined,
    };
  }
  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported on PGlite');
  }
}

class PgliteDriver implements Driver {
  constructor(
    private readonly pg: PGlite,
    private readonly mutex: Mutex | null,
  ) {}
  private releases = new WeakMap<DatabaseConnection, () => void>();
  async init() {}
  async acquireConnection() {
    const conn = new PgliteConnection(this.pg);
    if (this.mutex) this.releases.set(conn, await this.mutex.lock());
    return conn;
  }
  async beginTransaction(c: DatabaseConnection) {
    await c.executeQuery(CompiledQuery.raw('BEGIN'));
  }
  async commitTransaction(c: DatabaseConnection) {
    await c.executeQuery(CompiledQuery.raw('COMMIT'));
  }
  async rollbackTransaction(c: DatabaseConnection) {
    await c.executeQuery(CompiledQuery.raw('ROLLBACK'));
  }
  async releaseConnection(c: DatabaseConnection) {
    this.releases.get(c)?.();
    this.releases.delete(c);
  }
  async destroy() {}
}

function pgliteDialect(pg: PGlite, mutex: Mutex | null): Dialect {
  return {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new PgliteDriver(pg, mutex),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  };
}

async function openPglite(dataDir?: string): Promise<Database> {
  if (dataDir) fs.mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir, { parsers, relaxedDurability: true });
  const mutex = new Mutex();
  const db: Db = new Kysely({ dialect: pgliteDialect(pglite, mutex) });
  const unlockedDb: Db = new Kysely({ dialect: pgliteDialect(pglite, null) });

  const copyUnlocked = async (table: string, columns: string[], rows: Iterable<CopyValue[] | string>) => {
    const parts: string[] = [];
    let n = 0;
    let buf = '';
    for (const r of rows) {
      buf += typeof r === 'string' ? r : toCsvLine(r);
      n++;
      if (buf.length > 1 << 20) {
        parts.push(buf);
        buf = '';
      }
    }
    parts.push(buf);
    if (n === 0) return 0;
    await pglite.query(`COPY ${table} (${columns.join(', ')}) FROM '/dev/blob' WITH (FORMAT csv)`, [], {
      blob: new Blob(parts),
    });
    return n;
  };
  const copyBinaryUnlocked = async (table: string, columns: string[], chunks: AsyncIterable<Uint8Array>) => {
    const parts: Uint8Array[] = [];
    for await (const c of chunks) parts.push(c);
    const r = await pglite.query(`COPY ${table} (${columns.join(', ')}) FROM '/dev/blob' WITH (FORMAT binary)`, [], { blob: new Blob(parts) });
    return r.affectedRows ?? 0;
  };
  const locked = async <T>(fn: () => Promise<T>): Promise<T> => {
    const release = await mutex.lock();
    try {
      return await fn();
    } finally {
      release();
    }
  };

  return {
    engine: 'pglite',
    db,
    copyFrom: (t, c, r) => locked(() => copyUnlocked(t, c, r)),
    exec: (script) =>
      locked(async () => {
        await pglite.exec('BEGIN');
        try {
          await pglite.exec(script);
          await pglite.exec('COMMIT');
        } catch (e) {
          await pglite.exec('ROLLBACK');
          throw e;
        }
      }),
    session: (fn) => locked(() => fn({ db: unlockedDb, copyFrom: copyUnlocked, copyBinary: copyBinaryUnlocked })),
    async close() {
      await locked(() => pglite.close());
    },
  };
}

/**
 * A bulk write whose keys are normally new, inside the caller's transaction: `plain` writes them with
 * no conflict check per row (a unique index refuses a stored key); if one was stored after all
 * (23505), the write goes back to a savepoint and `careful` does it again leaving the stored keys
 * alone. Any other failure is the caller's.
 */
export async function plainUnlessStored<T>(db: Db, plain: () => Promise<T>, careful: () => Promise<T>): Promise<T> {
  await sql`SAVEPOINT plain_write`.execute(db);
  try {
    const done = await plain();
    await sql`RELEASE SAVEPOINT plain_write`.execute(db);
    return done;
  } catch (e) {
    if ((e as { code?: string }).code !== '23505') throw e;
    await sql`ROLLBACK TO SAVEPOINT plain_write`.execute(db);
    return careful();
  }
}

/**
 * For the rest of the caller's transaction, the planner joins by hash or merge only: linear whatever
 * the statistics say. A set-based statement over a province (or a slice of one) often reads a table
 * filled a moment before, in the same transaction or before anything analysed it; taking it for
 * nearly empty, the planner would join it by nested loop and rescan it once per row of the other
 * side: quadratic. `joinsAsWritten` also keeps the joins in the order the statement writes them
 * (for a statement whose join order is chosen with care).
 */
export async function setBasedJoins(trx: Db, opts: { joinsAsWritten?: boolean } = {}): Promise<void> {
  await sql`SET LOCAL enable_nestloop = off`.execute(trx);
  if (!opts.joinsAsWritten) return;
  await sql`SET LOCAL join_collapse_limit = 1`.execute(trx);
  await sql`SET LOCAL from_collapse_limit = 1`.execute(trx);
}
