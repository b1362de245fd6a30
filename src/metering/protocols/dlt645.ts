import { hex2, sum8, toHex } from './bcd.ts';
import { looksLikeDlt698 } from './dlt698.ts';
import { ProtocolError } from './errors.ts';

/**
 * DL/T 645-2007 link frames: [FE×n] 68 A0..A5 68 C L DATA CS 16, address low byte first, every
 * data byte +0x33 on the wire, CS = sum mod 256 from the first 68 to the last data byte.
 * This file only frames; what the data means is in dlt645-messages.ts.
 */

/** The standard caps a read reply at 200 data bytes; anything longer is garbage or not 645. */
export const DLT645_MAX_DATA_LENGTH = 200;
const HEADER_LENGTH = 10;
const OVERHEAD = 12;
const WAKE_UP = 0xfe;

/** Function codes (control bits D4..D0). */
export const Dlt645Function = {
  broadcastTime: 0x08,
  read: 0x11,
  readFollowUp: 0x12,
  readAddress: 0x13,
  write: 0x14,
  writeAddress: 0x15,
  freeze: 0x16,
  changeBaudRate: 0x17,
  changePassword: 0x18,
  clearDemand: 0x19,
  clearMeter: 0x1a,
  clearEvents: 0x1b,
  relayControl: 0x1c,
} as const;

export interface Dlt645Control {
  readonly code: number;
  /** D7: the meter (slave) is answering. */
  readonly fromMeter: boolean;
  /** D6: the meter answers with an error (ERR byte follows). */
  readonly abnormal: boolean;
  /** D5: more data follows; read it with function 0x12. */
  readonly hasFollowUp: boolean;
  /** D4..D0. */
  readonly func: number;
}

export function decodeDlt645Control(code: number): Dlt645Control {
  return {
    code,
    fromMeter: (code & 0x80) !== 0,
    abnormal: (code & 0x40) !== 0,
    hasFollowUp: (code & 0x20) !== 0,
    func: code & 0x1f,
  };
}

export function encodeDlt645Control(control: {
  fromMeter: boolean;
  abnormal?: boolean;
  hasFollowUp?: boolean;
  func: number;
}): number {
  if (!Number.isInteger(control.func) || control.func < 0 || control.func > 0x1f) {
    throw new ProtocolError('DLT645_BAD_DATA', `function code ${control.func} does not fit 5 bits`);
  }
  return (
    (control.fromMeter ? 0x80 : 0) |
    (control.abnormal ? 0x40 : 0) |
    (control.hasFollowUp ? 0x20 : 0) |
    control.func
  );
}

export interface Dlt645Frame {
  /** Display order, 12 characters; "AAAAAAAAAAAA" is the wildcard, "999999999999" broadcast. */
  readonly address: string;
  readonly control: Dlt645Control;
  /** The data field with 0x33 already removed. */
  readonly data: Uint8Array;
  readonly checksum: number;
  /** Number of FE wake-up bytes in front of the frame. */
  readonly preamble: number;
}

/** Addresses use BCD digits, with A as the per-digit wildcard of the standard. */
export function normaliseDlt645Address(address: string): string {
  const upper = address.toUpperCase();
  if (!/^[0-9A]{12}$/.test(upper)) {
    throw new ProtocolError('DLT645_BAD_ADDRESS', `meter address "${address}" must be 12 digits (A = wildcard)`);
  }
  return upper;
}

export function dlt645AddressToWire(address: string): Uint8Array {
  const display = normaliseDlt645Address(address);
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) out[i] = parseInt(display.slice(10 - 2 * i, 12 - 2 * i), 16);
  return out;
}

export function dlt645AddressFromWire(bytes: Uint8Array): string {
  return toHex(bytes.slice().reverse(), '');
}

function countPreamble(bytes: Uint8Array): number {
  let n = 0;
  while (n < bytes.length && bytes[n] === WAKE_UP) n++;
  return n;
}

/** Decodes exactly one frame (optionally preceded by FE bytes); anything else is a ProtocolError. */
export function decodeDlt645Frame(bytes: Uint8Array): Dlt645Frame {
  const p = countPreamble(bytes);
  const available = bytes.length - p;
  if (available < OVERHEAD) {
    throw new ProtocolError('DLT645_TRUNCATED', `a frame has at least ${OVERHEAD} bytes, got ${available}`);
  }
  if (bytes[p] !== 0x68) throw new ProtocolError('DLT645_BAD_START', `first byte 0x${hex2(bytes[p] ?? 0)} is not 0x68`);
  if (bytes[p + 7] !== 0x68) {
    if (looksLikeDlt698(bytes)) {
      throw new ProtocolError('DLT645_IS_DLT698', 'this is a DL/T 698.45 frame, not DL/T 645; decode it with decodeDlt698Frame');
    }
    throw new ProtocolError('DLT645_BAD_START', `byte 7 is 0x${hex2(bytes[p + 7] ?? 0)}, the second 0x68 is missing`);
  }
  const dataLength = bytes[p + 9] as number;
  if (dataLength > DLT645_MAX_DATA_LENGTH) {
    throw new ProtocolError('DLT645_BAD_LENGTH', `L=${dataLength} exceeds the ${DLT645_MAX_DATA_LENGTH}-byte limit`);
  }
  const total = OVERHEAD + dataLength;
  if (available < total) {
    throw new ProtocolError('DLT645_TRUNCATED', `L=${dataLength} needs ${total} bytes, only ${available} present`);
  }
  const end = p + total;
  if (bytes[end - 1] !== 0x16) {
    // The 16 at the very end of the buffer means the frame is complete but L lies about it.
    const code = bytes[bytes.length - 1] === 0x16 && available !== total ? 'DLT645_BAD_LENGTH' : 'DLT645_BAD_END';
    throw new ProtocolError(code, `byte at the end position is 0x${hex2(bytes[end - 1] ?? 0)}, not 0x16 (L=${dataLength})`);
  }
  if (available > total) {
    throw new ProtocolError('DLT645_BAD_LENGTH', `${available - total} byte(s) after the frame end`);
  }
  const checksum = bytes[end - 2] as number;
  const computed = sum8(bytes, p, end - 2);
  if (checksum !== computed) {
    throw new ProtocolError(
      'DLT645_BAD_CHECKSUM',
      `checksum error: frame has 0x${hex2(checksum)}, computed 0x${hex2(computed)}`,
    );
  }
  const data = bytes.slice(p + HEADER_LENGTH, end - 2).map((b) => (b - 0x33) & 0xff);
  return {
    address: dlt645AddressFromWire(bytes.subarray(p + 1, p + 7)),
    control: decodeDlt645Control(bytes[p + 8] as number),
    data,
    checksum,
    preamble: p,
  };
}

export interface Dlt645FrameInput {
  readonly address: string;
  readonly control: number;
  /** Plain data; the encoder adds 0x33 to each byte. */
  readonly data?: Uint8Array;
  /** FE wake-up bytes to put in front (0-4 in practice). */
  readonly preamble?: number | undefined;
}

export function encodeDlt645Frame(input: Dlt645FrameInput): Uint8Array {
  const data = input.data ?? new Uint8Array(0);
  if (data.length > DLT645_MAX_DATA_LENGTH) {
    throw new ProtocolError('DLT645_BAD_LENGTH', `data of ${data.length} bytes exceeds ${DLT645_MAX_DATA_LENGTH}`);
  }
  if (!Number.isInteger(input.control) || input.control < 0 || input.control > 0xff) {
    throw new ProtocolError('DLT645_BAD_DATA', `control code ${input.control} is not a byte`);
  }
  const preamble = input.preamble ?? 0;
  const out = new Uint8Array(preamble + OVERHEAD + data.length);
  out.fill(WAKE_UP, 0, preamble);
  const p = preamble;
  out[p] = 0x68;
  out.set(dlt645AddressToWire(input.address), p + 1);
  out[p + 7] = 0x68;
  out[p + 8] = input.control;
  out[p + 9] = data.length;
  data.forEach((b, i) => {
    out[p + HEADER_LENGTH + i] = (b + 0x33) & 0xff;
  });
  out[out.length - 2] = sum8(out, p, out.length - 2);
  out[out.length - 1] = 0x16;
  return out;
}

export interface Dlt645ScanResult {
  readonly frames: Dlt645Frame[];
  /** Unconsumed tail (a frame still arriving); prepend it to the next chunk. */
  readonly rest: Uint8Array;
  /** Bytes dropped as garbage (wake-up FE bytes are not counted). */
  readonly discarded: number;
}

/** Length of the valid frame starting at i, 0 when more bytes are needed, -1 when it is not one. */
function probeFrame(buffer: Uint8Array, i: number): number {
  if (buffer.length - i < OVERHEAD) return 0;
  const dataLength = buffer[i + 9] as number;
  if (buffer[i + 7] !== 0x68 || dataLength > DLT645_MAX_DATA_LENGTH) return -1;
  const total = OVERHEAD + dataLength;
  if (buffer.length - i < total) return 0;
  const valid = buffer[i + total - 1] === 0x16 && buffer[i + total - 2] === sum8(buffer, i, i + total - 2);
  return valid ? total : -1;
}

/**
 * Pulls every complete, checksum-valid frame out of a serial or TCP byte stream. A candidate 68
 * that fails any check is noise and the search resumes one byte later, so a corrupted frame
 * costs only itself. A candidate still waiting for bytes is also dropped once a complete frame
 * shows up behind it: a stray 68 with a large "L" must not hold back the reply already received.
 * DL/T 698.45 frames sharing the bus are counted as discarded; decodeDlt698Frame reads them.
 */
export function scanDlt645Frames(buffer: Uint8Array): Dlt645ScanResult {
  const frames: Dlt645Frame[] = [];
  let discarded = 0;
  const skip = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (buffer[k] !== WAKE_UP) discarded++;
  };
  let i = 0;
  while (i < buffer.length) {
    if (buffer[i] !== 0x68) {
      skip(i, i + 1);
      i++;
      continue;
    }
    const length = probeFrame(buffer, i);
    if (length > 0) {
      frames.push(decodeDlt645Frame(buffer.subarray(i, i + length)));
      i += length;
      continue;
    }
    if (length < 0) {
      skip(i, i + 1);
      i++;
      continue;
    }
    let next = i + 1;
    while (next < buffer.length && !(buffer[next] === 0x68 && probeFrame(buffer, next) > 0)) next++;
    if (next >= buffer.length) break;
    skip(i, next);
    i = next;
  }
  return { frames, rest: buffer.slice(i), discarded };
}
