import { sql } from 'kysely';
import { addDays } from '../../src/platform/index.ts';
import { ensureReadingPartitions, upsertReadings } from '../../src/metering/index.ts';
import { computeKpis } from '../../src/monitoring/index.ts';
import type { TestContext } from '../support/db.ts';

/**
 * A week of daily readings where collection improves day by day and one county lags behind,
 * rolled up into KPIs for each day: the monitoring center has a trend and a worst area to show.
 */
export async function weekOfReadings(ctx: TestContext, lastDay: string, opts: { kpis: boolean } = { kpis: true }): Promise<void> {
  const meters = (await sql<{ meter_id: number; org_path: string }>`
    SELECT sp.meter_id, c.org_path FROM service_point sp JOIN customer c ON c.id = sp.customer_id ORDER BY sp.meter_id`.execute(ctx.db)).rows;
  const firstDay = addDays(lastDay, -6);
  await ensureReadingPartitions(ctx.db, firstDay, lastDay);
  for (let d = 0; d < 7; d++) {
    const day = addDays(firstDay, d);
    // meter i misses day d when i mod 20 < (7 - d); the first county of LN01 misses every third meter too
    const read = meters.filter((m, i) => i % 20 >= 7 - d && !(m.org_path.startsWith('/SGCC/LN/LN01/LN0101/') && i % 3 === 0));
    await upsertReadings(ctx.db, ctx.clock.now(), read.map((m) => ({ meterId: m.meter_id, readingDate: day, totalKwh: String(100 + d * 5), quality: 'actual', source: 'frontend' })));
    if (opts.kpis) await computeKpis(ctx, day);
  }
}

export async function kpiValue(ctx: TestContext, orgCode: string, day: string, kpi: string): Promise<{ value: string | null; numerator: string; denominator: string | null }> {
  const r = await sql<{ value: string | null; numerator: string; denominator: string | null }>`
    SELECT k.value, k.numerator, k.denominator FROM kpi_daily k JOIN org_unit o ON o.id = k.org_id
    WHERE o.code = ${orgCode} AND k.day = ${day}::date AND k.kpi = ${kpi}`.execute(ctx.db);
  if (!r.rows[0]) throw new Error(`no ${kpi} for ${orgCode} on ${day}`);
  return r.rows[0];
}
