import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, type RawBuilder } from 'kysely';
import type { Database } from '../../src/platform/index.ts';
import { failingContactsQuery, manualCollectionsDue } from '../../src/dunning/index.ts';
import { freshDatabase, queryPlan } from '../support/db.ts';

/**
 * The outbox keeps every notice ever decided; the daily run must not read that history whole. The
 * plans are taken over an outbox with a history, analysed, and with sequential scans ruled out: a
 * statement that can only read the outbox whole still plans a sequential scan (at a prohibitive
 * cost); one that can use its index plans the index.
 */
const seqScanOf = (table: string) => new RegExp(`"Node Type":"Seq Scan"[^}]*"Relation Name":"${table}"`);

describe('the daily run reads the notices it can act on, not the outbox history', () => {
  let database: Database;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ database, drop } = await freshDatabase());
    // an outbox with history: 20,000 notices, most of them long delivered bill notices and reminders
    await sql`
      INSERT INTO dunning_notice (customer_id, bill_id, step, segment, channel_mode, channels, status, bill_no, amount,
                                  created_on, created_at, next_attempt_at)
      SELECT g, g, s.step, 'residential', 'all', '{sms}', CASE WHEN g % 50 = 0 THEN 'no_channel' ELSE 'delivered' END, 'B' || g, 100,
             DATE '2025-01-01' + g % 400, now(), now()
      FROM generate_series(1, 20000) g
      CROSS JOIN LATERAL (SELECT CASE WHEN g % 100 = 2 THEN 'overdue_3' WHEN g % 2 = 0 THEN 'bill_notice' ELSE 'reminder' END AS step) s`.execute(database.db);
    await sql`ANALYZE dunning_notice`.execute(database.db);
  });
  afterAll(() => drop());

  const plan = (query: RawBuilder<unknown>) => database.db.transaction().execute(async (trx) => {
    await sql`SET LOCAL enable_seqscan = off`.execute(trx);
    return JSON.stringify(await queryPlan(trx, query));
  });

  it('finds the manual collections due through the index of the notices they can follow from', async () => {
    const text = await plan(manualCollectionsDue('2026-03-01', { lo: 1, hi: 500_000 }));
    expect(text).toContain('dunning_notice_escalation_idx');
    expect(text).not.toMatch(seqScanOf('dunning_notice'));
  });

  it('reads the delivery attempts of the last 90 days through the time index, not every attempt ever made', async () => {
    const text = await plan(failingContactsQuery('2026-03-01'));
    expect(text).toContain('dunning_attempt_queued_brin');
    expect(text).not.toMatch(seqScanOf('dunning_attempt'));
  });
});
