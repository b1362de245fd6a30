import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { customersWithChannels, pay, releaseBills } from '../dunning/support.ts';
import { computeKpis } from '../../src/monitoring/index.ts';

const DAY = '2026-01-20';
let ctx: TestContext;

const provinceKpi = async (kpi: string) =>
  (await sql<{ value: string | null; numerator: string; denominator: string | null }>`
    SELECT value, numerator, denominator FROM kpi_daily k JOIN org_unit o ON o.id = k.org_id
    WHERE o.level = 'province' AND k.day = ${DAY}::date AND k.kpi = ${kpi}`.execute(ctx.db)).rows[0];

beforeAll(async () => {
  ctx = await testContext({ customers: 400, now: '2026-01-21T09:00:00+08:00' });
  const [a, b, c, d] = await customersWithChannels(ctx, ['sms'], 4);
  // December: all four overdue; a pays after the due date (no person), b only after a manual-collection task
  await releaseBills(ctx, [a, b, c].map((x) => ({ customerId: x!.id, period: '2025-11', amount: '100.00', issuedOn: '2025-11-05', dueDate: '2025-11-20', releasedAt: new Date('2025-11-05T10:00:00+08:00') })));
  // January (month to date): d billed 200.00 and pays half
  await releaseBills(ctx, [{ customerId: d!.id, period: '2025-12', amount: '200.00', issuedOn: '2026-01-05', dueDate: '2026-01-15', releasedAt: new Date('2026-01-05T10:00:00+08:00') }]);
  await pay(ctx, a!.number, '150.00', '2025-12-01', 'kpi-test-a');
  await sql`INSERT INTO dunning_escalation (escalation_key, kind, reason, customer_id, bill_id, handled_by, created_on, created_at)
            SELECT 'kpi-test-' || b.id, 'manual_collection', 'three notices unpaid', b.customer_id, b.id, 'task', '2025-12-08', now()
            FROM bill b WHERE b.customer_id = ${b!.id}`.execute(ctx.db);
  await pay(ctx, b!.number, '150.00', '2025-12-10', 'kpi-test-b');
  await pay(ctx, d!.number, '100.00', '2026-01-10', 'kpi-test-d');
  await computeKpis(ctx, DAY);
});
afterAll(async () => {
  await ctx?.drop();
});

describe('KPI rollup over the ledger', () => {
  it('counts a case paid before any escalation as cleared without a person', async () => {
    // cases due 2025-11-20 (within 90 days) and 2026-01-15, none paid by the due date: a, b, c, d
    expect(await provinceKpi('cleared_without_person')).toMatchObject({ numerator: '1.0000', denominator: '4' });
  });

  it('computes the month-to-date collection rate from what was billed this month', async () => {
    const rate = await provinceKpi('collection_rate');
    expect(rate).toMatchObject({ value: '0.500000', numerator: '100.0000', denominator: '200.00' });
    expect((await provinceKpi('billed_amount'))!.value).toBe('200.00');
  });

  it('bands the open arrears by days past due', async () => {
    // c owes 100.00 due 2025-11-20 (61 days), d owes 100.00 due 2026-01-15 (5 days)
    expect((await provinceKpi('arrears_31_90'))!.value).toBe('100.00');
    expect((await provinceKpi('arrears_0_30'))!.value).toBe('100.00');
    expect(Number((await provinceKpi('arrears_over_90'))!.value)).toBe(0);
    expect((await provinceKpi('arrears_total'))!.value).toBe('200.00');
    expect(Number((await provinceKpi('late_fee_accrued'))!.value)).toBeGreaterThan(0);
  });
});
