import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { ensureReadingPartitions, upsertReadings } from '../../src/metering/index.ts';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await testContext({ customers: 50 });
});
afterAll(async () => ctx?.drop());

describe('readings store', () => {
  it('a register arriving alone keeps the others, and a month partition adopts rows parked in the default', async () => {
    await upsertReadings(ctx.db, ctx.clock.now(), [{ meterId: 1, readingDate: '2026-02-01', totalKwh: '100.1234', peakKwh: '40', quality: 'actual', source: 'file' }]);
    await upsertReadings(ctx.db, ctx.clock.now(), [{ meterId: 1, readingDate: '2026-02-01', valleyKwh: '60.1234', quality: 'actual', source: 'mqtt' }]);
    await ensureReadingPartitions(ctx.db, '2026-01-01', '2026-03-31');
    const r = await sql<{ total_kwh: string; peak_kwh: string; valley_kwh: string; part: string }>`
      SELECT total_kwh, peak_kwh, valley_kwh, tableoid::regclass::text AS part FROM meter_reading WHERE meter_id = 1`.execute(ctx.db);
    expect(r.rows).toEqual([{ total_kwh: '100.1234', peak_kwh: '40.0000', valley_kwh: '60.1234', part: 'meter_reading_202602' }]);
  });
});
