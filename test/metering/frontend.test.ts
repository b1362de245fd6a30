import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { addDays } from '../../src/platform/index.ts';
import { listCollections, listConcentratorLinks, startFrontend, type Frontend } from '../../src/metering/frontend/index.ts';
import { loadFleet, type SimConcentrator } from '../../src/sim/concentrator-fleet.ts';
import { startConcentratorSimulator, type ConcentratorSimulator } from '../../src/sim/concentrators.ts';
import { dailyFrozenRegisters } from '../../src/sim/meter-model.ts';
import type { SimFaults } from '../../src/sim/concentrator-faults.ts';

const SEED = 7;
const D1 = '2026-01-14';
const D2 = '2026-01-15';
const D3 = '2026-01-16';
const TIMEOUT_MS = 500;
const RETRIES = 3;

let ctx: TestContext;
let fe: Frontend;
let sim: ConcentratorSimulator;
let fleet: SimConcentrator[];
let faults: SimFaults;
// the concentrators and meters each fault hits
let offline: SimConcentrator;
let mute: SimConcentrator;
let corrupt: SimConcentrator;
let unreachableMeter: number;
let backwardsMeter: number;
let driftMeter: number;

const waitFor = async (what: string, ok: () => boolean | Promise<boolean>, ms = 30_000) => {
  const until = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

async function stored(day: string) {
  const r = await sql<{ meter_id: number; total: string; sharp: string; peak: string; flat: string; valley: string; drift: number | null; source: string }>`
    SELECT meter_id, total_kwh::numeric(16,2)::text AS total, sharp_kwh::numeric(16,2)::text AS sharp, peak_kwh::numeric(16,2)::text AS peak,
           flat_kwh::numeric(16,2)::text AS flat, valley_kwh::numeric(16,2)::text AS valley, clock_drift_s AS drift, source
    FROM meter_reading WHERE reading_date = ${day}::date`.execute(ctx.db);
  return new Map(r.rows.map((x) => [Number(x.meter_id), x]));
}

beforeAll(async () => {
  // 00:10 on D2: D1 is yesterday, but the automatic schedule waits until 00:30
  ctx = await testContext({ customers: 300, now: `${D2}T00:10:00+08:00` });
  fleet = await loadFleet(ctx.db);
  [offline, mute, corrupt] = [fleet[1]!, fleet[2]!, fleet[3]!];
  const healthy = fleet[0]!.meters;
  unreachableMeter = healthy[0]!.meterId;
  backwardsMeter = healthy[1]!.meterId;
  driftMeter = healthy[2]!.meterId;
  faults = {
    offline: [offline.concentratorId],
    mute: [mute.concentratorId],
    corruptRate: 0.3,
    corruptConcentrators: [corrupt.concentratorId],
    unreachable: [{ meterId: unreachableMeter, from: D1, days: 2 }],
    backwards: [{ meterId: backwardsMeter, from: D2, kwh: 100 }],
    clockDrift: [{ meterId: driftMeter, minutes: 20 }],
  };
  fe = await startFrontend(ctx, {
    port: 0, host: '127.0.0.1', linkFlushMs: 50, idleTimeoutMs: 1500, scheduleEveryMs: 50,
    collect: { requestTimeoutMs: TIMEOUT_MS, retries: RETRIES, pnsPerRequest: 16, window: 3 },
    sink: { batchRows: 100, flushMs: 20 },
  });
  const stranger: SimConcentrator = { concentratorId: 99_999, areaCode: '2199', terminal: 4321, meters: [] };
  sim = startConcentratorSimulator({
    port: fe.port, concentrators: [...fleet, stranger], seed: SEED, faults, clock: ctx.clock, heartbeatMs: 100, reconnectMs: 0,
  });
  await sim.ready;
});

afterAll(async () => {
  await sim?.stop();
  await fe?.stop();
  await ctx?.drop();
});

describe('front-end and concentrator simulator over TCP', () => {
  it('confirms logins and heartbeats, denies an unknown terminal, and records who is online', async () => {
    const connecting = fleet.length - 1;
    expect(sim.stats().loggedIn).toBe(connecting);
    expect(sim.stats().denied).toBe(1);
    expect(fe.status().deniedLogins).toBe(1);
    expect(fe.onlineConcentrators()).toEqual(fleet.filter((c) => c !== offline).map((c) => c.concentratorId));
    await waitFor('heartbeats', () => fe.status().heartbeats >= connecting * 2 && sim.stats().confirmsReceived >= connecting * 3);
    await waitFor('links flushed', async () => (await listConcentratorLinks(ctx.db, true)).length === connecting);
    const links = await listConcentratorLinks(ctx.db);
    expect(links.find((l) => l.concentrator_id === offline.concentratorId)).toBeUndefined();
    expect(links.every((l) => l.online && l.last_seen_at && l.remote_address?.startsWith('127.0.0.1'))).toBe(true);
  });

  it('collects a day: healthy meters stored with the model\'s registers, faults show up as the right unread meters', async () => {
    const dead = new net.Socket();
    let deadClosed = false;
    dead.on('close', () => (deadClosed = true)).resume();
    await new Promise<void>((r) => dead.connect(fe.port, '127.0.0.1', () => r()));
    const summary = await fe.collectDay(D1);

    const rows = await stored(D1);
    const expectedMissing = new Set([unreachableMeter, ...offline.meters.map((m) => m.meterId), ...mute.meters.map((m) => m.meterId)]);
    for (const c of fleet) {
      for (const m of c.meters) {
        if (expectedMissing.has(m.meterId)) {
          expect(rows.has(m.meterId), `meter ${m.meterId} should be unread`).toBe(false);
          continue;
        }
        const want = dailyFrozenRegisters(SEED, m, D1);
        const got = rows.get(m.meterId);
        expect(got, `meter ${m.meterId} of concentrator ${c.concentratorId}`).toMatchObject({ ...want, source: 'frontend' });
        expect(got!.drift).toBe(m.meterId === driftMeter ? 1200 : 0);
      }
    }
    const meters = fleet.reduce((a, c) => a + c.meters.length, 0);
    expect(rows.size).toBe(meters - expectedMissing.size);
    expect(summary.read).toBe(rows.size);

    // corrupted replies were counted with their code; the connection stayed up and retries filled the gaps
    expect(fe.status().frameErrors.GDW1376_BAD_CHECKSUM).toBeGreaterThan(0);
    expect(sim.stats().corruptedFrames).toBe(fe.status().frameErrors.GDW1376_BAD_CHECKSUM);
    expect(fe.onlineConcentrators()).toContain(corrupt.concentratorId);

    const records = await listCollections(ctx.db, D1);
    const byId = new Map(records.map((r) => [r.concentrator_id, r]));
    expect(byId.has(offline.concentratorId)).toBe(false);
    expect(byId.get(mute.concentratorId)).toMatchObject({ outcome: 'no_answer', read: 0, rounds: RETRIES + 1 });
    expect(byId.get(fleet[0]!.concentratorId)).toMatchObject({ outcome: 'partial', missing_meter_ids: [unreachableMeter] });
    expect(byId.get(corrupt.concentratorId)).toMatchObject({ outcome: 'complete', missing_meter_ids: [] });
    expect(byId.get(corrupt.concentratorId)!.rounds).toBeGreaterThan(1);

    // the hung concentrator cost only itself its timeouts; the healthy ones finished well within one timeout
    const elapsed = new Map(summary.records.map((r) => [r.concentratorId, r.elapsedMs]));
    expect(elapsed.get(mute.concentratorId)!).toBeGreaterThanOrEqual(TIMEOUT_MS * (RETRIES + 1));
    const healthy = summary.records.filter((r) => fleet.slice(4).some((c) => c.concentratorId === r.concentratorId));
    expect(healthy.map((r) => r.rounds)).toEqual(healthy.map(() => 1));
    expect(Math.max(...healthy.map((r) => r.elapsedMs))).toBeLessThan(elapsed.get(mute.concentratorId)!);
    // a socket that never logs in is dropped after the idle timeout without disturbing anyone
    await waitFor('silent socket dropped', () => deadClosed, 5000);
    dead.destroy();
  });

  it('the next day: a meter stepping backwards is stored low, an unreachable meter stays unread, a re-run asks only for the gaps, once', async () => {
    ctx.clock.set(`${D3}T00:10:00+08:00`);
    await fe.collectDay(D2);
    const d1 = await stored(D1);
    const d2 = await stored(D2);
    expect(Number(d2.get(backwardsMeter)!.total)).toBeLessThan(Number(d1.get(backwardsMeter)!.total));
    expect(d2.has(unreachableMeter)).toBe(false);
    const other = fleet[4]!.meters[0]!;
    expect(Number(d2.get(other.meterId)!.total)).toBeGreaterThan(Number(d1.get(other.meterId)!.total));

    const requestsBefore = sim.stats().readingsRequested;
    const again = await fe.collectDay(D2, [fleet[0]!.concentratorId]);
    // the unreachable meter is asked once: its EE answer is this run's gap, not a reason to ask again at once
    expect(sim.stats().readingsRequested - requestsBefore).toBe(1);
    expect(again.records[0]).toMatchObject({ read: fleet[0]!.meters.length - 1, missingMeterIds: [unreachableMeter] });
  });

  it('after midnight on the business clock, the schedule collects yesterday by itself', async () => {
    const before = fe.status().collectionsRun;
    ctx.clock.set(`${addDays(D3, 1)}T00:45:00+08:00`);
    await waitFor('scheduled collection', () => fe.status().collectionsRun > before, 60_000);
    const d3 = await stored(D3);
    // the unreachable meter's two bad days are over
    expect(d3.get(unreachableMeter)).toMatchObject(dailyFrozenRegisters(SEED, fleet[0]!.meters[0]!, D3));
    expect(d3.size).toBe(fleet.filter((c) => c !== offline && c !== mute).reduce((a, c) => a + c.meters.length, 0));
  });
});

