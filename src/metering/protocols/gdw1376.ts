import { bcdByteToNumber, ByteReader, concatBytes, hex2, numberToBcdByte, sum8 } from './bcd.ts';
import { decodeDayTime, encodeDayTime, type DayTime } from './calendar.ts';
import { ProtocolError } from './errors.ts';
import { decodeFnData, type Gdw1376Value } from './gdw1376-data.ts';
import { decodeDataUnitId, encodeDa, encodeDt } from './gdw1376-ids.ts';

/**
 * Q/GDW 1376.1 frames between master station and concentrator/terminal:
 * 68 L L 68 C A(5) AFN SEQ {DA DT data}* [PW | EC] [Tp] CS 16, L = (user-data length << 2) | 0b10.
 */

const PROTOCOL_ID = 0b10;
const MAX_USER_DATA = 0x3fff;
const HEAD = 6;
const FIXED_USER_DATA = 8;
const PW_LENGTH = 16;
const EC_LENGTH = 2;
const TP_LENGTH = 6;
/** AFNs whose downlink frames carry the 16-byte message authentication code PW. */
const AFNS_WITH_PW = new Set([0x01, 0x04, 0x05, 0x06, 0x0f, 0x10]);

export const Gdw1376Afn = {
  confirm: 0x00,
  reset: 0x01,
  linkCheck: 0x02,
  setParameters: 0x04,
  control: 0x05,
  queryParameters: 0x0a,
  currentData: 0x0c,
  historicalData: 0x0d,
  eventData: 0x0e,
  forward: 0x10,
} as const;

export interface Gdw1376Control {
  readonly code: number;
  /** DIR: 'down' master → terminal, 'up' terminal → master. */
  readonly dir: 'down' | 'up';
  /** PRM: true when this station started the exchange. */
  readonly prm: boolean;
  /** FCB when down; ACD when up (the terminal has events waiting, EC present). */
  readonly fcbAcd: boolean;
  readonly fcv: boolean;
  readonly func: number;
}

export interface Gdw1376Address {
  /** A1, administrative area code: 4 BCD digits, e.g. "0171". */
  readonly areaCode: string;
  /** A2, terminal address 0..65535 (0xFFFF with group = broadcast). */
  readonly terminal: number;
  /** A3 bits 1-7: master station address MSA (0 on frames the terminal starts). */
  readonly msa: number;
  /** A3 bit 0: A2 is a group address. */
  readonly group: boolean;
}

export interface Gdw1376Seq {
  /** TpV: a Tp time tag is appended. */
  readonly tpv: boolean;
  readonly fir: boolean;
  readonly fin: boolean;
  /** CON: the receiver must confirm. */
  readonly con: boolean;
  /** PSEQ on a request, RSEQ on its response, 0-15. */
  readonly seq: number;
}

export interface Gdw1376Tp {
  /** PFC: the initiator's frame counter. */
  readonly pfc: number;
  /** Null when the four bytes are no valid time (a terminal whose clock was reset sends day 00): kept in `sentAtBytes`. */
  readonly sentAt: DayTime | null;
  /** The time bytes as received when they are no valid time, so a confirm echoes them unchanged. */
  readonly sentAtBytes?: Uint8Array;
  /** The receiver drops the frame when older than this; 0 = no limit. */
  readonly delayMinutes: number;
}

export interface Gdw1376EventCounter {
  readonly important: number;
  readonly normal: number;
}

export interface Gdw1376Item {
  readonly pn: number;
  readonly fn: number;
  readonly value: Gdw1376Value;
}

export interface Gdw1376DataUnit {
  /** Measuring points p1..p2040 (p0 = the terminal itself). */
  readonly pn: number[];
  readonly fn: number[];
  /** Decoded pairs in wire order (pn outer, Fn inner). */
  readonly items: Gdw1376Item[];
  /** From the first pair with an unknown layout to the end of the data: its length is unknowable. */
  readonly raw: Uint8Array | null;
}

export interface Gdw1376Frame {
  readonly control: Gdw1376Control;
  readonly address: Gdw1376Address;
  readonly afn: number;
  readonly seq: Gdw1376Seq;
  readonly units: Gdw1376DataUnit[];
  /** Bytes after the last unit that do not form a data unit (seen from non-standard senders). */
  readonly trailing: Uint8Array;
  readonly pw: Uint8Array | null;
  readonly ec: Gdw1376EventCounter | null;
  readonly tp: Gdw1376Tp | null;
  readonly userDataLength: number;
  readonly checksum: number;
}

function decodeControl(code: number): Gdw1376Control {
  return {
    code,
    dir: code & 0x80 ? 'up' : 'down',
    prm: (code & 0x40) !== 0,
    fcbAcd: (code & 0x20) !== 0,
    fcv: (code & 0x10) !== 0,
    func: code & 0x0f,
  };
}

function decodeAddress(r: ByteReader): Gdw1376Address {
  const a1 = r.take(2, 'A1');
  const areaCode =
    String(bcdByteToNumber(a1[1] as number, 'A1 area code')).padStart(2, '0') +
    String(bcdByteToNumber(a1[0] as number, 'A1 area code')).padStart(2, '0');
  const terminal = r.u16le('A2');
  const a3 = r.u8('A3');
  return { areaCode, terminal, msa: a3 >> 1, group: (a3 & 1) !== 0 };
}

function decodeSeq(code: number): Gdw1376Seq {
  return {
    tpv: (code & 0x80) !== 0,
    fir: (code & 0x40) !== 0,
    fin: (code & 0x20) !== 0,
    con: (code & 0x10) !== 0,
    seq: code & 0x0f,
  };
}

/**
 * A Tp whose send time is not a valid time still makes a good frame: the time only tags the frame, and
 * failing on it would shut out a terminal whose clock was reset (it could never log in).
 */
function decodeTp(bytes: Uint8Array): Gdw1376Tp {
  const time = bytes.subarray(1, 5);
  let sentAt: DayTime | null = null;
  try {
    sentAt = decodeDayTime(time);
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
  }
  return {
    pfc: bytes[0] as number,
    sentAt,
    ...(sentAt ? {} : { sentAtBytes: Uint8Array.from(time) }),
    delayMinutes: bytes[5] as number,
  };
}

function encodeTpTime(tp: Gdw1376Tp): Uint8Array {
  if (tp.sentAt) return encodeDayTime(tp.sentAt);
  if (tp.sentAtBytes?.length === 4) return tp.sentAtBytes;
  throw new ProtocolError('GDW1376_BAD_DATA', 'a Tp needs its send time, or the 4 bytes received');
}

function decodeUnits(bytes: Uint8Array, start: number, end: number, afn: number, dir: 'down' | 'up') {
  const units: Gdw1376DataUnit[] = [];
  const r = new ByteReader(bytes, 'GDW1376_BAD_DATA', start, end);
  const ctx = { afn, dir };
  while (r.remaining >= 4) {
    const p = r.position;
    const id = decodeDataUnitId(bytes[p] as number, bytes[p + 1] as number, bytes[p + 2] as number, bytes[p + 3] as number);
    if (!id) break;
    r.take(4, 'DA DT');
    const items: Gdw1376Item[] = [];
    let raw: Uint8Array | null = null;
    for (const pn of id.pn) {
      for (const fn of id.fn) {
        if (raw) break;
        const value = decodeFnData(ctx, fn, r);
        if (value) items.push({ pn, fn, value });
        else raw = r.rest().slice();
      }
    }
    units.push({ pn: id.pn, fn: id.fn, items, raw });
    if (raw) break;
  }
  return { units, trailing: r.rest().slice() };
}

export function decodeGdw1376Frame(bytes: Uint8Array): Gdw1376Frame {
  if (bytes.length < HEAD) throw new ProtocolError('GDW1376_TRUNCATED', `${bytes.length} bytes cannot hold a frame head`);
  if (bytes[0] !== 0x68 || bytes[5] !== 0x68) {
    throw new ProtocolError('GDW1376_BAD_START', 'a Q/GDW 1376.1 frame starts 68 L L 68');
  }
  const l1 = (bytes[1] as number) | ((bytes[2] as number) << 8);
  const l2 = (bytes[3] as number) | ((bytes[4] as number) << 8);
  if (l1 !== l2) throw new ProtocolError('GDW1376_BAD_LENGTH', `the two L fields differ (0x${l1.toString(16)}, 0x${l2.toString(16)})`);
  if ((l1 & 0b11) !== PROTOCOL_ID) {
    throw new ProtocolError('GDW1376_BAD_LENGTH', `L protocol bits are ${l1 & 0b11}, 2 marks Q/GDW 1376.1`);
  }
  const userDataLength = l1 >> 2;
  if (userDataLength < FIXED_USER_DATA) {
    throw new ProtocolError('GDW1376_BAD_LENGTH', `user-data length ${userDataLength} is below the ${FIXED_USER_DATA}-byte minimum`);
  }
  const total = HEAD + userDataLength + 2;
  if (bytes.length < total) throw new ProtocolError('GDW1376_TRUNCATED', `L needs ${total} bytes, only ${bytes.length} present`);
  if (bytes.length > total) throw new ProtocolError('GDW1376_BAD_LENGTH', `${bytes.length - total} byte(s) after the frame end`);
  if (bytes[total - 1] !== 0x16) throw new ProtocolError('GDW1376_BAD_END', `last byte is 0x${hex2(bytes[total - 1] ?? 0)}, not 0x16`);
  const checksum = bytes[total - 2] as number;
  const computed = sum8(bytes, HEAD, total - 2);
  if (checksum !== computed) {
    throw new ProtocolError('GDW1376_BAD_CHECKSUM', `checksum error: frame has 0x${hex2(checksum)}, computed 0x${hex2(computed)}`);
  }

  const r = new ByteReader(bytes, 'GDW1376_TRUNCATED', HEAD, total - 2);
  const control = decodeControl(r.u8('C'));
  const address = decodeAddress(r);
  const afn = r.u8('AFN');
  const seq = decodeSeq(r.u8('SEQ'));

  // Aux fields sit at the end in the order [PW | EC] [Tp], so peel them off from the back.
  let auxStart = total - 2;
  const takeAux = (present: boolean, length: number): Uint8Array | null => {
    if (!present) return null;
    auxStart -= length;
    return bytes.slice(Math.max(auxStart, 0), auxStart + length);
  };
  const tpBytes = takeAux(seq.tpv, TP_LENGTH);
  const ecBytes = takeAux(control.dir === 'up' && control.fcbAcd, EC_LENGTH);
  const pw = takeAux(control.dir === 'down' && AFNS_WITH_PW.has(afn), PW_LENGTH);
  if (auxStart < r.position) {
    throw new ProtocolError('GDW1376_BAD_LENGTH', `user data is too short for its ${total - 2 - auxStart}-byte aux field`);
  }
  const { units, trailing } = decodeUnits(bytes, r.position, auxStart, afn, control.dir);
  return {
    control,
    address,
    afn,
    seq,
    units,
    trailing,
    pw,
    ec: ecBytes ? { important: ecBytes[0] as number, normal: ecBytes[1] as number } : null,
    tp: tpBytes ? decodeTp(tpBytes) : null,
    userDataLength,
    checksum,
  };
}

export interface Gdw1376UnitInput {
  readonly pn: readonly number[];
  readonly fn: readonly number[];
  /** The data of every (pn, Fn) pair, already concatenated in wire order. */
  readonly data?: Uint8Array;
}

export interface Gdw1376FrameInput {
  /** ACD is set from `ec`; FCB/FCV only matter on downlink requests. */
  readonly control: { dir: 'down' | 'up'; prm: boolean; fcb?: boolean; fcv?: boolean; func: number };
  readonly address: Gdw1376Address;
  readonly afn: number;
  /** TpV is set from `tp`. */
  readonly seq: { fir?: boolean; fin?: boolean; con?: boolean; seq: number };
  readonly units: readonly Gdw1376UnitInput[];
  /** Downlink AFNs 01/04/05/06/0F/10 always carry PW; zeros when the link has no authentication. */
  readonly pw?: Uint8Array | undefined;
  readonly ec?: Gdw1376EventCounter | undefined;
  readonly tp?: Gdw1376Tp | undefined;
}

function byte(value: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new ProtocolError('GDW1376_BAD_DATA', `${what} ${value} is out of range 0..${max}`);
  }
  return value;
}

function encodeAddress(a: Gdw1376Address): Uint8Array {
  if (!/^\d{4}$/.test(a.areaCode)) throw new ProtocolError('GDW1376_BAD_ADDRESS', `area code "${a.areaCode}" must be 4 digits`);
  if (!Number.isInteger(a.terminal) || a.terminal < 0 || a.terminal > 0xffff) {
    throw new ProtocolError('GDW1376_BAD_ADDRESS', `terminal address ${a.terminal} is out of range 0..65535`);
  }
  if (!Number.isInteger(a.msa) || a.msa < 0 || a.msa > 127) {
    throw new ProtocolError('GDW1376_BAD_ADDRESS', `master station address ${a.msa} is out of range 0..127`);
  }
  return Uint8Array.of(
    numberToBcdByte(Number(a.areaCode.slice(2))),
    numberToBcdByte(Number(a.areaCode.slice(0, 2))),
    a.terminal & 0xff,
    a.terminal >> 8,
    (a.msa << 1) | (a.group ? 1 : 0),
  );
}

export function encodeGdw1376Frame(input: Gdw1376FrameInput): Uint8Array {
  const { control, seq, tp, ec } = input;
  const up = control.dir === 'up';
  if (ec && !up) throw new ProtocolError('GDW1376_BAD_DATA', 'only the terminal sends an event counter');
  const needsPw = !up && AFNS_WITH_PW.has(input.afn);
  if (input.pw && (!needsPw || input.pw.length !== PW_LENGTH)) {
    throw new ProtocolError('GDW1376_BAD_DATA', `PW is ${PW_LENGTH} bytes and only on downlink AFN 01/04/05/06/0F/10`);
  }
  const c =
    (up ? 0x80 : 0) |
    (control.prm ? 0x40 : 0) |
    ((up ? ec !== undefined : control.fcb) ? 0x20 : 0) |
    (control.fcv ? 0x10 : 0) |
    byte(control.func, 0x0f, 'function code');
  const seqByte =
    (tp ? 0x80 : 0) | (seq.fir ?? true ? 0x40 : 0) | (seq.fin ?? true ? 0x20 : 0) | (seq.con ? 0x10 : 0) | byte(seq.seq, 0x0f, 'SEQ');
  const head = concatBytes([Uint8Array.of(c), encodeAddress(input.address), Uint8Array.of(byte(input.afn, 0xff, 'AFN'), seqByte)]);
  // DA and DT of every unit, checked before anything is laid out
  const ids = input.units.map((u) => [encodeDa(u.pn), encodeDt(u.fn)] as const);
  const aux = concatBytes([
    needsPw ? (input.pw ?? new Uint8Array(PW_LENGTH)) : new Uint8Array(0),
    ec ? Uint8Array.of(byte(ec.important, 0xff, 'EC1'), byte(ec.normal, 0xff, 'EC2')) : new Uint8Array(0),
    tp
      ? concatBytes([Uint8Array.of(byte(tp.pfc, 0xff, 'PFC')), encodeTpTime(tp), Uint8Array.of(byte(tp.delayMinutes, 0xff, 'Tp delay'))])
      : new Uint8Array(0),
  ]);
  let bodyLength = head.length + aux.length;
  for (const u of input.units) bodyLength += 4 + (u.data?.length ?? 0);
  if (bodyLength > MAX_USER_DATA) throw new ProtocolError('GDW1376_BAD_LENGTH', `user data of ${bodyLength} bytes exceeds L`);
  // one buffer: 68 L L 68, the user data written in place, CS 16
  const out = new Uint8Array(HEAD + bodyLength + 2);
  const l = (bodyLength << 2) | PROTOCOL_ID;
  out[0] = 0x68;
  out[1] = out[3] = l & 0xff;
  out[2] = out[4] = l >> 8;
  out[5] = 0x68;
  let o = HEAD;
  for (let i = 0; i < head.length; i++) out[o++] = head[i]!;
  input.units.forEach((u, i) => {
    const [da, dt] = ids[i]!;
    out[o++] = da[0]!;
    out[o++] = da[1]!;
    out[o++] = dt[0]!;
    out[o++] = dt[1]!;
    const data = u.data;
    if (data && data.length > 64) {
      out.set(data, o);
      o += data.length;
    } else if (data) {
      for (let k = 0; k < data.length; k++) out[o++] = data[k]!;
    }
  });
  out.set(aux, o);
  o += aux.length;
  out[o++] = sum8(out, HEAD, HEAD + bodyLength);
  out[o] = 0x16;
  return out;
}

export interface Gdw1376ScanResult {
  readonly frames: Gdw1376Frame[];
  /** Unconsumed tail (a frame still arriving); prepend it to the next chunk. */
  readonly rest: Uint8Array;
  readonly discarded: number;
}

/** Length of the valid frame starting at i, 0 when more bytes are needed, -1 when it is not one. */
function probeFrame(buffer: Uint8Array, i: number, maxUserData: number): number {
  if (buffer.length - i < HEAD) return 0;
  const l1 = (buffer[i + 1] as number) | ((buffer[i + 2] as number) << 8);
  const l2 = (buffer[i + 3] as number) | ((buffer[i + 4] as number) << 8);
  const userDataLength = l1 >> 2;
  const plausible =
    buffer[i + 5] === 0x68 &&
    l1 === l2 &&
    (l1 & 0b11) === PROTOCOL_ID &&
    userDataLength >= FIXED_USER_DATA &&
    userDataLength <= maxUserData;
  if (!plausible) return -1;
  const total = HEAD + userDataLength + 2;
  if (buffer.length - i < total) return 0;
  const valid = buffer[i + total - 1] === 0x16 && buffer[i + total - 2] === sum8(buffer, i + HEAD, i + total - 2);
  return valid ? total : -1;
}

/**
 * Pulls complete, checksum-valid frames out of a TCP stream, skipping garbage byte by byte. As
 * in the DL/T 645 scanner, a half-received candidate is abandoned when a complete frame follows.
 */
export function scanGdw1376Frames(buffer: Uint8Array, maxUserData = MAX_USER_DATA): Gdw1376ScanResult {
  const frames: Gdw1376Frame[] = [];
  let discarded = 0;
  let i = 0;
  while (i < buffer.length) {
    const length = buffer[i] === 0x68 ? probeFrame(buffer, i, maxUserData) : -1;
    if (length > 0) {
      try {
        frames.push(decodeGdw1376Frame(buffer.subarray(i, i + length)));
        i += length;
        continue;
      } catch (error) {
        // A checksum-valid frame with a bad body (e.g. non-BCD A1) is dropped like noise.
        if (!(error instanceof ProtocolError)) throw error;
      }
    }
    if (length !== 0) {
      discarded++;
      i++;
      continue;
    }
    let next = i + 1;
    while (next < buffer.length && !(buffer[next] === 0x68 && probeFrame(buffer, next, maxUserData) > 0)) next++;
    if (next >= buffer.length) break;
    discarded += next - i;
    i = next;
  }
  return { frames, rest: buffer.slice(i), discarded };
}

/** Every decoded (pn, Fn, value) of a frame, in wire order. */
export function gdw1376Items(frame: Gdw1376Frame): Gdw1376Item[] {
  return frame.units.flatMap((u) => u.items);
}
