import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { startFrontend, type Frontend } from '../../src/metering/frontend/index.ts';
import { loadFleet, type SimConcentrator } from '../../src/sim/concentrator-fleet.ts';
import { startConcentratorSimulatorWorker } from '../../src/sim/concentrator-worker.ts';
import { dailyFrozenRegisters } from '../../src/sim/meter-model.ts';

const SEED = 3;
const DAY = '2026-01-14';
let ctx: TestContext;
let fe: Frontend;
let fleet: SimConcentrator[];

beforeAll(async () => {
  ctx = await testContext({ customers: 120, now: '2026-01-15T01:00:00+08:00' });
  fleet = await loadFleet(ctx.db);
  fe = await startFrontend(ctx, { port: 0, host: '127.0.0.1', scheduleEveryMs: 0, collect: { window: 1, requestTimeoutMs: 10_000, retries: 1 } });
});
afterAll(async () => {
  await fe?.stop();
  await ctx?.drop();
});

describe('concentrator simulator in a worker thread', () => {
  it('logs every concentrator in over TCP and answers the day with what the meter model froze', async () => {
    const sim = startConcentratorSimulatorWorker({ port: fe.port, concentrators: fleet, seed: SEED, now: ctx.clock.now().toISOString(), heartbeatMs: 60_000, reconnectMs: 0 });
    try {
      await sim.ready;
      expect(fe.onlineConcentrators()).toHaveLength(fleet.length);
      const summary = await fe.collectDay(DAY);
      const meters = fleet.flatMap((c) => c.meters);
      expect([summary.read, summary.missing]).toEqual([meters.length, 0]);
      const r = await sql<{ meter_id: number; total: string }>`
        SELECT meter_id, total_kwh::numeric(16,2)::text AS total FROM meter_reading WHERE reading_date = ${DAY}::date`.execute(ctx.db);
      const got = new Map(r.rows.map((x) => [Number(x.meter_id), x.total]));
      for (const m of meters) expect(got.get(m.meterId), `meter ${m.meterId}`).toBe(dailyFrozenRegisters(SEED, m, DAY).total);
    } finally {
      const stats = await sim.stop();
      expect(stats.loggedIn).toBe(fleet.length);
      expect(stats.requestsAnswered).toBeGreaterThan(0);
    }
  });
});
