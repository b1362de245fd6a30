import { concatBytes } from './bcd.ts';
import { ProtocolError } from './errors.ts';
import { encodeDa, encodeDt, groupPns } from './gdw1376-ids.ts';
import {
  encodeGdw1376Frame,
  Gdw1376Afn,
  type Gdw1376Address,
  type Gdw1376EventCounter,
  type Gdw1376Frame,
  type Gdw1376Tp,
  type Gdw1376UnitInput,
} from './gdw1376.ts';
import {
  encodeForwardActiveBody,
  encodeTdD,
  encodeTransparentForwardBody,
  forwardActiveBodyLength,
  writeForwardActiveBody,
  type EnergyRegisters,
} from './gdw1376-data.ts';

/**
 * The exchanges the collection system runs over Q/GDW 1376.1: the terminal's login, logout and
 * heartbeat with the master's confirm, and the master's reads of current (AFN 0C F129) and
 * daily frozen (AFN 0D F161) forward active energy with the terminal's replies. Both sides are
 * here so the concentrator simulator speaks exactly what the master decodes.
 */

export type LinkCheck = 'login' | 'logout' | 'heartbeat';
const LINK_CHECK_FN: Record<LinkCheck, number> = { login: 1, logout: 2, heartbeat: 3 };

const FN_CURRENT_FORWARD_ACTIVE = 129;
const FN_DAILY_FORWARD_ACTIVE = 161;
const FUNC_LINK_TEST = 9;
const FUNC_CONFIRM = 0;
/** The answer to a link test (func 9): terminals expect the confirm of a login or heartbeat with C = 0x0B. */
const FUNC_LINK_STATUS = 11;
const FUNC_DENY = 9;
const FUNC_USER_DATA_RESPONSE = 8;
/**
 * "Request class-2 data". Masters in the field (and the conformance samples) send AFN 0C and
 * 0D with C = 0x4B; func 10 is for class-1 (event) data.
 */
const FUNC_REQUEST_DATA = 11;
/** "Request class-1 data": how masters send AFN 10 (data forwarding). */
const FUNC_REQUEST_CLASS1 = 10;
const FN_TRANSPARENT_FORWARD = 1;
/** The terminal's first RS-485 meter port; 8 data bits, even parity, 1 stop bit at 2400 bd (DL/T 645-2007). */
export const RS485_PORT = 2;
export const DLT645_2400_8E1 = 0x6b;

const P0 = [0];

/** Terminal → master AFN 02 F1/F2/F3. CON is set: the master must confirm. */
export function encodeGdw1376LinkCheck(kind: LinkCheck, address: Gdw1376Address, seq: number): Uint8Array {
  return encodeGdw1376Frame({
    control: { dir: 'up', prm: true, func: FUNC_LINK_TEST },
    address,
    afn: Gdw1376Afn.linkCheck,
    seq: { con: true, seq },
    units: [{ pn: P0, fn: [LINK_CHECK_FN[kind]] }],
  });
}

/** Which link check a received frame is, or null when it is none. */
export function gdw1376LinkCheckKind(frame: Gdw1376Frame): LinkCheck | null {
  if (frame.afn !== Gdw1376Afn.linkCheck || frame.control.dir !== 'up') return null;
  const fn = frame.units[0]?.fn[0];
  const entry = Object.entries(LINK_CHECK_FN).find(([, n]) => n === fn);
  return entry ? (entry[0] as LinkCheck) : null;
}

function answer(received: Gdw1376Frame, func: number, units: Gdw1376UnitInput[]): Uint8Array {
  return encodeGdw1376Frame({
    control: { dir: received.control.dir === 'up' ? 'down' : 'up', prm: false, func },
    // Same A1/A2/A3: a frame the terminal starts carries MSA 0, and so does the master's answer.
    address: received.address,
    afn: Gdw1376Afn.confirm,
    seq: { seq: received.seq.seq },
    units,
    // the responder carries the initiator's time label back (as a terminal does in its replies)
    tp: received.tp ?? undefined,
  });
}

/**
 * AFN 00 confirm of a received frame (e.g. a login or heartbeat): same address, RSEQ = the
 * received PSEQ. `perItem` answers with F3 (confirm each DA/DT), which some terminals expect
 * instead of F1 "all confirmed".
 */
export function encodeGdw1376Confirm(received: Gdw1376Frame, options: { perItem?: boolean } = {}): Uint8Array {
  const func = received.control.prm && received.control.func === FUNC_LINK_TEST ? FUNC_LINK_STATUS : FUNC_CONFIRM;
  if (!options.perItem) return answer(received, func, [{ pn: P0, fn: [1] }]);
  const items = received.units.map((u) => concatBytes([encodeDa(u.pn), encodeDt(u.fn), Uint8Array.of(0)]));
  if (items.length === 0) throw new ProtocolError('GDW1376_BAD_DATA', 'a per-item confirm needs data units to confirm');
  return answer(received, func, [{ pn: P0, fn: [3], data: concatBytes([Uint8Array.of(received.afn), ...items]) }]);
}

/** AFN 00 F2 "all denied", e.g. a terminal with no data for the requested day. */
export function encodeGdw1376Deny(received: Gdw1376Frame): Uint8Array {
  return answer(received, FUNC_DENY, [{ pn: P0, fn: [2] }]);
}

export interface MasterRequest {
  readonly address: Gdw1376Address;
  /** PSEQ 0-15; the reply carries it back as RSEQ. */
  readonly seq: number;
  readonly tp?: Gdw1376Tp | undefined;
  readonly pns: readonly number[];
}

function request(req: MasterRequest, afn: number, fn: number, perPair: Uint8Array): Uint8Array {
  if (req.pns.length === 0) throw new ProtocolError('GDW1376_BAD_DATA_UNIT_ID', 'a request needs at least one pn');
  return encodeGdw1376Frame({
    control: { dir: 'down', prm: true, func: FUNC_REQUEST_DATA },
    address: req.address,
    afn,
    seq: { seq: req.seq },
    // Up to eight measuring points share a unit; the data repeats for each (pn, Fn) pair.
    units: groupPns(req.pns).map((pn) => ({ pn, fn: [fn], data: concatBytes(pn.map(() => perPair)) })),
    tp: req.tp,
  });
}

/** Master → terminal AFN 0C F129: current forward active energy of the given measuring points. */
export function encodeCurrentForwardEnergyRequest(req: MasterRequest): Uint8Array {
  return request(req, Gdw1376Afn.currentData, FN_CURRENT_FORWARD_ACTIVE, new Uint8Array(0));
}

/** Master → terminal AFN 0D F161: the day's frozen forward active energy ('YYYY-MM-DD'). */
export function encodeDailyFrozenEnergyRequest(req: MasterRequest & { readonly date: string }): Uint8Array {
  return request(req, Gdw1376Afn.historicalData, FN_DAILY_FORWARD_ACTIVE, encodeTdD(req.date));
}

/** How a terminal addresses its reply: the request's address, RSEQ and (echoed) Tp. */
export interface ReplyEnvelope {
  readonly address: Gdw1376Address;
  readonly seq: { readonly seq: number; readonly fir?: boolean; readonly fin?: boolean };
  readonly tp?: Gdw1376Tp | undefined;
  /** Set when the terminal has events waiting (ACD). */
  readonly ec?: Gdw1376EventCounter | undefined;
}

export function replyEnvelopeFor(request: Gdw1376Frame): ReplyEnvelope {
  return { address: request.address, seq: { seq: request.seq.seq }, ...(request.tp ? { tp: request.tp } : {}) };
}

export interface ForwardEnergyReading {
  readonly pn: number;
  /** Terminal's meter-reading time 'YYYY-MM-DD hh:mm', null if never read. */
  readonly readAt: string | null;
  /** kWh, 4 decimals at most; null registers go out as EE (no data). */
  readonly registers: EnergyRegisters;
}

export interface DailyFrozenEnergyReading extends ForwardEnergyReading {
  /** The frozen day, 'YYYY-MM-DD'. */
  readonly date: string;
}

function reply(envelope: ReplyEnvelope, afn: number, units: Gdw1376UnitInput[]): Uint8Array {
  if (units.length === 0) throw new ProtocolError('GDW1376_BAD_DATA', 'a reply needs at least one reading');
  return encodeGdw1376Frame({
    control: { dir: 'up', prm: false, func: FUNC_USER_DATA_RESPONSE },
    address: envelope.address,
    afn,
    seq: envelope.seq,
    units,
    ec: envelope.ec,
    tp: envelope.tp,
  });
}

/** Terminal → master AFN 0C F129 reply, one data unit per measuring point. */
export function encodeCurrentForwardEnergyReply(
  envelope: ReplyEnvelope,
  readings: readonly ForwardEnergyReading[],
): Uint8Array {
  return reply(
    envelope,
    Gdw1376Afn.currentData,
    readings.map((r) => ({ pn: [r.pn], fn: [FN_CURRENT_FORWARD_ACTIVE], data: encodeForwardActiveBody(r.readAt, r.registers) })),
  );
}

/** Terminal → master AFN 0D F161 reply, one data unit per measuring point. */
export function encodeDailyFrozenEnergyReply(
  envelope: ReplyEnvelope,
  readings: readonly DailyFrozenEnergyReading[],
): Uint8Array {
  const tdd = new Map<string, Uint8Array>();
  return reply(
    envelope,
    Gdw1376Afn.historicalData,
    readings.map((r) => {
      let td = tdd.get(r.date);
      if (!td) tdd.set(r.date, (td = encodeTdD(r.date)));
      const data = new Uint8Array(td.length + forwardActiveBodyLength(r.registers));
      for (let i = 0; i < td.length; i++) data[i] = td[i]!;
      writeForwardActiveBody(data, td.length, r.readAt, r.registers);
      return { pn: [r.pn], fn: [FN_DAILY_FORWARD_ACTIVE], data };
    }),
  );
}

/** The forward active energy readings (F129 or F161) in a terminal's reply, in wire order. */
export function forwardEnergyReadings(frame: Gdw1376Frame): (ForwardEnergyReading & { readonly date: string | null })[] {
  const out: (ForwardEnergyReading & { readonly date: string | null })[] = [];
  for (const unit of frame.units) {
    for (const item of unit.items) {
      const v = item.value;
      if (v.kind === 'forwardActiveEnergy') out.push({ pn: item.pn, date: v.date, readAt: v.readAt, registers: v.registers });
    }
  }
  return out;
}

/** Master → terminal AFN 10 F1: hand a frame (e.g. DL/T 645 relay control) to a meter behind the terminal. */
export function encodeTransparentForwardRequest(req: {
  readonly address: Gdw1376Address;
  readonly seq: number;
  readonly content: Uint8Array;
  readonly port?: number;
  readonly control?: number;
  readonly frameTimeoutMs?: number;
  readonly byteTimeoutMs?: number;
}): Uint8Array {
  return encodeGdw1376Frame({
    control: { dir: 'down', prm: true, func: FUNC_REQUEST_CLASS1 },
    address: req.address,
    afn: Gdw1376Afn.forward,
    seq: { seq: req.seq },
    units: [{
      pn: P0, fn: [FN_TRANSPARENT_FORWARD],
      data: encodeTransparentForwardBody({
        dir: 'down', port: req.port ?? RS485_PORT, control: req.control ?? DLT645_2400_8E1,
        frameTimeoutMs: req.frameTimeoutMs ?? 5000, byteTimeoutMs: req.byteTimeoutMs ?? 500, content: req.content,
      }),
    }],
  });
}

/** Terminal → master AFN 10 F1 reply: what the meter answered (empty content when it did not). */
export function encodeTransparentForwardReply(envelope: ReplyEnvelope, f: { readonly port: number; readonly content: Uint8Array }): Uint8Array {
  return reply(envelope, Gdw1376Afn.forward, [{ pn: P0, fn: [FN_TRANSPARENT_FORWARD], data: encodeTransparentForwardBody({ dir: 'up', ...f }) }]);
}

/** The forwarded frame an AFN 10 F1 frame carries (either direction), or null when it carries none. */
export function transparentForwardOf(frame: Gdw1376Frame): { port: number; content: Uint8Array } | null {
  if (frame.afn !== Gdw1376Afn.forward) return null;
  for (const unit of frame.units) {
    for (const item of unit.items) if (item.value.kind === 'transparentForward') return { port: item.value.port, content: item.value.content };
  }
  return null;
}
