import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { startFrontend, type Frontend } from '../../src/metering/frontend/index.ts';
import {
  encodeDlt645ErrorReply, encodeDlt645ReadAddressReply, encodeDlt645RelayControl, encodeDlt645RelayControlReply, toHex,
} from '../../src/metering/protocols/index.ts';
import { loadFleet, type SimConcentrator } from '../../src/sim/concentrator-fleet.ts';
import { startConcentratorSimulator, type ConcentratorSimulator } from '../../src/sim/concentrators.ts';
import { listSwitchCommands, requestSwitches } from '../../src/dunning/index.ts';
import { relayOutcome, sendRemoteSwitches } from '../../src/flows/dunning-remote-switch.ts';

const DAY = '2026-03-02';
let ctx: TestContext;
let fe: Frontend;
let sim: ConcentratorSimulator;
let fleet: SimConcentrator[];

const order = (address: string) =>
  toHex(encodeDlt645RelayControl(address, { command: 'trip', passwordLevel: 2, password: '000000', operatorCode: '00000001', validUntil: `${DAY} 23:00:00` }), '');

async function customerOf(meterId: number): Promise<number> {
  const r = await sql<{ customer_id: number }>`SELECT customer_id FROM service_point WHERE meter_id = ${meterId} AND removed_on IS NULL`.execute(ctx.db);
  return Number(r.rows[0]!.customer_id);
}

beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: `${DAY}T10:00:00+08:00` });
  fleet = await loadFleet(ctx.db);
  fe = await startFrontend(ctx, { port: 0, host: '127.0.0.1', scheduleEveryMs: 0, collect: { requestTimeoutMs: 1000, retries: 0 } });
  sim = startConcentratorSimulator({
    port: fe.port, concentrators: fleet, seed: 3, clock: ctx.clock, heartbeatMs: 500, reconnectMs: 0,
    faults: { offline: [fleet[1]!.concentratorId], unreachable: [{ meterId: fleet[0]!.meters[1]!.meterId, from: DAY, days: 1 }] },
  });
  await sim.ready;
});
afterAll(async () => {
  await sim?.stop();
  await fe?.stop();
  await ctx?.drop();
});

describe('remote disconnect through the concentrator (AFN 10 F1 carrying a DL/T 645 relay order)', () => {
  it('confirms a reachable meter, fails a silent one over to a field job, keeps an offline concentrator\'s order pending, and sends each once', async () => {
    const reachable = fleet[0]!.meters[0]!;
    const silent = fleet[0]!.meters[1]!;
    const behindOffline = fleet[1]!.meters[0]!;
    const meters = [reachable, silent, behindOffline];
    const rows = [];
    for (const m of meters) {
      const customerId = await customerOf(m.meterId);
      rows.push({ request_key: `test:${m.meterId}`, meter_id: m.meterId, customer_id: customerId, comm_address: m.commAddress!, action: 'disconnect' as const, frame_hex: order(m.commAddress!) });
    }
    expect(await requestSwitches(ctx.db, ctx.clock.now(), rows)).toBe(3);

    const r = await sendRemoteSwitches(ctx, fe, { timeoutMs: 1000 });
    expect(r).toEqual({ confirmed: 1, failed: 1, waiting: 1 });
    const status = async (m: { meterId: number }) => (await listSwitchCommands(ctx.db, await customerOf(m.meterId))).find((c) => Number(c.meter_id) === m.meterId)!;
    expect(await status(reachable)).toMatchObject({ status: 'confirmed', detail: 'relay order confirmed by the meter' });
    expect((await status(reachable)).sent_at).not.toBeNull();
    expect(await status(silent)).toMatchObject({ status: 'failed', detail: 'the meter did not answer the concentrator' });
    expect(await status(behindOffline)).toMatchObject({ status: 'pending' });
    // the order the meter did not take becomes the same job on site, once
    const tasks = await sql<{ kind: string; meter_id: number }>`SELECT kind, meter_id FROM task WHERE idempotency_key LIKE 'switch-fallback:%'`.execute(ctx.db);
    expect(tasks.rows.map((t) => ({ kind: t.kind, meter: Number(t.meter_id) }))).toEqual([{ kind: 'disconnect', meter: silent.meterId }]);

    // a second pass sends nothing again; the offline concentrator's order still waits
    expect(await sendRemoteSwitches(ctx, fe, { timeoutMs: 1000 })).toEqual({ confirmed: 0, failed: 0, waiting: 1 });
  });
});

describe('the meter\'s answer to a relay order', () => {
  const meter = '000000123456';
  const join = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
  const ok = { ok: true, detail: 'relay order confirmed by the meter' };

  it('is confirmed with the wake-up bytes, noise on the line before it or bytes after it', () => {
    expect(relayOutcome(encodeDlt645RelayControlReply(meter, { preamble: 4 }), meter)).toEqual(ok);
    expect(relayOutcome(join(Uint8Array.of(0x00, 0x7f, 0x68, 0x11), encodeDlt645RelayControlReply(meter)), meter)).toEqual(ok);
    expect(relayOutcome(join(encodeDlt645RelayControlReply(meter), Uint8Array.of(0x00, 0x16)), meter)).toEqual(ok);
  });

  it('is a refusal with its reason when the meter sends an error reply, and not a confirmation from another meter or to another order', () => {
    expect(relayOutcome(encodeDlt645ErrorReply(meter, 0x1c, 0x04), meter)).toEqual({ ok: false, detail: 'meter refused: unauthorized' });
    expect(relayOutcome(encodeDlt645RelayControlReply('000000654321'), meter).ok).toBe(false);
    expect(relayOutcome(encodeDlt645ReadAddressReply(meter), meter).ok).toBe(false);
    expect(relayOutcome(Uint8Array.of(0xfe, 0xfe, 0x68, 0x01), meter)).toEqual({ ok: false, detail: 'undecodable answer' });
  });
});
