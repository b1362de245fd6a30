import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { runDunning } from '../../src/flows/dunning-run.ts';
import { customersWithChannels, releaseBills } from './support.ts';

let ctx: TestContext;
let twoBills: { id: number; number: string };
let oneBill: { id: number; number: string };

const runAt = async (date: string) => {
  ctx.clock.set(`${date}T09:00:00+08:00`);
  return runDunning(ctx, date);
};

interface NoticeRow { step: string; bill_no: string; amount: string; late_fee: string; due_date: string; suspend_on: string | null; channels: string[] }
const chaseOf = async (customerId: number): Promise<NoticeRow[]> =>
  (await sql<NoticeRow>`SELECT step, bill_no, amount, late_fee, due_date, suspend_on, channels FROM dunning_notice
                        WHERE customer_id = ${customerId} AND step <> 'bill_notice' ORDER BY id`.execute(ctx.db)).rows;

beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: '2026-02-01T09:00:00+08:00' });
  [twoBills, oneBill] = (await customersWithChannels(ctx, ['sms'], 2)) as [{ id: number; number: string }, { id: number; number: string }];
  await releaseBills(ctx, [
    { customerId: twoBills.id, period: '2026-01', amount: '120.50', issuedOn: '2026-02-01', dueDate: '2026-02-16', releasedAt: new Date('2026-02-01T08:00:00+08:00') },
    { customerId: twoBills.id, period: '2026-02', amount: '80.25', issuedOn: '2026-03-01', dueDate: '2026-03-16', releasedAt: new Date('2026-03-01T08:00:00+08:00') },
    { customerId: oneBill.id, period: '2026-02', amount: '80.25', issuedOn: '2026-03-01', dueDate: '2026-03-16', releasedAt: new Date('2026-03-01T08:00:00+08:00') },
  ]);
}, 180_000);
afterAll(async () => ctx?.drop());

describe('the case the chase is about', () => {
  it('chases the oldest open bill, for what is due by the step day; a later bill not yet due is left out', async () => {
    const r = await runAt('2026-03-13');
    expect(r.notices).toContainEqual({ step: 'overdue_3', status: 'pending', n: 1 });
    expect(r.notices).toContainEqual({ step: 'reminder', status: 'pending', n: 1 });
    const [a] = await chaseOf(twoBills.id);
    expect(a).toMatchObject({ step: 'overdue_3', bill_no: `B2026-01-${twoBills.number}`, amount: '120.50', due_date: '2026-02-16', channels: ['sms'] });
    expect(Number(a!.late_fee)).toBeGreaterThan(0);
    // a reminder is for the bill falling due, before any late fee
    expect(await chaseOf(oneBill.id)).toEqual([
      { step: 'reminder', bill_no: `B2026-02-${oneBill.number}`, amount: '80.25', late_fee: '0.00', due_date: '2026-03-16', suspend_on: null, channels: ['sms'] },
    ]);
  });

  it('adds the later bill to the amount once it is due, with the late fees payments computes for that day', async () => {
    // suspension only after a reminder: notice 3 went out (the dispatcher's part)
    await sql`UPDATE dunning_notice SET status = 'delivered' WHERE step = 'overdue_3' AND status = 'pending'`.execute(ctx.db);
    const r = await runAt('2026-03-19');
    expect(r.notices).toContainEqual({ step: 'suspension_notice', status: 'pending', n: 1 });
    expect(r.notices).toContainEqual({ step: 'overdue_1', status: 'pending', n: 1 });
    const fees = await sql<{ late_fee: string }>`
      SELECT sum(late_fee)::numeric(14,2)::text AS late_fee FROM payments_open_debt('2026-03-19'::date) WHERE customer_id = ${twoBills.id}`.execute(ctx.db);
    const notice = (await chaseOf(twoBills.id)).at(-1)!;
    expect(notice).toMatchObject({ step: 'suspension_notice', bill_no: `B2026-01-${twoBills.number}`, amount: '200.75', late_fee: fees.rows[0]!.late_fee });
    // residential: the legal notice runs 7 days
    expect(notice.suspend_on).toBe('2026-03-26');
    expect((await chaseOf(oneBill.id)).map((n) => `${n.step}:${n.amount}`)).toEqual(['reminder:80.25', 'overdue_1:80.25']);
    expect((await runAt('2026-03-19')).notices).toEqual([]);
  });
});
