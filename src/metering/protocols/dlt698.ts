import { ByteReader, toHex } from './bcd.ts';
import { ProtocolError } from './errors.ts';

/**
 * DL/T 698.45 (object-oriented meter protocol) header only. Newer meters on the same RS-485 bus
 * or carrier network answer in 698.45, and both protocols start with 0x68, so a DL/T 645 reader
 * must tell "this is a 698 frame" apart from "this is garbage". The APDU is handed back raw.
 *
 * Frame: 68 L(2) C SA(1+n) CA HCS(2) APDU FCS(2) 16, L = bytes between 68 and 16.
 */

export interface Dlt698Control {
  readonly code: number;
  /** DIR: true when the server (meter) sends. */
  readonly fromServer: boolean;
  /** PRM: true when the client started the exchange. */
  readonly fromClient: boolean;
  readonly split: boolean;
  readonly scrambled: boolean;
  readonly func: number;
}

export type Dlt698AddressType = 'single' | 'wildcard' | 'group' | 'broadcast';

export interface Dlt698ServerAddress {
  readonly type: Dlt698AddressType;
  readonly logical: number;
  /** Display order (the wire carries it low byte first), e.g. "000000000002". */
  readonly address: string;
}

export interface Dlt698Frame {
  readonly length: number;
  readonly control: Dlt698Control;
  readonly serverAddress: Dlt698ServerAddress;
  readonly clientAddress: number;
  readonly hcs: number;
  readonly fcs: number;
  readonly apdu: Uint8Array;
  readonly preamble: number;
}

/** CRC-16/X.25 (reflected 0x1021, init and final xor 0xFFFF), the HCS and FCS of DL/T 698.45. */
export function crc16x25(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) {
    crc ^= bytes[i] as number;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x8408 : crc >>> 1;
  }
  return (crc ^ 0xffff) & 0xffff;
}

const ADDRESS_TYPES: readonly Dlt698AddressType[] = ['single', 'wildcard', 'group', 'broadcast'];
const LENGTH_MASK = 0x3fff;
const LENGTH_IN_KIB = 0x4000;

function countPreamble(bytes: Uint8Array): number {
  let n = 0;
  while (n < bytes.length && bytes[n] === 0xfe) n++;
  return n;
}

/**
 * Cheap structural test (start byte, length field, end byte and header CRC) used to give a
 * precise error when a 698 frame reaches the 645 decoder.
 */
export function looksLikeDlt698(bytes: Uint8Array): boolean {
  const p = countPreamble(bytes);
  if (bytes.length - p < 12 || bytes[p] !== 0x68) return false;
  const lengthField = (bytes[p + 1] as number) | ((bytes[p + 2] as number) << 8);
  if (lengthField & LENGTH_IN_KIB) return false;
  const total = (lengthField & LENGTH_MASK) + 2;
  if (bytes.length - p < total || bytes[p + total - 1] !== 0x16) return false;
  const addressLength = ((bytes[p + 4] as number) & 0x0f) + 1;
  const hcsAt = p + 5 + addressLength + 1;
  if (hcsAt + 2 > p + total - 3) return false;
  const hcs = (bytes[hcsAt] as number) | ((bytes[hcsAt + 1] as number) << 8);
  return crc16x25(bytes, p + 1, hcsAt) === hcs;
}

export function decodeDlt698Frame(bytes: Uint8Array): Dlt698Frame {
  const preamble = countPreamble(bytes);
  const r = new ByteReader(bytes, 'DLT698_TRUNCATED', preamble);
  if (r.u8('start') !== 0x68) throw new ProtocolError('DLT698_BAD_START', 'DL/T 698.45 frame must start with 0x68');
  const lengthField = r.u16le('L');
  if (lengthField & LENGTH_IN_KIB) {
    throw new ProtocolError('DLT698_BAD_LENGTH', 'length counted in KiB is not supported on this link');
  }
  const length = lengthField & LENGTH_MASK;
  const total = length + 2;
  if (bytes.length - preamble < total) {
    throw new ProtocolError('DLT698_TRUNCATED', `L says ${total} bytes, only ${bytes.length - preamble} present`);
  }
  if (bytes.length - preamble > total) {
    throw new ProtocolError('DLT698_BAD_LENGTH', `${bytes.length - preamble - total} byte(s) after the frame end`);
  }
  const end = preamble + total;
  if (bytes[end - 1] !== 0x16) throw new ProtocolError('DLT698_BAD_END', 'DL/T 698.45 frame must end with 0x16');

  const body = new ByteReader(bytes, 'DLT698_TRUNCATED', r.position, end - 3);
  const c = body.u8('C');
  const sa = body.u8('SA');
  const addressBytes = body.take((sa & 0x0f) + 1, 'server address');
  const clientAddress = body.u8('CA');
  const hcsEnd = body.position;
  const hcs = body.u16le('HCS');
  const hcsCalc = crc16x25(bytes, preamble + 1, hcsEnd);
  if (hcs !== hcsCalc) {
    throw new ProtocolError('DLT698_BAD_HCS', `header CRC 0x${hcs.toString(16)} != computed 0x${hcsCalc.toString(16)}`);
  }
  const apdu = body.rest().slice();
  const fcs = (bytes[end - 3] as number) | ((bytes[end - 2] as number) << 8);
  const fcsCalc = crc16x25(bytes, preamble + 1, end - 3);
  if (fcs !== fcsCalc) {
    throw new ProtocolError('DLT698_BAD_FCS', `frame CRC 0x${fcs.toString(16)} != computed 0x${fcsCalc.toString(16)}`);
  }
  return {
    length,
    control: {
      code: c,
      fromServer: (c & 0x80) !== 0,
      fromClient: (c & 0x40) !== 0,
      split: (c & 0x20) !== 0,
      scrambled: (c & 0x08) !== 0,
      func: c & 0x07,
    },
    serverAddress: {
      type: ADDRESS_TYPES[sa >> 6] as Dlt698AddressType,
      logical: (sa >> 4) & 0x03,
      address: toHex(addressBytes.slice().reverse(), ''),
    },
    clientAddress,
    hcs,
    fcs,
    apdu,
    preamble,
  };
}
