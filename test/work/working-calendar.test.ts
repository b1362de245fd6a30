import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testContext, type TestContext } from '../support/db.ts';
import { loadWorkingCalendar, workingDaysBetween } from '../../src/work/index.ts';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await testContext();
});
afterAll(async () => {
  await ctx?.drop();
});

describe('working calendar from the database', () => {
  it('a step of several months counts the holidays and worked weekends near its end', async () => {
    // a dual-supply plan started 20 August and finished 12 October 2026: the Mid-Autumn day and the National
    // Day week rest, Sunday 20 September and Saturday 10 October are worked (调休): 33 working days, not 37
    const cal = await loadWorkingCalendar(ctx.db, '2026-08-20');
    expect(workingDaysBetween(cal, '2026-08-20', '2026-10-12')).toBe(33);
  });
});
