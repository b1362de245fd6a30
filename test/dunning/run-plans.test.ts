import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, type RawBuilder } from 'kysely';
import { failingContactsQuery, manualCollectionsDue, suspensionsDueQuery } from '../../src/dunning/index.ts';
import { queryPlan, testContext, type TestContext } from '../support/db.ts';

/**
 * The outbox keeps every notice ever decided; the daily run must not read that history whole. The
 * plans are taken over an outbox with a history, analysed, and with sequential scans ruled out: a
 * statement that can only read the outbox whole still plans a sequential scan (at a prohibitive
 * cost); one that can use its index plans the index.
 */
const seqScanOf = (table: string) => new RegExp(`"Node Type":"Seq Scan"[^}]*"Relation Name":"${table}"`);

describe('the daily run reads the notices it can act on, not the outbox history', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    // a seeded province: the steps join the customers' service points and meters
    ctx = await testContext({ customers: 300 });
    // an outbox with history: 200,000 notices, most of them long delivered bill notices and reminders
    await sql`
      INSERT INTO dunning_notice (customer_id, bill_id, step, segment, channel_mode, channels, status, bill_no, amount,
                                  created_on, created_at, next_attempt_at, suspend_on)
      SELECT g, g, s.step, 'residential', 'all', '{sms}', CASE WHEN g % 50 = 0 THEN 'no_channel' ELSE 'delivered' END, 'B' || g, 100,
             DATE '2025-01-01' + g % 400, now(), now(), CASE WHEN s.step = 'suspension_notice' THEN DATE '2025-01-08' + g % 400 END
      FROM generate_series(1, 200000) g
      CROSS JOIN LATERAL (SELECT CASE WHEN g % 100 = 2 THEN 'overdue_3' WHEN g % 100 = 4 THEN 'suspension_notice'
                                      WHEN g % 2 = 0 THEN 'bill_notice' ELSE 'reminder' END AS step) s`.execute(ctx.db);
    // the day's open debt, as the run leaves it for its steps: every fifth customer's bill
    await sql`
      INSERT INTO dunning_open_debt (customer_id, bill_id, bill_no, period, due_date, outstanding, late_fee, is_case, case_due)
      SELECT g, g, 'B' || g, '2026-01', DATE '2026-01-15', 100, 1, true, DATE '2026-01-15' FROM generate_series(1, 20000, 5) g`.execute(ctx.db);
    await sql`ANALYZE`.execute(ctx.db);
  });
  afterAll(() => ctx?.drop());

  const plan = (query: RawBuilder<unknown>) => ctx.db.transaction().execute(async (trx) => {
    await sql`SET LOCAL enable_seqscan = off`.execute(trx);
    return JSON.stringify(await queryPlan(trx, query));
  });

  it('finds the manual collections due through the index of the notices they can follow from', async () => {
    const text = await plan(manualCollectionsDue('2026-03-01', { lo: 1, hi: 500_000 }));
    expect(text).toContain('dunning_notice_escalation_idx');
    expect(text).not.toMatch(seqScanOf('dunning_notice'));
  });

  it('finds the suspensions due through the index of the suspension notices given', async () => {
    // planned as the run plans it, sequential scans allowed: the day's open debt has no index (it is
    // read whole by design), and with sequential scans ruled out its prohibitive cost is in every plan
    // alike, so the planner can no longer tell a scan of the outbox from a probe of the index
    const text = JSON.stringify(await queryPlan(ctx.db, suspensionsDueQuery('2026-03-01')));
    expect(text).toContain('dunning_notice_suspension_given_idx');
    expect(text).not.toMatch(seqScanOf('dunning_notice'));
  });

  it('reads the delivery attempts of the last days through the time index, not every attempt ever made', async () => {
    const text = await plan(failingContactsQuery('2026-03-01'));
    expect(text).toContain('dunning_attempt_queued_brin');
    expect(text).not.toMatch(seqScanOf('dunning_attempt'));
  });
});
