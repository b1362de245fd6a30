import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { plainUnlessStored, type Database } from '../../src/platform/index.ts';
import { freshDatabase } from '../support/db.ts';

describe('a bulk write of keys that are normally new (plainUnlessStored)', () => {
  let database: Database;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ database, drop } = await freshDatabase());
    await sql`CREATE TABLE plain_probe (key text PRIMARY KEY, note text NOT NULL)`.execute(database.db);
    await sql`INSERT INTO plain_probe VALUES ('b', 'stored')`.execute(database.db);
  });
  afterAll(() => drop());

  const write = (skipStored: boolean) => sql`
    INSERT INTO plain_probe SELECT k, 'new' FROM unnest(ARRAY['a', 'b', 'c']) k
    ${skipStored ? sql`ON CONFLICT (key) DO NOTHING` : sql``}`;
  const rows = async () => (await sql<{ key: string; note: string }>`SELECT key, note FROM plain_probe ORDER BY key`.execute(database.db)).rows;

  it('writes new keys plainly', async () => {
    await database.db.transaction().execute((trx) => plainUnlessStored(trx,
      () => sql`INSERT INTO plain_probe VALUES ('p', 'plain')`.execute(trx),
      () => { throw new Error('the careful write ran for new keys'); }));
    expect(await rows()).toContainEqual({ key: 'p', note: 'plain' });
  });

  it('meeting a stored key, undoes the plain write and does the careful one, in the same transaction', async () => {
    const used: string[] = [];
    await database.db.transaction().execute(async (trx) => {
      await sql`INSERT INTO plain_probe VALUES ('before', 'kept')`.execute(trx);
      await plainUnlessStored(trx,
        async () => { used.push('plain'); return write(false).execute(trx); },
        async () => { used.push('careful'); return write(true).execute(trx); });
      await sql`INSERT INTO plain_probe VALUES ('after', 'kept')`.execute(trx);
    });
    expect(used).toEqual(['plain', 'careful']);
    expect(await rows()).toEqual([
      { key: 'a', note: 'new' }, { key: 'after', note: 'kept' }, { key: 'b', note: 'stored' },
      { key: 'before', note: 'kept' }, { key: 'c', note: 'new' }, { key: 'p', note: 'plain' },
    ]);
  });

  it('leaves any other failure to the caller, without the careful write', async () => {
    let careful = false;
    await expect(database.db.transaction().execute((trx) => plainUnlessStored(trx,
      async () => { await sql`INSERT INTO plain_probe VALUES ('z', NULL)`.execute(trx); },
      async () => { careful = true; return undefined; }))).rejects.toMatchObject({ code: '23502' });
    expect(careful).toBe(false);
    expect((await rows()).map((r) => r.key)).not.toContain('z');
  });
});
