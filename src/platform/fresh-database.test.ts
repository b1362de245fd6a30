import { describe, expect, it } from 'vitest';
import { dropOnFailure } from './fresh-database.ts';

describe('preparing a database for a run', () => {
  it('drops what it created when the preparation fails, and passes the failure on', async () => {
    const dropped: string[] = [];
    const drop = async () => { dropped.push('db'); };
    await expect(dropOnFailure(drop, async () => { throw new Error('migration 0306 failed'); })).rejects.toThrow('migration 0306 failed');
    expect(dropped).toEqual(['db']);
  });

  it('keeps the database when the preparation succeeds, and a failing drop does not hide the first failure', async () => {
    const dropped: string[] = [];
    expect(await dropOnFailure(async () => { dropped.push('db'); }, async () => 42)).toBe(42);
    expect(dropped).toEqual([]);
    await expect(dropOnFailure(async () => { throw new Error('server gone'); }, async () => { throw new Error('seed failed'); })).rejects.toThrow('seed failed');
  });
});
