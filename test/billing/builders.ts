import { sql } from 'kysely';
import { ensureReadingPartitions, upsertReadings, type ReadingQuality } from '../../src/metering/index.ts';
import type { AppContext } from '../../src/platform/index.ts';

export interface ReadingSpec {
  meterId: number;
  date: string;
  total: string;
  sharp?: string;
  peak?: string;
  flat?: string;
  valley?: string;
  quality?: ReadingQuality;
}

/** Store daily frozen registers for tests (through the metering context's upsert). */
export async function giveReadings(ctx: AppContext, rows: ReadingSpec[]): Promise<void> {
  const dates = rows.map((r) => r.date).sort();
  await ensureReadingPartitions(ctx.db, dates[0]!, dates.at(-1)!);
  await upsertReadings(ctx.db, ctx.clock.now(), rows.map((r) => ({
    meterId: r.meterId, readingDate: r.date, totalKwh: r.total, sharpKwh: r.sharp, peakKwh: r.peak, flatKwh: r.flat,
    valleyKwh: r.valley, quality: r.quality ?? 'actual', source: 'api',
  })));
}

/** Every meter of a cycle's customers gets a start and an end register: start = 1000, end = 1000 + kwh(customer). */
export async function readWholeCycle(ctx: AppContext, cycle: string, start: string, end: string, kwh: (customerId: number) => number): Promise<number[]> {
  const rows = (await sql<{ customer_id: number; meter_id: number }>`
    SELECT sp.customer_id, sp.meter_id FROM service_point sp JOIN customer c ON c.id = sp.customer_id
    WHERE c.billing_cycle = ${cycle} AND sp.removed_on IS NULL ORDER BY sp.customer_id`.execute(ctx.db)).rows;
  await giveReadings(ctx, rows.flatMap((r) => [
    { meterId: r.meter_id, date: start, total: '1000' },
    { meterId: r.meter_id, date: end, total: String(1000 + kwh(r.customer_id)) },
  ]));
  return rows.map((r) => r.customer_id);
}

/** Point a customer at a tariff (and capacity) for a test case. */
export async function setTariff(ctx: AppContext, customerId: number, tariffCode: string, capacityKva: number | null = null): Promise<void> {
  await sql`UPDATE customer SET tariff_code = ${tariffCode}, contract_capacity_kva = ${capacityKva} WHERE id = ${customerId}`.execute(ctx.db);
}

export async function billsOf(ctx: AppContext, customerId: number) {
  return (await sql<{ id: number; kind: string; period: string; amount: string; status: string; consumption_kwh: string }>`
    SELECT id, kind, period, amount, status, consumption_kwh FROM bill WHERE customer_id = ${customerId} ORDER BY id`.execute(ctx.db)).rows;
}

export async function linesOfBill(ctx: AppContext, billId: number) {
  return (await sql<{ component: string; register: string; tier: number; quantity: string; unit_price: string; amount: string }>`
    SELECT component, register, tier, quantity, unit_price, amount FROM bill_line WHERE bill_id = ${billId} ORDER BY line_no`.execute(ctx.db)).rows;
}
