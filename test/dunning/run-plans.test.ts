import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, type RawBuilder } from 'kysely';
import type { Database } from '../../src/platform/index.ts';
import { manualCollectionsDue, suspensionsDueQuery } from '../../src/dunning/index.ts';
import { freshDatabase } from '../support/db.ts';

/**
 * The outbox keeps every notice ever decided; the daily run must not read that history whole. With
 * sequential scans ruled out, a statement that can only read the outbox whole still plans one (at a
 * prohibitive cost); one that can use an index plans the index.
 */
const noticeSeqScan = /"Node Type":"Seq Scan"[^}]*"Relation Name":"dunning_notice"/;

describe('the daily run reads the notices it can act on, not the outbox history', () => {
  let database: Database;
  let drop: () => Promise<void>;
  beforeAll(async () => ({ database, drop } = await freshDatabase()));
  afterAll(() => drop());

  const plan = (query: RawBuilder<unknown>) => database.db.transaction().execute(async (trx) => {
    await sql`SET LOCAL enable_seqscan = off`.execute(trx);
    const r = await sql<{ 'QUERY PLAN': unknown }>`EXPLAIN (FORMAT JSON) ${query}`.execute(trx);
    return JSON.stringify(r.rows[0]!['QUERY PLAN']);
  });

  it('finds the manual collections due through the index of the notices they can follow from', async () => {
    const text = await plan(manualCollectionsDue('2026-03-01', { lo: 1, hi: 500_000 }));
    expect(text).toContain('dunning_notice_escalation_idx');
    expect(text).not.toMatch(noticeSeqScan);
  });

  it('finds the suspensions due through the index of the suspension notices given', async () => {
    const text = await plan(suspensionsDueQuery('2026-03-01'));
    expect(text).toContain('dunning_notice_suspension_idx');
    expect(text).not.toMatch(noticeSeqScan);
  });
});
