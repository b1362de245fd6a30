import net from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConcentratorRow } from '../../assets/index.ts';
import {
  decodeGdw1376Frame,
  encodeDailyFrozenEnergyReply,
  encodeDailyFrozenEnergyRequest,
  encodeGdw1376Frame,
  encodeGdw1376LinkCheck,
  forwardEnergyReadings,
  fromHex,
  replyEnvelopeFor,
  sum8,
  toHex,
  type Gdw1376Frame,
} from '../protocols/index.ts';
import { FrameReader } from './framer.ts';
import type { LinkTracker } from './link-tracker.ts';
import { ConcentratorSession, type FrontendCounters } from './session.ts';

/** login.3761 and heartBeat.3761 of the conformance vectors: terminal 0171/2082, PSEQ 8 and 9. */
const LOGIN = fromHex('68 32 00 32 00 68 C9 71 01 22 08 00 02 78 00 00 01 00 E0 16');
const HEARTBEAT = fromHex('68 32 00 32 00 68 C9 71 01 22 08 00 02 79 00 00 04 00 E4 16');
/** What the terminal expects back: AFN 00 F1, C = 0B (DIR 0, PRM 0, link status), its address, MSA 0, SEQ 6x with its PSEQ. */
const LOGIN_CONFIRM = '68 32 00 32 00 68 0B 71 01 22 08 00 00 68 00 00 01 00 10 16';
const HEARTBEAT_CONFIRM = '68 32 00 32 00 68 0B 71 01 22 08 00 00 69 00 00 01 00 11 16';
const TERMINAL = { areaCode: '0171', terminal: 2082, msa: 0, group: false };

interface Harness {
  port: number;
  sessions: ConcentratorSession[];
  counters: FrontendCounters;
  close(): Promise<void>;
}

let harness: Harness | null = null;
afterEach(async () => {
  await harness?.close();
  harness = null;
});

/** One front-end listening on loopback, with master data that knows terminal 0171/2082. */
async function listen(idleTimeoutMs = 5_000, lookupFails = false): Promise<Harness> {
  const counters: FrontendCounters = {
    framesIn: 0, framesOut: 0, frameErrors: {}, deniedLogins: 0, logins: 0, heartbeats: 0, logouts: 0, unmatchedReplies: 0, requestTimeouts: 0, reports: 0,
  };
  const links = { login: () => undefined, seen: () => undefined, offline: () => undefined } as unknown as LinkTracker;
  const row = { id: 1, area_code: '0171', terminal_address: 2082 } as ConcentratorRow;
  const sessions: ConcentratorSession[] = [];
  const server = net.createServer((socket) => {
    sessions.push(
      new ConcentratorSession(socket, {
        log: pino({ level: 'silent' }), links, counters, idleTimeoutMs, msa: 1,
        lookup: async (area, terminal) => {
          if (lookupFails) throw new Error('connection to the database lost');
          return area === row.area_code && terminal === row.terminal_address ? row : undefined;
        },
        onOnline: () => undefined,
        onClosed: () => undefined,
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  harness = {
    port: (server.address() as net.AddressInfo).port,
    sessions,
    counters,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sessions) s.socket.destroy();
        server.close(() => r());
      }),
  };
  return harness;
}

/** A terminal on the other end of a TCP connection: what it sends, and the frames it gets back. */
async function terminal(port: number) {
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
  await new Promise<void>((r) => socket.once('connect', r));
  const reader = new FrameReader();
  const received: { frame: Gdw1376Frame; bytes: string }[] = [];
  let raw = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    raw = Buffer.concat([raw, chunk]);
    for (const frame of reader.push(chunk).frames) received.push({ frame, bytes: '' });
    // keep the exact bytes of each frame for byte-level checks
    let at = 0;
    for (const r of received) {
      if (r.bytes) {
        at += r.bytes.split(' ').length;
        continue;
      }
      const length = 8 + (((raw[at + 1] ?? 0) | ((raw[at + 2] ?? 0) << 8)) >> 2);
      r.bytes = toHex(raw.subarray(at, at + length));
      at += length;
    }
  });
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  return {
    socket,
    received,
    closed,
    send: (bytes: Uint8Array | Buffer) => socket.write(bytes),
    async frames(n: number, ms = 2_000) {
      await until(() => received.length >= n, `${n} frame(s) from the master`, ms);
      return received.slice(0, n);
    },
  };
}

async function until(ok: () => boolean, what: string, ms = 2_000): Promise<void> {
  const limit = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > limit) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A terminal logged in to a fresh front-end (its login confirm read). */
async function loggedIn() {
  const h = await listen();
  const t = await terminal(h.port);
  t.send(LOGIN);
  await t.frames(1);
  return { h, t };
}

describe('a terminal logging in over TCP', () => {
  it('gets AFN 00 F1 with C = 0B, its own address with MSA 0 and RSEQ = its PSEQ, for login and heartbeat', async () => {
    const { h, t } = await loggedIn();
    t.send(HEARTBEAT);
    const [login, heartbeat] = await t.frames(2);
    expect(login!.bytes).toBe(LOGIN_CONFIRM);
    expect(heartbeat!.bytes).toBe(HEARTBEAT_CONFIRM);
    expect(login!.frame.address).toEqual(TERMINAL);
    expect(h.sessions[0]!.online).toBe(true);
  });

  it('gets no answer to a heartbeat before its login, then the login confirmed', async () => {
    const h = await listen();
    const t = await terminal(h.port);
    t.send(HEARTBEAT);
    await pause(50);
    expect(t.received).toHaveLength(0);
    t.send(LOGIN);
    const [confirm] = await t.frames(1);
    expect(confirm!.bytes).toBe(LOGIN_CONFIRM);
  });

  it('is confirmed when its login arrives byte by byte', async () => {
    const h = await listen();
    const t = await terminal(h.port);
    for (const b of LOGIN) {
      t.send(Uint8Array.of(b));
      await pause(1);
    }
    const [confirm] = await t.frames(1);
    expect(confirm!.bytes).toBe(LOGIN_CONFIRM);
  });

  it('gets both confirms for a login and heartbeat sent in one segment among garbage, a wrong checksum, disagreeing L fields and a wrong end byte', async () => {
    const h = await listen();
    const t = await terminal(h.port);
    const badCs = Buffer.from(HEARTBEAT);
    badCs[18] = 0x00;
    const badEnd = Buffer.from(HEARTBEAT);
    badEnd[19] = 0x17;
    const badL = Buffer.from(HEARTBEAT);
    badL[3] = 0x36;
    t.send(Buffer.concat([Buffer.from([0x00, 0x68, 0xff]), LOGIN, badCs, badL, badEnd, HEARTBEAT]));
    const frames = await t.frames(2);
    expect(frames.map((f) => f.bytes)).toEqual([LOGIN_CONFIRM, HEARTBEAT_CONFIRM]);
    expect(h.counters.frameErrors).toMatchObject({ GDW1376_BAD_CHECKSUM: 1, GDW1376_BAD_END: 1 });
  });

  it('is still answered after a frame cut short: the next login is confirmed', async () => {
    const h = await listen();
    const t = await terminal(h.port);
    // a frame whose L promises more than ever comes (a reset modem, a corrupted L), then the retried login
    t.send(fromHex('68 FA 00 FA 00 68 C9 71'));
    await pause(20);
    t.send(LOGIN);
    const [confirm] = await t.frames(1);
    expect(confirm!.bytes).toBe(LOGIN_CONFIRM);
    expect(h.counters.frameErrors).toMatchObject({ GDW1376_TRUNCATED: 1 });
  });

  it('is still answered when a corrupted L runs over its next frame', async () => {
    const h = await listen();
    const t = await terminal(h.port);
    const longL = Buffer.from(HEARTBEAT);
    // L = 14 bytes of user data instead of 12: the frame "ends" inside the login after it
    longL.set([0x3a, 0x00, 0x3a, 0x00], 1);
    t.send(Buffer.concat([longL, LOGIN]));
    const [confirm] = await t.frames(1);
    expect(confirm!.bytes).toBe(LOGIN_CONFIRM);
  });

  it('gets no deny when its login cannot be looked up (master data unreachable): the link is closed for it to log in again', async () => {
    const h = await listen(5_000, true);
    const t = await terminal(h.port);
    t.send(LOGIN);
    await t.closed;
    expect(t.received).toHaveLength(0);
    expect(h.counters.deniedLogins).toBe(0);
  });

  it('is denied when its login carries the group bit in A3, even with a registered terminal number in A2', async () => {
    const h = await listen();
    const t = await terminal(h.port);
    const group = { ...TERMINAL, group: true };
    t.send(encodeGdw1376LinkCheck('login', group, 8));
    const [denied] = await t.frames(1);
    expect(denied!.frame).toMatchObject({ afn: 0x00, address: group });
    expect(denied!.frame.units[0]!.fn).toEqual([2]);
    await t.closed;
    expect(h.sessions[0]!.online).toBe(false);
    expect(h.counters).toMatchObject({ logins: 0, deniedLogins: 1 });
  });

  it('is dropped after the idle timeout when it sends nothing', async () => {
    const h = await listen(150);
    const t = await terminal(h.port);
    t.send(LOGIN);
    await t.frames(1);
    const started = performance.now();
    await t.closed;
    expect(performance.now() - started).toBeGreaterThanOrEqual(100);
  });

  it('is dropped after the idle timeout when all it sends is noise and frames with a wrong checksum', async () => {
    const h = await listen(150);
    const t = await terminal(h.port);
    const badCs = Buffer.from(LOGIN);
    badCs[18] = 0x00;
    let closed = false;
    void t.closed.then(() => (closed = true));
    for (let i = 0; i < 30 && !closed; i++) {
      t.send(i % 2 ? badCs : Buffer.from([0x00, 0x11, 0x68]));
      await pause(30);
    }
    expect(closed).toBe(true);
    expect(t.received).toHaveLength(0);
  });
});

describe('a logged-in link', () => {
  it('denies a login naming another terminal and answers no heartbeat of it; its own terminal stays online', async () => {
    const { h, t } = await loggedIn();
    const other = { ...TERMINAL, terminal: 2083 };
    t.send(encodeGdw1376LinkCheck('login', other, 3));
    t.send(encodeGdw1376LinkCheck('heartbeat', other, 4));
    t.send(encodeGdw1376LinkCheck('logout', other, 5));
    t.send(HEARTBEAT);
    const [, denied, heartbeat] = await t.frames(3);
    expect(denied!.frame).toMatchObject({ afn: 0x00, address: other, seq: { seq: 3 } });
    expect(denied!.frame.units[0]!.fn).toEqual([2]);
    expect(heartbeat!.bytes).toBe(HEARTBEAT_CONFIRM);
    await pause(50);
    expect(t.received).toHaveLength(3);
    expect(h.sessions[0]!.online).toBe(true);
    expect(h.counters).toMatchObject({ logins: 1, deniedLogins: 1, heartbeats: 1, logouts: 0 });
  });
});

describe('what the terminal sends unasked', () => {
  it('an AFN 0E event with CON set is confirmed (func 0, its RSEQ) and the session goes on', async () => {
    const { h, t } = await loggedIn();
    const event = encodeGdw1376Frame({
      control: { dir: 'up', prm: true, func: 4 },
      address: TERMINAL,
      afn: 0x0e,
      seq: { con: true, seq: 10 },
      units: [{ pn: [0], fn: [3], data: fromHex('00 00 00 01') }],
      ec: { important: 1, normal: 0 },
    });
    t.send(event);
    const [, confirm] = await t.frames(2);
    expect(confirm!.frame).toMatchObject({ afn: 0x00, control: { code: 0x00 }, seq: { seq: 10, con: false }, address: TERMINAL });
    t.send(HEARTBEAT);
    const [, , heartbeat] = await t.frames(3);
    expect(heartbeat!.bytes).toBe(HEARTBEAT_CONFIRM);
  });
});

describe('a daily frozen reply in several frames', () => {
  it('RSEQ counts up from PSEQ frame by frame: every frame goes to its own request, even with the next request in flight', async () => {
    const { h, t } = await loggedIn();
    const session = h.sessions[0]!;
    const day = '2026-01-14';
    const ask = (pns: number[]) => session.request((seq) => encodeDailyFrozenEnergyRequest({ address: session.address, seq, pns, date: day }), 2_000);
    const first = ask([1, 2]);
    const second = ask([3]);
    const [, r1, r2] = await t.frames(3);
    const reading = (pn: number) => ({ pn, date: day, readAt: '2026-01-15 00:01', registers: { total: `${pn}.0000`, tariffs: [] } });
    const envelope1 = replyEnvelopeFor(r1!.frame);
    const pseq1 = envelope1.seq.seq;
    // reply to the first request in two frames: RSEQ p, then p + 1 (the PSEQ of the second request)
    t.send(encodeDailyFrozenEnergyReply({ ...envelope1, seq: { seq: pseq1, fir: true, fin: false } }, [reading(1)]));
    t.send(encodeDailyFrozenEnergyReply({ ...envelope1, seq: { seq: (pseq1 + 1) % 16, fir: false, fin: true } }, [reading(2)]));
    t.send(encodeDailyFrozenEnergyReply(replyEnvelopeFor(r2!.frame), [reading(3)]));
    const pns = async (p: Promise<Gdw1376Frame[] | null>) => (await p)?.flatMap((f) => forwardEnergyReadings(f).map((r) => r.pn));
    expect(await pns(first)).toEqual([1, 2]);
    expect(await pns(second)).toEqual([3]);
    expect(h.counters.unmatchedReplies).toBe(0);
  });

  it('a point the terminal marks invalid (FE) is a gap of its own: the other points of the same frame still arrive', async () => {
    const { h, t } = await loggedIn();
    const session = h.sessions[0]!;
    const day = '2026-01-14';
    const pending = session.request((seq) => encodeDailyFrozenEnergyRequest({ address: session.address, seq, pns: [1, 2, 3], date: day }), 1_000);
    const [, request] = await t.frames(2);
    const reading = (pn: number) => ({ pn, date: day, readAt: '2026-01-15 00:01', registers: { total: `${pn}.0000`, tariffs: [] } });
    const reply = Buffer.from(encodeDailyFrozenEnergyReply(replyEnvelopeFor(request!.frame), [1, 2, 3].map(reading)));
    // pn 2's total (A.14 00 00 02 00 00) and its reading time become FE, the checksum is made good again
    const total = reply.indexOf(Buffer.from([0x00, 0x00, 0x02, 0x00, 0x00]));
    reply.fill(0xfe, total - 6, total - 1);
    reply.fill(0xfe, total, total + 5);
    reply[reply.length - 2] = sum8(reply, 6, reply.length - 2);
    t.send(reply);
    const frames = await pending;
    expect(frames?.flatMap((f) => forwardEnergyReadings(f)).map((r) => [r.pn, r.readAt, r.registers.total])).toEqual([
      [1, '2026-01-15 00:01', '1.0000'],
      [2, null, null],
      [3, '2026-01-15 00:01', '3.0000'],
    ]);
    expect(h.counters.frameErrors).toEqual({});
  });

  it('a reply that repeats RSEQ on every frame still completes its request', async () => {
    const { h, t } = await loggedIn();
    const session = h.sessions[0]!;
    const day = '2026-01-14';
    const pending = session.request((seq) => encodeDailyFrozenEnergyRequest({ address: session.address, seq, pns: [1, 2], date: day }), 2_000);
    const [, request] = await t.frames(2);
    const envelope = replyEnvelopeFor(decodeGdw1376Frame(fromHex(request!.bytes)));
    const reading = (pn: number) => ({ pn, date: day, readAt: null, registers: { total: '1.0000', tariffs: [] } });
    t.send(encodeDailyFrozenEnergyReply({ ...envelope, seq: { seq: envelope.seq.seq, fir: true, fin: false } }, [reading(1)]));
    t.send(encodeDailyFrozenEnergyReply({ ...envelope, seq: { seq: envelope.seq.seq, fir: false, fin: true } }, [reading(2)]));
    expect((await pending)?.length).toBe(2);
  });
});
