import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { testContext, type TestContext } from '../support/db.ts';
import { signIn, testApp } from '../support/http.ts';
import { pay, releaseBills } from '../dunning/support.ts';
import { ensureReadingPartitions, upsertReadings } from '../../src/metering/index.ts';
import { postDebits } from '../../src/payments/index.ts';
import { openTasks } from '../../src/work/index.ts';
import { computeKpis } from '../../src/monitoring/index.ts';

// KPIs as DOMAIN.md defines them, on small fixtures whose figures are counted by hand. Month end: 31 March 2026.
const DAY = '2026-03-31';
let ctx: TestContext;
let app: FastifyInstance;
let inScope: number;
let customers: number;
let gridPath: string;

/** One KPI of the province on a day, through the HTTP API as the centers read it, as numbers. */
async function provinceKpi(kpi: string, day = DAY): Promise<{ value: number | null; numerator: number; denominator: number | null }> {
  const res = await app.inject({ url: `/api/v1/kpis?org=LN&from=${day}&to=${day}&kpi=${kpi}`, headers: await signIn(app, 'analyst') });
  expect(res.statusCode).toBe(200);
  const p = res.json().series[kpi][0] as { value: string | null; numerator: string; denominator: string | null };
  const num = (v: string | null) => (v === null ? null : Number(v));
  return { value: num(p.value), numerator: Number(p.numerator), denominator: num(p.denominator) };
}

const sp = async () => (await sql<{ id: number; meter_id: number; customer_id: number }>`
  SELECT id, meter_id, customer_id FROM service_point ORDER BY id`.execute(ctx.db)).rows.map((r) => ({ id: Number(r.id), meterId: Number(r.meter_id), customerId: Number(r.customer_id) }));

beforeAll(async () => {
  ctx = await testContext({ customers: 60, now: '2026-03-31T08:00:00+08:00' });
  const points = await sp();
  customers = points.length;
  gridPath = (await sql<{ org_path: string }>`SELECT org_path FROM customer ORDER BY id LIMIT 1`.execute(ctx.db)).rows[0]!.org_path;

  // read success: meter 4 installed the day after, meter 5 removed on the day (its registers are gone when
  // the day freezes at 00:00 after it) and meter 8 removed the day before (all out of scope); meter 6 removed
  // the day after and meter 7 installed on the day (both in scope)
  await sql`UPDATE service_point SET installed_on = ${'2026-04-01'}::date WHERE id = ${points[4]!.id}`.execute(ctx.db);
  await sql`UPDATE service_point SET removed_on = ${DAY}::date WHERE id = ${points[5]!.id}`.execute(ctx.db);
  await sql`UPDATE service_point SET removed_on = ${'2026-04-01'}::date WHERE id = ${points[6]!.id}`.execute(ctx.db);
  await sql`UPDATE service_point SET installed_on = ${DAY}::date WHERE id = ${points[7]!.id}`.execute(ctx.db);
  await sql`UPDATE service_point SET removed_on = ${'2026-03-30'}::date WHERE id = ${points[8]!.id}`.execute(ctx.db);
  inScope = customers - 3;
  await ensureReadingPartitions(ctx.db, DAY, DAY);
  // meter 0 edited (a substituted value), 1 estimated, 2 re-read on site, 3 not read; every other meter actual
  const quality = (i: number) => (i === 0 ? 'edited' : i === 1 ? 'estimated' : i === 2 ? 're_read' : 'actual') as 'actual';
  await upsertReadings(ctx.db, ctx.clock.now(), points.filter((_, i) => i !== 3).map((p) => {
    const i = points.indexOf(p);
    return { meterId: p.meterId, readingDate: DAY, totalKwh: '100.00', quality: quality(i), source: i === 1 ? 'estimate' : i === 0 || i === 2 ? 'manual' : 'frontend' };
  }));

  // channel coverage: every seeded contact is unverified; customer 0 has an agreed channel on a verified contact,
  // customer 1 withdrew its agreement on a verified contact, customer 2's agreed contact is verified but was
  // found invalid later (status invalid)
  const [c0, c1, c2] = points.map((p) => p.customerId);
  await sql`UPDATE contact SET status = 'verified' WHERE id IN (SELECT contact_id FROM channel_agreement WHERE customer_id IN (${c0}, ${c1}))`.execute(ctx.db);
  await sql`UPDATE contact SET status = 'invalid' WHERE id IN (SELECT contact_id FROM channel_agreement WHERE customer_id = ${c2})`.execute(ctx.db);
  await sql`UPDATE channel_agreement SET withdrawn_at = ${'2026-03-20T10:00:00+08:00'}::timestamptz WHERE customer_id = ${c1}`.execute(ctx.db);

  // open re-read tasks: one opened the day before and cancelled the day after (open on the day), one cancelled on the day
  await openTasks(ctx.db, new Date('2026-03-30T10:00:00+08:00'), [0, 1].map((i) => ({
    kind: 're_read', idempotencyKey: `kpi-def-reread-${i}`, title: 're-read', customerId: points[i]!.customerId, meterId: points[i]!.meterId, createdBy: 'test',
  })));
  await sql`UPDATE task SET status = 'cancelled', closed_at = ${'2026-04-01T09:00:00+08:00'}::timestamptz WHERE idempotency_key = 'kpi-def-reread-0'`.execute(ctx.db);
  await sql`UPDATE task SET status = 'cancelled', closed_at = ${'2026-03-31T15:00:00+08:00'}::timestamptz WHERE idempotency_key = 'kpi-def-reread-1'`.execute(ctx.db);

  // collection rate for March: customer 3 billed 100.00, credited 100.00 and rebilled 80.00 (net 80.00 billed);
  // pays 50.00 on 31 March, 10.00 on 31 March that the bank's file brings on 1 April, and 20.00 on 1 April (after month end)
  const c3 = points[3]!;
  const number = (await sql<{ number: string }>`SELECT number FROM customer WHERE id = ${c3.customerId}`.execute(ctx.db)).rows[0]!.number;
  const doc = (billId: number, kind: 'bill' | 'credit' | 'rebill', amount: string, issuedOn: string) => ({
    billId, customerId: c3.customerId, billNo: `KPI-${billId}`, period: '2026-02', kind, amount, issuedOn, dueDate: '2026-04-15', releasedAt: new Date(`${issuedOn}T10:00:00+08:00`),
  });
  ctx.clock.set('2026-03-05T10:00:00+08:00');
  await postDebits(ctx.db, ctx.clock, [doc(990001, 'bill', '100.00', '2026-03-05')]);
  ctx.clock.set('2026-03-10T10:00:00+08:00');
  await postDebits(ctx.db, ctx.clock, [doc(990002, 'credit', '-100.00', '2026-03-10'), doc(990003, 'rebill', '80.00', '2026-03-10')]);
  ctx.clock.set('2026-03-31T10:00:00+08:00');
  await pay(ctx, number, '50.00', DAY, 'kpi-def-pay-1');
  ctx.clock.set('2026-04-01T09:00:00+08:00');
  await pay(ctx, number, '10.00', DAY, 'kpi-def-pay-late');
  ctx.clock.set('2026-04-01T10:00:00+08:00');
  await pay(ctx, number, '20.00', '2026-04-01', 'kpi-def-pay-2');

  // late fees collected in March: two residential customers owe 100.00 due 20 February and settle it with
  // 39 days of fee (21 February to 31 March at 1‰ a day: 3.90), both paid on 31 March; the second
  // payment is posted on 1 April
  const late = (await sql<{ id: number; number: string }>`
    SELECT id, number FROM customer WHERE kind = 'residential' AND id NOT IN (SELECT customer_id FROM service_point ORDER BY id LIMIT 10)
    ORDER BY id LIMIT 2`.execute(ctx.db)).rows;
  ctx.clock.set('2026-02-05T10:00:00+08:00');
  await releaseBills(ctx, late.map((c) => ({ customerId: Number(c.id), period: '2026-02', amount: '100.00', issuedOn: '2026-02-05', dueDate: '2026-02-20', releasedAt: new Date('2026-02-05T10:00:00+08:00') })));
  ctx.clock.set('2026-03-31T11:00:00+08:00');
  await pay(ctx, late[0]!.number, '103.90', DAY, 'kpi-def-fee-1');
  ctx.clock.set('2026-04-01T09:30:00+08:00');
  await pay(ctx, late[1]!.number, '103.90', DAY, 'kpi-def-fee-2');

  // 95598 orders: an urban repair whose crew arrived 15 minutes late but restored in time (out of its limit);
  // a consultation answered in time; a repair received at 22:00 whose crew has not arrived by midnight
  await sql`
    INSERT INTO service_order (external_ref, kind, status, area_type, caller_name, caller_phone, address, description, org_path,
                               received_at, arrival_due_at, arrived_at, due_at, resolved_at, created_by)
    VALUES ('KPI-O1', 'fault_repair', 'resolved', 'urban', 'x', '13800000000', 'a', 'd', ${gridPath},
            '2026-03-31T08:00:00+08:00', '2026-03-31T08:45:00+08:00', '2026-03-31T09:00:00+08:00', '2026-03-31T11:00:00+08:00', '2026-03-31T10:00:00+08:00', 'test'),
           ('KPI-O2', 'consultation', 'resolved', NULL, 'x', '13800000000', 'a', 'd', ${gridPath},
            '2026-03-30T08:00:00+08:00', NULL, NULL, '2026-04-01T00:00:00+08:00', '2026-03-30T12:00:00+08:00', 'test'),
           ('KPI-O3', 'fault_repair', 'dispatched', 'urban', 'x', '13800000000', 'a', 'd', ${gridPath},
            '2026-03-31T22:00:00+08:00', '2026-03-31T22:45:00+08:00', NULL, '2026-04-01T01:00:00+08:00', NULL, 'test')`.execute(ctx.db);

  // new connections, end to end in working days:
  // A residential: survey 2 → 5 March (3 days, its step limit is 2), install 5 → 6 March (1): 4 ≤ 5, in limit;
  // B residential: survey running since Friday 20 March: 7 working days by 31 March > 5, late;
  // C low-voltage non-residential: survey running since Thursday 12 February, across the Spring Festival
  //   (16–20 and 23 February rest, Saturday 14 February worked)
  await sql`
    INSERT INTO connection_application (external_ref, type, status, applicant_name, address, category, tariff_code, billing_cycle, capacity_kva, org_path, received_at, completed_at, created_by)
    VALUES ('KPI-A', 'residential', 'completed', 'a', 'a', 'residential', 'RES', 'C01', 8, ${gridPath}, '2026-03-02T09:00:00+08:00', '2026-03-06T15:00:00+08:00', 'test'),
           ('KPI-B', 'residential', 'in_progress', 'b', 'b', 'residential', 'RES', 'C01', 8, ${gridPath}, '2026-03-20T09:00:00+08:00', NULL, 'test'),
           ('KPI-C', 'lv_non_residential', 'in_progress', 'c', 'c', 'general', 'GEN', 'C01', 50, ${gridPath}, '2026-02-12T09:00:00+08:00', NULL, 'test')`.execute(ctx.db);
  await sql`
    INSERT INTO connection_step (application_id, seq, step, status, limit_working_days, started_on, due_on, completed_on, working_days_used)
    SELECT a.id, v.seq, v.step, v.status, v.lim, v.started::date, v.due::date, v.completed::date, v.used
    FROM (VALUES ('KPI-A', 1, 'survey_plan', 'done', 2, '2026-03-02', '2026-03-04', '2026-03-05', 3),
                 ('KPI-A', 2, 'install_energise', 'done', 3, '2026-03-05', '2026-03-10', '2026-03-06', 1),
                 ('KPI-B', 1, 'survey_plan', 'in_progress', 2, '2026-03-20', '2026-03-24', NULL, NULL),
                 ('KPI-B', 2, 'install_energise', 'pending', 3, NULL, NULL, NULL, NULL),
                 ('KPI-C', 1, 'survey_plan', 'in_progress', 3, '2026-02-12', '2026-02-25', NULL, NULL),
                 ('KPI-C', 2, 'install_energise', 'pending', 3, NULL, NULL, NULL, NULL)) AS v(ref, seq, step, status, lim, started, due, completed, used)
    JOIN connection_application a ON a.external_ref = v.ref`.execute(ctx.db);

  await computeKpis(ctx, DAY);
  await computeKpis(ctx, '2026-02-24');
  app = await testApp(ctx);
});
afterAll(async () => {
  await app?.close();
  await ctx?.drop();
});

describe('KPIs as defined', () => {
  it('read success counts meters in service on the day; an edited or estimated reading is not a valid one', async () => {
    // valid: every in-scope meter but 0 (edited), 1 (estimated) and 3 (not read); 2 (re-read on site) counts
    expect(await provinceKpi('read_success')).toMatchObject({ numerator: inScope - 3, denominator: inScope });
    expect(await provinceKpi('meters_unread')).toMatchObject({ value: 3 });
  });

  it('channel coverage counts customers with an agreed channel on a verified contact, agreement in force', async () => {
    expect(await provinceKpi('channel_coverage')).toMatchObject({ numerator: 1, denominator: customers });
  });

  it('a re-read task open at the end of the day counts even if it was cancelled later', async () => {
    expect(await provinceKpi('reread_open')).toMatchObject({ value: 1 });
  });

  it('the month-end collection rate counts payments made by month end, net of credit notes, not a payment after month end', async () => {
    // billed 100.00 − 100.00 + 80.00 = 80.00; paid 60.00 by 31 March: 0.75 (the credit note is not money
    // collected; a payment counts on the day it was made, also when the bank's file brought it the next day)
    expect(await provinceKpi('collection_rate')).toMatchObject({ value: 0.75, numerator: 60, denominator: 80 });
    expect(await provinceKpi('collected_amount')).toMatchObject({ value: 60 });
  });

  it('late fees collected in the month count what the month\'s payments paid of them', async () => {
    expect(await provinceKpi('late_fee_collected')).toMatchObject({ value: 7.8 });
  });

  it('a repair whose crew arrived late is out of its time limit, and one not yet on site past the arrival limit is overdue', async () => {
    expect(await provinceKpi('orders_in_limit')).toMatchObject({ numerator: 1, denominator: 3 });
    expect(await provinceKpi('orders_overdue')).toMatchObject({ value: 1 });
  });

  it('a new connection is in its limit end to end in working days, whatever one step took', async () => {
    // A in limit (4 ≤ 5), B late (7 > 5), C late (far past 6)
    expect(await provinceKpi('connections_in_limit')).toMatchObject({ numerator: 1, denominator: 3 });
  });

  it('a running connection counts its days on the working calendar, holidays off and worked weekends on', async () => {
    // C on 24 February: 13, 14 (worked Saturday) and 24 February: 3 working days ≤ 6, not late yet
    expect(await provinceKpi('connections_in_limit', '2026-02-24')).toMatchObject({ numerator: 0, denominator: 0 });
  });
});
