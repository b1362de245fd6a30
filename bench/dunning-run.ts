/**
 * Dunning run benchmark: the daily decision over every account on the PostgreSQL server
 * (target: 1,000,000 accounts in under 10 s): the first run (every account's notice at once: the
 * backlog of a province that starts dunning), the same-day rerun (must add nothing), the next day
 * (an ordinary day), and a later day with the escalations of the first day's notices 3.
 *
 *   LOG_LEVEL=warn npx tsx bench/dunning-run.ts [--customers 1000000] [--reuse] [--history-months N]
 *
 * `--history-months N` then runs a later day again in a province that has been billed and dunned
 * for N more months: per customer and past month a bill long paid (its receivable and the
 * allocation of its payment) and two delivered notices (a bill notice and a reminder), and this
 * month's notices delivered by the dispatcher.
 *
 * `--reuse` keeps the seeded province as a template database and clones it on later runs.
 */
import { sql } from 'kysely';
import { runDunning } from '../src/flows/dunning-run.ts';
import { arg } from './support.ts';
import { dunningBenchContext, secs } from './dunning-fixture.ts';

const customers = arg('customers', 1_000_000);
const historyMonths = arg('history-months', 0);
const AS_OF = '2026-03-01';

async function main() {
  const ctx = await dunningBenchContext('zt_bench_dunning', customers, AS_OF);
  try {
    const first = await runDunning(ctx, AS_OF);
    const written = first.notices.reduce((s, n) => s + n.n, 0);
    console.log(`dunning run ${AS_OF} over ${customers} accounts: ${(first.ms / 1000).toFixed(2)} s, ${written} notices`);
    for (const n of first.notices) console.log(`  ${n.step.padEnd(18)} ${n.status.padEnd(11)} ${n.n}`);
    console.log(`  ms per part: ${JSON.stringify(first.stepMs)}`);

    const again = await runDunning(ctx, AS_OF);
    console.log(`rerun same day: ${(again.ms / 1000).toFixed(2)} s, ${again.notices.reduce((s, n) => s + n.n, 0)} notices added (must be 0); ms per part: ${JSON.stringify(again.stepMs)}`);

    // integrity: one chase notice per unpaid account past the reminder day, none for paid ones
    const check = await sql<{ paid_noticed: number; dup: number; unpaid_due: number; chase: number }>`
      SELECT (SELECT count(*) FROM dunning_notice n WHERE n.customer_id % 10 = 0 AND n.step <> 'bill_notice')::int AS paid_noticed,
             (SELECT count(*) FROM (SELECT customer_id, bill_id, step FROM dunning_notice GROUP BY 1, 2, 3 HAVING count(*) > 1) d)::int AS dup,
             (SELECT count(*) FROM bill b WHERE b.customer_id % 10 <> 0 AND (${AS_OF}::date - b.due_date) >= -3)::int AS unpaid_due,
             (SELECT count(*) FROM dunning_notice WHERE step <> 'bill_notice')::int AS chase`.execute(ctx.db);
    const c = check.rows[0]!;
    console.log(`integrity: chase notices ${c.chase} = unpaid accounts at or past the reminder day ${c.unpaid_due}: ${c.chase === c.unpaid_due ? 'ok' : 'MISMATCH'}; ` +
      `paid accounts chased ${c.paid_noticed} (must be 0); duplicate keys ${c.dup} (must be 0)`);

    // the next day, the run as it is every day once the backlog of the first run is written: the cases
    // that entered a step's window overnight get their notice, the others nothing new
    const next = '2026-03-02';
    ctx.clock.set(`${next}T00:30:00+08:00`);
    const day2 = await runDunning(ctx, next);
    console.log(`dunning run ${next} (the next day): ${(day2.ms / 1000).toFixed(2)} s, ${day2.notices.reduce((s, n) => s + n.n, 0)} notices, ` +
      `${day2.manualCollection} manual collection tasks; ms per part: ${JSON.stringify(day2.stepMs)}`);

    // four days later: overdue notice 3 grace has run out for some accounts → manual collection tasks
    const later = '2026-03-05';
    ctx.clock.set(`${later}T00:30:00+08:00`);
    const day5 = await runDunning(ctx, later);
    console.log(`dunning run ${later}: ${(day5.ms / 1000).toFixed(2)} s, ${day5.notices.reduce((s, n) => s + n.n, 0)} notices, ` +
      `${day5.manualCollection} manual collection tasks, cancelled ${day5.cancelled}; ms per part: ${JSON.stringify(day5.stepMs)}`);

    if (historyMonths > 0) {
      const t = performance.now();
      await sql`UPDATE dunning_notice SET status = 'delivered', dispatched_on = created_on, finished_at = created_at WHERE status = 'pending'`.execute(ctx.db);
      await sql`
        INSERT INTO dunning_notice (customer_id, bill_id, step, segment, channel_mode, channels, status, bill_no, period, due_date, amount,
                                    late_fee, created_on, created_at, next_attempt_at, dispatched_on, finished_at)
        SELECT c.id, -(m * 100000000 + c.id), s.step, c.kind, 'all', '{sms}', 'delivered', 'PAST-' || c.number, '2025-01',
               DATE '2025-01-15' + m * 30, 100, 0, DATE '2025-01-01' + m * 30, now(), now(), DATE '2025-01-01' + m * 30, now()
        FROM customer c CROSS JOIN generate_series(1, ${historyMonths}) m CROSS JOIN (VALUES ('bill_notice'), ('reminder')) s(step)`.execute(ctx.db);
      // the ledger of those months: the bills, paid two days before their due date
      await sql`
        INSERT INTO receivable (customer_id, bill_id, kind, ref_no, period, amount, issued_on, due_date, posted_at)
        SELECT c.id, -(m * 100000000 + c.id), 'bill', 'PAST-' || m || '-' || c.number, '2025-01', 50 + c.id % 300,
               DATE '2025-01-01' + m * 30, DATE '2025-01-15' + m * 30, now()
        FROM customer c CROSS JOIN generate_series(1, ${historyMonths}) m`.execute(ctx.db);
      for (let m = 1; m <= historyMonths; m++) {
        // a month of payments at a time, as the postings would come (each statement keeps its receivables' totals)
        await sql`
          INSERT INTO allocation (customer_id, receivable_id, source_kind, source_id, principal, late_fee, applied_on, applied_at)
          SELECT r.customer_id, r.id, 'payment', 0, r.amount, 0, r.due_date - 2, now()
          FROM receivable r WHERE r.bill_id BETWEEN ${-(m * 100000000 + 99999999)} AND ${-(m * 100000000)}`.execute(ctx.db);
      }
      await sql`VACUUM ANALYZE dunning_notice, receivable, allocation`.execute(ctx.db);
      await sql`CHECKPOINT`.execute(ctx.db);
      const stored = (await sql<{ notices: number; receivables: number }>`
        SELECT (SELECT count(*) FROM dunning_notice)::int AS notices, (SELECT count(*) FROM receivable)::int AS receivables`.execute(ctx.db)).rows[0]!;
      console.log(`history: ${historyMonths} past months of paid bills and delivered notices, ${stored.notices} notices and ` +
        `${stored.receivables} receivables stored (${secs(t)} s to write)`);
      const day = '2026-03-06';
      ctx.clock.set(`${day}T00:30:00+08:00`);
      const h = await runDunning(ctx, day);
      console.log(`dunning run ${day} with that history: ${(h.ms / 1000).toFixed(2)} s, ${h.notices.reduce((a, n) => a + n.n, 0)} notices, ` +
        `${h.manualCollection} manual collection tasks; ms per part: ${JSON.stringify(h.stepMs)}`);
    }
  } finally {
    await ctx.database.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
