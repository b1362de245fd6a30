import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { continueBillingRun, findRun, openBillingRun, runBilling } from '../../src/billing/index.ts';
import { stageSlice, stageSlices } from '../../src/billing/store/run.repository.ts';
import { readWholeCycle } from './builders.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await testContext({ customers: 600, now: '2026-04-02T09:00:00+08:00' });
});
afterAll(async () => ctx?.drop());

const counts = async (period: string) => (await sql<{ bills: number; customers: number; lines: number; released: number }>`
  SELECT count(*)::int AS bills, count(DISTINCT customer_id)::int AS customers,
    (SELECT count(*)::int FROM bill_line l JOIN bill b2 ON b2.id = l.bill_id WHERE b2.period = ${period}) AS lines,
    (count(*) FILTER (WHERE status = 'released'))::int AS released
  FROM bill WHERE period = ${period} AND kind = 'bill'`.execute(ctx.db)).rows[0]!;

describe('billing run', () => {
  it('bills every customer of the cycle once, releases the unheld ones, and a rerun changes nothing', async () => {
    const customers = await readWholeCycle(ctx, 'C01', '2026-01-01', '2026-02-01', (id) => 150 + (id % 7) * 10);
    const run = await runBilling(ctx, { cycle: 'C01', period: '2026-02', chunkSize: 128 });
    expect(run.status).toBe('completed');
    expect(run.customers_total).toBe(customers.length);
    const first = await counts('2026-02');
    expect(first.bills).toBe(customers.length);
    expect(first.customers).toBe(customers.length);
    expect(first.lines).toBeGreaterThanOrEqual(customers.length);
    expect(first.released).toBe(customers.length - run.bills_held);
    expect(run.bills_released).toBe(first.released);

    const again = await runBilling(ctx, { cycle: 'C01', period: '2026-02', chunkSize: 128 });
    expect(again.id).toBe(run.id);
    expect(await counts('2026-02')).toEqual(first);
  });

  it('a run killed between chunks and restarted ends with exactly one bill per customer', async () => {
    const customers = await readWholeCycle(ctx, 'C11', '2026-02-11', '2026-03-11', () => 120);
    const crash = new Error('simulated crash');
    await expect(runBilling(ctx, {
      cycle: 'C11', period: '2026-03', chunkSize: 64,
      // two workers on the server may both read the count after both their chunks: at or past 2, not exactly 2
      afterChunk: (n) => { if (n >= 2) throw crash; },
    })).rejects.toBe(crash);
    const half = await counts('2026-03');
    expect(half.bills).toBeGreaterThan(0);
    expect(half.bills).toBeLessThan(customers.length);
    // what a committed chunk wrote stays: its checked bills are already released
    expect(half.released).toBeGreaterThan(0);

    const resumed = await runBilling(ctx, { cycle: 'C11', period: '2026-03', chunkSize: 64 });
    expect(resumed.status).toBe('completed');
    const done = await counts('2026-03');
    expect(done.bills).toBe(customers.length);
    expect(done.customers).toBe(customers.length);
    // 120 kWh at tier 1 only: one line per bill, none lost or doubled by the restart
    expect(done.lines).toBe(customers.length);
  });

  it('a customer without a cycle reading is skipped with its reason, not billed', async () => {
    const run = await runBilling(ctx, { cycle: 'C21', period: '2026-03' });
    expect(run.customers_total).toBeGreaterThan(0);
    expect(run.customers_skipped).toBe(run.customers_total);
    const reasons = await sql<{ skip_reason: string }>`SELECT DISTINCT skip_reason FROM billing_run_input WHERE run_id = ${run.id}`.execute(ctx.db);
    expect(reasons.rows).toEqual([{ skip_reason: 'MISSING_READING' }]);
    expect(run.bills_created).toBe(0);
  });

  it('several workers and two concurrent starts rate a run once: every chunk exactly once, one bill per customer', async () => {
    const customers = await readWholeCycle(ctx, 'C11', '2025-12-11', '2026-01-11', (id) => 100 + (id % 5) * 20);
    const [a, b] = await Promise.all([
      runBilling(ctx, { cycle: 'C11', period: '2026-01', chunkSize: 50, concurrency: 3 }),
      runBilling(ctx, { cycle: 'C11', period: '2026-01', chunkSize: 50, concurrency: 2 }),
    ]);
    expect(b.id).toBe(a.id);
    // the start whose workers finish the last chunk closes the run
    const run = (await findRun(ctx.db, a.id))!;
    expect(run.status).toBe('completed');
    expect(run.chunks_total).toBeGreaterThan(3);
    expect(run.chunks_done).toBe(run.chunks_total);
    const done = await counts('2026-01');
    expect(done.bills).toBe(customers.length);
    expect(done.customers).toBe(customers.length);
    expect(run.bills_created).toBe(customers.length);
    const chunks = (await sql<{ n: number; done: number; bills: number }>`
      SELECT count(*)::int AS n, count(done_at)::int AS done, sum(bills_created)::int AS bills
      FROM billing_run_chunk WHERE run_id = ${run.id}`.execute(ctx.db)).rows[0]!;
    expect(chunks).toEqual({ n: run.chunks_total, done: run.chunks_total, bills: customers.length });
  });

  it('a customer already billed for the period (by hand or another cycle) keeps that bill; the others are billed once', async () => {
    const customers = await readWholeCycle(ctx, 'C21', '2026-01-21', '2026-02-21', () => 130);
    const [first] = customers as [number];
    await sql`
      INSERT INTO bill (bill_no, kind, customer_id, cycle_code, period, org_path, tariff_code, period_start, period_end, consumption_kwh, amount, status, created_at)
      SELECT 'MANUAL-1', 'bill', c.id, 'C21', '2026-02', c.org_path, c.tariff_code, '2026-01-21', '2026-02-21', 1, 1.23, 'held', now()
      FROM customer c WHERE c.id = ${first}`.execute(ctx.db);
    const run = await runBilling(ctx, { cycle: 'C21', period: '2026-02', chunkSize: 64 });
    expect(run.status).toBe('completed');
    expect(run.bills_created).toBe(customers.length - 1);
    const bills = (await sql<{ customer_id: number; bill_no: string; amount: string; lines: number }>`
      SELECT b.customer_id, b.bill_no, b.amount, (SELECT count(*)::int FROM bill_line l WHERE l.bill_id = b.id) AS lines
      FROM bill b JOIN customer c ON c.id = b.customer_id
      WHERE b.period = '2026-02' AND b.kind = 'bill' AND c.billing_cycle = 'C21' ORDER BY b.customer_id`.execute(ctx.db)).rows;
    expect(bills).toHaveLength(customers.length);
    expect(bills[0]).toMatchObject({ bill_no: 'MANUAL-1', amount: '1.23', lines: 0 });
    expect(bills.slice(1).every((b) => b.lines >= 1 && b.bill_no.startsWith('B202602-'))).toBe(true);
  });

  it('a run resumed while staging, after customers joined the cycle, stages and bills each customer once', async () => {
    // joiners come from C21, whose customers have no bill of 2026-03 (that run skipped them all); the
    // highest id of C01 and C21 joins only after the run first staged, so it lies above every bound
    const last = (await sql<{ id: number }>`SELECT max(id)::int AS id FROM customer WHERE billing_cycle IN ('C01', 'C21')`.execute(ctx.db)).rows[0]!.id;
    const lastCycle = (await sql<{ c: string }>`SELECT billing_cycle AS c FROM customer WHERE id = ${last}`.execute(ctx.db)).rows[0]!.c;
    await sql`UPDATE customer SET billing_cycle = 'C21' WHERE id = ${last}`.execute(ctx.db);
    await readWholeCycle(ctx, 'C01', '2026-02-01', '2026-03-01', () => 140);
    const run = await openBillingRun(ctx, { cycle: 'C01', period: '2026-03' });
    const slices = await stageSlices(ctx.db, run, 2);
    expect(slices).toHaveLength(2);
    await ctx.db.transaction().execute((trx) => stageSlice(trx, run, slices[0]!));
    // the process stops after the first slice; meanwhile a customer inside that slice's ids joins too
    const inside = (await sql<{ id: number }>`
      SELECT min(id)::int AS id FROM customer
      WHERE billing_cycle = 'C21' AND id < (SELECT max(customer_id) FROM billing_run_input WHERE run_id = ${run.id})`.execute(ctx.db)).rows[0]!.id;
    await sql`UPDATE customer SET billing_cycle = 'C01' WHERE id IN (${inside}, ${last})`.execute(ctx.db);
    const customers = await readWholeCycle(ctx, 'C01', '2026-02-01', '2026-03-01', () => 140);
    expect(customers).toEqual(expect.arrayContaining([inside, last]));

    const done = await continueBillingRun(ctx, run, { concurrency: 2 });
    expect(done.status).toBe('completed');
    // the slices are the ones the first start fixed, so every start of the run agrees on them
    expect(await stageSlices(ctx.db, run, 2)).toEqual(slices);
    const staged = (await sql<{ n: number; customers: number }>`
      SELECT count(*)::int AS n, count(DISTINCT customer_id)::int AS customers FROM billing_run_input WHERE run_id = ${run.id}`.execute(ctx.db)).rows[0]!;
    expect(staged).toEqual({ n: customers.length, customers: customers.length });
    const bills = (await sql<{ n: number; customers: number; joiners: number }>`
      SELECT count(*)::int AS n, count(DISTINCT customer_id)::int AS customers,
        (count(*) FILTER (WHERE customer_id IN (${inside}, ${last})))::int AS joiners
      FROM bill WHERE cycle_code = 'C01' AND period = '2026-03' AND kind = 'bill'`.execute(ctx.db)).rows[0]!;
    expect(bills).toEqual({ n: customers.length, customers: customers.length, joiners: 2 });
    expect(done.bills_created).toBe(customers.length);
    await sql`UPDATE customer SET billing_cycle = ${lastCycle} WHERE id = ${last}`.execute(ctx.db);
  });

  it('a run whose staged inputs a server crash emptied stages them again and bills every customer once', async () => {
    // the staging table is unlogged: crash recovery empties it, while the run is already rating
    const persistence = (await sql<{ p: string }>`SELECT relpersistence AS p FROM pg_class WHERE relname = 'billing_run_input'`.execute(ctx.db)).rows[0]!.p;
    expect(persistence).toBe('u');
    const customers = await readWholeCycle(ctx, 'C01', '2025-12-01', '2026-01-01', () => 110);
    const crash = new Error('simulated crash');
    await expect(runBilling(ctx, {
      cycle: 'C01', period: '2026-01', chunkSize: 64,
      // two workers on the server may both read the count after both their chunks: at or past 2, not exactly 2
      afterChunk: (n) => { if (n >= 2) throw crash; },
    })).rejects.toBe(crash);
    const run = (await sql<{ id: number }>`SELECT id FROM billing_run WHERE cycle_code = 'C01' AND period = '2026-01'`.execute(ctx.db)).rows[0]!;
    await sql`DELETE FROM billing_run_input WHERE run_id = ${run.id}`.execute(ctx.db);

    const resumed = await runBilling(ctx, { cycle: 'C01', period: '2026-01', chunkSize: 64 });
    expect(resumed.status).toBe('completed');
    expect(resumed.bills_created).toBe(customers.length);
    const bills = (await sql<{ n: number; customers: number; priced: number }>`
      SELECT count(*)::int AS n, count(DISTINCT b.customer_id)::int AS customers,
        (count(*) FILTER (WHERE l.lines > 0 AND l.total = b.amount))::int AS priced
      FROM bill b
      LEFT JOIN (SELECT bill_id, count(*) AS lines, sum(amount) AS total FROM bill_line GROUP BY bill_id) l ON l.bill_id = b.id
      WHERE b.cycle_code = 'C01' AND b.period = '2026-01' AND b.kind = 'bill'`.execute(ctx.db)).rows[0]!;
    // every customer billed once, each bill with its lines adding up to its amount
    expect(bills).toEqual({ n: customers.length, customers: customers.length, priced: customers.length });
  });

  it('refuses a chunk size that is not a whole number from 1 before opening the run (it is fixed on the run)', async () => {
    for (const chunkSize of [0, -100, 2.5, Number.NaN]) {
      await expect(runBilling(ctx, { cycle: 'C11', period: '2026-02', chunkSize })).rejects.toMatchObject({ code: 'BILLING_CHUNK_SIZE_INVALID' });
    }
    const opened = await sql<{ n: number }>`SELECT count(*)::int AS n FROM billing_run WHERE cycle_code = 'C11' AND period = '2026-02'`.execute(ctx.db);
    expect(opened.rows[0]!.n).toBe(0);
  });

  it('refuses to bill a period before its reading day', async () => {
    await expect(runBilling(ctx, { cycle: 'C01', period: '2026-05' })).rejects.toMatchObject({ code: 'BILLING_PERIOD_NOT_ENDED' });
  });
});
