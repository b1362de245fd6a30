import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testContext, type TestContext } from '../support/db.ts';
import { addDays } from '../../src/platform/index.ts';
import { startFrontend, type Frontend, type FrontendOptions } from '../../src/metering/frontend/index.ts';
import {
  encodeDailyFrozenEnergyReply,
  encodeForwardActiveBody,
  encodeGdw1376Deny,
  encodeGdw1376Frame,
  encodeGdw1376LinkCheck,
  encodeTdD,
  Gdw1376Afn,
  replyEnvelopeFor,
  type Gdw1376Frame,
} from '../../src/metering/protocols/index.ts';
import { FrameReader } from '../../src/metering/frontend/index.ts';
import { loadFleet, type SimConcentrator } from '../../src/sim/concentrator-fleet.ts';

/**
 * Scripted concentrators over real TCP: each answers the master's AFN 0D F161 requests the way a test
 * says (values, EE, deny, silence, another terminal's address) and records every (day, pn) it was asked.
 */
type Answer = 'value' | 'ee' | 'omit';
interface Script {
  /** How the terminal answers one request; 'deny' refuses it, 'silent' never answers, 'foreign' answers as another terminal. */
  request?: (day: string, pns: number[]) => 'answer' | 'deny' | 'silent' | 'foreign';
  /** Per point, when the request is answered. */
  point?: (day: string, pn: number) => Answer;
}

interface Terminal {
  asked: { day: string; pn: number }[];
  loggedIn: Promise<void>;
  /** Frames the master sent that answer the terminal (PRM=0): confirms and denies. */
  answers: Gdw1376Frame[];
  send(frame: Uint8Array): void;
  close(): void;
}

const kwh = (pn: number, day: string) => `${1000 + pn}.${day.slice(8, 10)}`;

function scriptedTerminal(port: number, c: SimConcentrator, script: Script = {}): Terminal {
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
  const address = { areaCode: c.areaCode, terminal: c.terminal, msa: 0, group: false };
  const reader = new FrameReader();
  const asked: { day: string; pn: number }[] = [];
  const answers: Gdw1376Frame[] = [];
  let onLogin = () => undefined as void;
  const loggedIn = new Promise<void>((r) => (onLogin = r));
  socket.on('connect', () => socket.write(encodeGdw1376LinkCheck('login', address, 1)));
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    for (const f of reader.push(chunk).frames) {
      if (!f.control.prm) answers.push(f);
      if (f.afn === Gdw1376Afn.confirm && !f.control.prm) onLogin();
      if (f.afn === Gdw1376Afn.historicalData && f.control.prm) answer(f);
    }
  });
  const answer = (req: Gdw1376Frame) => {
    const items = req.units.flatMap((u) => u.items).filter((i) => i.fn === 161 && i.value.kind === 'frozenDate');
    const day = items[0]!.value.kind === 'frozenDate' ? items[0]!.value.date : '';
    const pns = items.map((i) => i.pn);
    for (const pn of pns) asked.push({ day, pn });
    const how = script.request?.(day, pns) ?? 'answer';
    if (how === 'silent') return;
    if (how === 'deny') return void socket.write(encodeGdw1376Deny(req));
    const readings = pns
      .map((pn) => ({ pn, how: script.point?.(day, pn) ?? 'value' }))
      .filter((r) => r.how !== 'omit')
      .map(({ pn, how: h }) => ({
        pn, date: day, readAt: h === 'ee' ? null : `${addDays(day, 1)} 00:00`,
        registers: h === 'ee' ? { total: null, tariffs: [null, null, null, null] } : { total: kwh(pn, day), tariffs: [] },
      }));
    if (!readings.length) return void socket.write(encodeGdw1376Deny(req));
    const envelope = replyEnvelopeFor(req);
    const as = how === 'foreign' ? { ...envelope, address: { ...envelope.address, terminal: (c.terminal % 60_000) + 1 } } : envelope;
    socket.write(encodeDailyFrozenEnergyReply({ ...as, seq: { seq: envelope.seq.seq, fir: true, fin: true } }, readings));
  };
  return { asked, loggedIn, answers, send: (frame) => socket.write(frame), close: () => socket.destroy() };
}

const D = '2026-03-10';
let ctx: TestContext;
let fleet: SimConcentrator[];
let fe: Frontend | null = null;
const terminals: Terminal[] = [];

beforeAll(async () => {
  ctx = await testContext({ customers: 120, now: `${addDays(D, 1)}T09:00:00+08:00` });
  fleet = (await loadFleet(ctx.db)).filter((c) => c.meters.length >= 4);
});
afterEach(async () => {
  for (const t of terminals.splice(0)) t.close();
  await fe?.stop();
  fe = null;
  await sql`DELETE FROM meter_reading`.execute(ctx.db);
  await sql`DELETE FROM frontend_collection`.execute(ctx.db);
});
afterAll(async () => {
  await ctx?.drop();
});

async function frontend(opts: FrontendOptions = {}): Promise<Frontend> {
  fe = await startFrontend(ctx, {
    port: 0, host: '127.0.0.1', linkFlushMs: 50, scheduleEveryMs: 0,
    collect: { requestTimeoutMs: 300, retries: 2, pnsPerRequest: 2, window: 2 }, sink: { batchRows: 50, flushMs: 10 }, ...opts,
  });
  return fe;
}

async function connect(c: SimConcentrator, script?: Script): Promise<Terminal> {
  const t = scriptedTerminal(fe!.port, c, script);
  terminals.push(t);
  await t.loggedIn;
  return t;
}

async function storedTotals(day: string): Promise<Map<number, string>> {
  const r = await sql<{ meter_id: string; total: string | null }>`
    SELECT meter_id, total_kwh::numeric(16,2)::text AS total FROM meter_reading WHERE reading_date = ${day}::date`.execute(ctx.db);
  return new Map(r.rows.map((x) => [Number(x.meter_id), x.total ?? 'null']));
}

const count = (t: Terminal, day: string, pn: number) => t.asked.filter((a) => a.day === day && a.pn === pn).length;

describe('daily frozen collection against scripted concentrators', () => {
  it('a meter answered with EE is a gap asked once per run, not a zero reading, and not asked again at once', async () => {
    await frontend();
    const c = fleet[0]!;
    const ee = c.meters[0]!;
    const t = await connect(c, { point: (_d, pn) => (pn === ee.pn ? 'ee' : 'value') });
    const r = await fe!.collectDay(D);
    const rows = await storedTotals(D);
    expect(rows.has(ee.meterId)).toBe(false);
    for (const m of c.meters.slice(1)) expect(rows.get(m.meterId)).toBe(kwh(m.pn, D));
    expect(count(t, D, ee.pn)).toBe(1);
    expect(r.records[0]).toMatchObject({ outcome: 'partial', missingMeterIds: [ee.meterId], rounds: 1 });
  });

  it('a denied request is a gap for its points, not re-asked in the run; a point left out of a reply is asked again', async () => {
    await frontend();
    const c = fleet[0]!;
    const [denied, , omitted] = c.meters;
    const t = await connect(c, {
      request: (_d, pns) => (pns.includes(denied!.pn) ? 'deny' : 'answer'),
      point: (_d, pn) => (pn === omitted!.pn && count(t, D, pn) === 1 ? 'omit' : 'value'),
    });
    const r = await fe!.collectDay(D);
    const rows = await storedTotals(D);
    expect(count(t, D, denied!.pn)).toBe(1);
    expect(rows.has(denied!.meterId)).toBe(false);
    expect(count(t, D, omitted!.pn)).toBe(2);
    expect(rows.get(omitted!.meterId)).toBe(kwh(omitted!.pn, D));
    expect(r.records[0]!.missingMeterIds.sort()).toEqual(c.meters.filter((m) => pnsOfChunkWith(c, denied!.pn).includes(m.pn)).map((m) => m.meterId).sort());
  });

  it('a request with no answer is asked again, up to the retries, and what was answered is never asked twice', async () => {
    await frontend();
    const c = fleet[0]!;
    const late = c.meters[1]!;
    const t = await connect(c, { request: (_d, pns) => (pns.includes(late.pn) && count(t, D, late.pn) <= 2 ? 'silent' : 'answer') });
    const r = await fe!.collectDay(D);
    expect(count(t, D, late.pn)).toBe(3);
    for (const m of c.meters) if (!pnsOfChunkWith(c, late.pn).includes(m.pn)) expect(count(t, D, m.pn), `pn ${m.pn}`).toBe(1);
    expect(r.records[0]).toMatchObject({ outcome: 'complete', rounds: 3 });
    expect((await storedTotals(D)).size).toBe(c.meters.length);
  });

  it('an answer carrying another terminal\'s address stores nothing, and the other concentrators are collected meanwhile', async () => {
    await frontend();
    const [liar, silent, healthy] = fleet;
    const a = await connect(liar!, { request: () => 'foreign' });
    await connect(silent!, { request: () => 'silent' });
    await connect(healthy!);
    const r = await fe!.collectDay(D);
    const rows = await storedTotals(D);
    for (const m of liar!.meters) expect(rows.has(m.meterId), `meter ${m.meterId} of the wrong-address terminal`).toBe(false);
    for (const m of healthy!.meters) expect(rows.get(m.meterId)).toBe(kwh(m.pn, D));
    const byId = new Map(r.records.map((x) => [x.concentratorId, x]));
    expect(byId.get(liar!.concentratorId)).toMatchObject({ outcome: 'no_answer', read: 0, rounds: 3 });
    expect(count(a, D, liar!.meters[0]!.pn)).toBe(3);
    expect(byId.get(silent!.concentratorId)).toMatchObject({ outcome: 'no_answer', read: 0 });
    expect(byId.get(healthy!.concentratorId)).toMatchObject({ outcome: 'complete', rounds: 1 });
    expect(byId.get(healthy!.concentratorId)!.elapsedMs).toBeLessThan(300);
  });
});

describe('readings a concentrator reports on its own (主动上报)', () => {
  it('are stored for the meters still unread that day and confirmed; a day not frozen yet and a point without a meter are not readings', async () => {
    await frontend();
    const c = fleet[0]!;
    const [m1, m2, m3] = c.meters;
    const t = await connect(c);
    // m3 was read already: the report does not replace its reading
    await sql`INSERT INTO meter_reading (meter_id, reading_date, total_kwh, quality, source, received_at)
              VALUES (${m3!.meterId}, ${D}::date, 5.00, 'actual', 'frontend', now())`.execute(ctx.db);
    const today = addDays(D, 1);
    const point = (pn: number, day: string, total: string) => ({
      pn: [pn], fn: [161], data: Uint8Array.from([...encodeTdD(day), ...encodeForwardActiveBody(`${addDays(day, 1)} 00:00`, { total, tariffs: [] })]),
    });
    // an active report: PRM=1, user data (func 4), AFN 0D, asking for a confirm
    t.send(encodeGdw1376Frame({
      control: { dir: 'up', prm: true, func: 4 },
      address: { areaCode: c.areaCode, terminal: c.terminal, msa: 0, group: false },
      afn: Gdw1376Afn.historicalData,
      seq: { seq: 5, fir: true, fin: true, con: true },
      units: [point(m1!.pn, D, '1111.11'), point(m2!.pn, D, '2222.22'), point(m3!.pn, D, '3333.33'), point(2000, D, '9.99'), point(m1!.pn, today, '1112.00')],
    }));
    await expect.poll(async () => (await storedTotals(D)).get(m2!.meterId), { timeout: 10_000 }).toBe('2222.22');
    const rows = await storedTotals(D);
    expect(rows.get(m1!.meterId)).toBe('1111.11');
    expect(rows.get(m3!.meterId)).toBe('5.00');
    expect(rows.size).toBe(3);
    expect((await storedTotals(today)).size).toBe(0);
    expect(t.answers.some((f) => f.afn === Gdw1376Afn.confirm && f.seq.seq === 5)).toBe(true);
    expect(fe!.status().reports).toBe(1);
  });
});

describe('the collection schedule', () => {
  const waitFor = async (what: string, ok: () => boolean | Promise<boolean>, ms = 5_000) => {
    const until = performance.now() + ms;
    while (!(await ok())) {
      if (performance.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const days = (t: Terminal) => [...new Set(t.asked.map((a) => a.day))].sort();
  const pairs = (t: Terminal) => t.asked.map((a) => `${a.day}/${a.pn}`).sort();

  it('a concentrator logging in later in the day, back from two days offline, is asked at once for the 3 days it keeps and no older one', async () => {
    ctx.clock.set(`${addDays(D, 1)}T09:00:00+08:00`);
    // the timer alone would wait a minute: the login itself starts the collection
    await frontend({ scheduleEveryMs: 60_000 });
    const c = fleet[0]!;
    const ee = c.meters[0]!;
    const kept = [addDays(D, -2), addDays(D, -1), D];
    const t = await connect(c, { point: (day, pn) => (pn === ee.pn && day === D ? 'ee' : 'value') });
    await waitFor('the kept days asked', () => t.asked.length >= kept.length * c.meters.length && fe!.status().collectionsRun > 0, 3_000);
    expect(days(t)).toEqual(kept);
    expect(pairs(t)).toEqual(kept.flatMap((day) => c.meters.map((m) => `${day}/${m.pn}`)).sort());
    for (const day of kept) expect((await storedTotals(day)).size).toBe(day === D ? c.meters.length - 1 : c.meters.length);

    // the same business day, a reconnect asks for nothing again
    t.close();
    const again = await connect(c);
    await new Promise((r) => setTimeout(r, 500));
    expect(again.asked).toEqual([]);

    // the next day after 00:30: the new day, and what is still missing of the days the concentrator still keeps
    ctx.clock.set(`${addDays(D, 2)}T00:45:00+08:00`);
    again.close();
    const next = await connect(c);
    await waitFor('the next day asked', () => fe!.status().collectionsRun > 1, 3_000);
    expect(pairs(next)).toEqual([`${D}/${ee.pn}`, ...c.meters.map((m) => `${addDays(D, 1)}/${m.pn}`)].sort());
    expect((await storedTotals(D)).get(ee.meterId)).toBe(kwh(ee.pn, D));
  });

  it('a silent concentrator does not hold up the scheduled collection of one that logs in after it', async () => {
    ctx.clock.set(`${addDays(D, 1)}T09:00:00+08:00`);
    await frontend({ scheduleEveryMs: 50, collect: { requestTimeoutMs: 500, retries: 2, pnsPerRequest: 1, window: 1 } });
    const [silentOne, healthy] = fleet;
    const silent = await connect(silentOne!, { request: () => 'silent' });
    await waitFor('the silent one asked', () => silent.asked.length > 0);
    const t = await connect(healthy!);
    await waitFor('the healthy one collected', async () => (await storedTotals(D)).size === healthy!.meters.length, 2_000);
    expect(days(t)).toEqual([addDays(D, -2), addDays(D, -1), D]);
  });

  it('a day VEE estimated is still asked for, and the meter\'s own value replaces the estimate', async () => {
    await frontend();
    const c = fleet[0]!;
    const m = c.meters[0]!;
    await sql`INSERT INTO meter_reading (meter_id, reading_date, total_kwh, quality, source, received_at)
              VALUES (${m.meterId}, ${D}::date, 1.00, 'estimated', 'estimate', now())`.execute(ctx.db);
    const t = await connect(c);
    await fe!.collectDay(D);
    expect(count(t, D, m.pn)).toBe(1);
    expect((await storedTotals(D)).get(m.meterId)).toBe(kwh(m.pn, D));
  });
});

/** The points the collector puts in one request with the meter `pn` (pnsPerRequest 2, in pn order). */
function pnsOfChunkWith(c: SimConcentrator, pn: number): number[] {
  const pns = c.meters.map((m) => m.pn);
  const i = pns.indexOf(pn);
  return pns.slice(i - (i % 2), i - (i % 2) + 2);
}
