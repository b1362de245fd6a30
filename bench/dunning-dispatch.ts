/**
 * Dispatch benchmark: 100,000 overdue SMS notices from the outbox through the dispatcher to the
 * local SMSC simulator over SMPP 3.4, with every submit response and delivery receipt recorded
 * (target: at least 2,000 SMS/s).
 *
 *   LOG_LEVEL=warn npx tsx bench/dunning-dispatch.ts [--notices 100000] [--workers 4] [--batch 5000] [--reuse] [--same-thread]
 *
 * A claim's payment check (the open bills of the claimed customers) costs about the same for 500
 * customers as for 5,000, so bulk dispatch claims 5,000 notices at a time.
 *
 * The channel simulators run in a worker thread (the SMSC is the operator's system, not the dispatcher's);
 * --same-thread runs it on the dispatcher's thread.
 */
import { sql } from 'kysely';
import { createSmppChannel, simulatorCounters, startChannelSimulators, startChannelSimulatorsWorker, startDispatcher } from '../src/dunning/index.ts';
import { arg } from './support.ts';
import { dunningBenchContext, secs } from './dunning-fixture.ts';

const notices = arg('notices', 100_000);
const workers = arg('workers', 4);
const batch = arg('batch', 5000);
const AS_OF = '2026-03-01';

async function main() {
  // about 80% of seeded customers have SMS agreed and an unpaid bill
  const ctx = await dunningBenchContext('zt_bench_dunning_dispatch', Math.ceil(notices * 1.3), AS_OF);
  ctx.clock.set(`${AS_OF}T10:00:00+08:00`);
  const at = ctx.clock.now();
  const made = await sql`
    INSERT INTO dunning_notice (customer_id, bill_id, step, segment, channel_mode, channels, status, bill_no, period,
                                due_date, amount, late_fee, created_on, created_at, next_attempt_at)
    SELECT c.id, b.id, 'overdue_1', c.kind, 'preferred', '{sms}', 'pending', b.bill_no, b.period, b.due_date, b.amount, 1.00,
           ${AS_OF}::date, ${at}::timestamptz, ${at}::timestamptz
    FROM customer c JOIN bill b ON b.customer_id = c.id
    JOIN channel_agreement a ON a.customer_id = c.id AND a.channel = 'sms' AND a.withdrawn_at IS NULL
    WHERE c.id % 10 <> 0
    ORDER BY c.id LIMIT ${notices}`.execute(ctx.db);
  const total = Number(made.numAffectedRows);
  await sql`ANALYZE dunning_notice`.execute(ctx.db);
  console.log(`outbox: ${total} pending SMS notices`);

  const smscOptions = { receiptDelayMs: 1 };
  const options = { smsc: { password: 'bench123', ...smscOptions } };
  const here = process.argv.includes('--same-thread') ? await startChannelSimulators(options) : undefined;
  const sims = here ? { ...here, snapshot: async () => simulatorCounters(here) } : await startChannelSimulatorsWorker(options);
  const { smsc } = sims;
  const sms = createSmppChannel({ host: smsc.host, port: smsc.port, systemId: smsc.systemId, password: smsc.password, sourceAddr: '95598', now: () => ctx.clock.now() });
  await sms.waitUntilBound(5_000);
  const t0 = performance.now();
  const dispatcher = startDispatcher(ctx, { channels: [sms], workers, batchSize: batch, sendChunk: 500, pollMs: 10, reportFlushMs: 100 });
  const count = async () => (await sql<{ sent: number; delivered: number }>`
    SELECT count(*) FILTER (WHERE status IN ('sent', 'delivered'))::int AS sent, count(*) FILTER (WHERE status = 'delivered')::int AS delivered
    FROM dunning_attempt`.execute(ctx.db)).rows[0]!;
  let sentAt = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    const c = await count();
    if (!sentAt && c.sent >= total) sentAt = performance.now();
    if (c.delivered >= total || performance.now() - t0 > 30 * 60_000) break;
  }
  const doneAt = performance.now();
  await dispatcher.stop();
  const final = await count();
  const sendS = (sentAt - t0) / 1000;
  const allS = (doneAt - t0) / 1000;
  console.log(`handed to the SMSC and recorded: ${final.sent} in ${sendS.toFixed(2)} s = ${Math.round(final.sent / sendS)} SMS/s`);
  console.log(`with delivery receipts recorded: ${final.delivered} in ${allS.toFixed(2)} s = ${Math.round(final.delivered / allS)} SMS/s`);
  const seen = await sims.snapshot();
  console.log(`SMSC (${process.argv.includes('--same-thread') ? 'same thread' : 'worker thread'}): ${seen.smsc.submits} submits, ` +
    `${seen.smsc.receiptsSent} receipts (one per part), duplicate keys ${seen.duplicateSmsKeys.length} (must be 0)`);
  const states = await sql<{ status: string; n: number }>`SELECT status, count(*)::int AS n FROM dunning_notice GROUP BY status ORDER BY status`.execute(ctx.db);
  console.log(`notices: ${states.rows.map((r) => `${r.status} ${r.n}`).join(', ')}; dispatcher ${JSON.stringify(dispatcher.stats)}; total ${secs(t0)} s`);
  await sms.close();
  await sims.close();
  await ctx.database.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
