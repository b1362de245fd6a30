import { concatBytes, hex2, toHex } from './bcd.ts';
import { decodeSecondTime, encodeSecondTime } from './calendar.ts';
import {
  decodeDlt645Frame,
  dlt645AddressFromWire,
  dlt645AddressToWire,
  Dlt645Function,
  encodeDlt645Control,
  encodeDlt645Frame,
  type Dlt645Control,
  type Dlt645Frame,
} from './dlt645.ts';
import { decodeDlt645Value, diFromWire, diToWire, encodeDlt645Value, type Dlt645Value } from './dlt645-values.ts';
import { ProtocolError } from './errors.ts';

/**
 * What a DL/T 645-2007 frame means: reads, follow-up reads, error replies, address commands and
 * remote relay control (远程拉合闸). Frames this module does not model come back as `other`
 * with their data, never as an error.
 */

/** ERR byte bits of an abnormal reply, bit 0 first. */
export const DLT645_ERROR_FLAGS = [
  'other',
  'noRequestedData',
  'unauthorized',
  'baudRateUnchangeable',
  'yearZonesExceeded',
  'daySlotsExceeded',
  'tariffsExceeded',
  'reserved',
] as const;
export type Dlt645ErrorFlag = (typeof DLT645_ERROR_FLAGS)[number];

/** N1 of the 0x1C relay-control command. */
export const RELAY_COMMANDS = {
  trip: 0x1a,
  allowClose: 0x1b,
  directClose: 0x1c,
  alarm: 0x2a,
  alarmRelease: 0x2b,
  keepPower: 0x3a,
  keepPowerRelease: 0x3b,
} as const;
export type RelayCommand = keyof typeof RELAY_COMMANDS;

export interface RelayControlOrder {
  readonly command: RelayCommand;
  /** PA: password authority level (02 or 04 on most meters). */
  readonly passwordLevel: number;
  /** P2P1P0 in display order, 6 hex digits. */
  readonly password: string;
  /** C3..C0 in display order, 8 hex digits: who gave the order, for the meter's event log. */
  readonly operatorCode: string;
  /** N3..N8: the meter ignores the order after this local time ('YYYY-MM-DD hh:mm:ss'). */
  readonly validUntil: string;
}

interface Addressed {
  readonly address: string;
}

export type Dlt645Message = Addressed &
  (
    | { readonly kind: 'readRequest'; readonly di: string; readonly params: Uint8Array }
    | { readonly kind: 'readReply'; readonly di: string; readonly value: Dlt645Value; readonly hasMore: boolean }
    | { readonly kind: 'readFollowUpRequest'; readonly di: string; readonly seq: number }
    | {
        readonly kind: 'readFollowUpReply';
        readonly di: string;
        readonly value: Dlt645Value;
        readonly seq: number;
        readonly hasMore: boolean;
      }
    | {
        readonly kind: 'errorReply';
        readonly func: number;
        readonly errorCode: number;
        readonly errors: Dlt645ErrorFlag[];
      }
    | { readonly kind: 'readAddressRequest' }
    | { readonly kind: 'readAddressReply'; readonly meterAddress: string }
    | { readonly kind: 'writeAddressRequest'; readonly newAddress: string }
    | { readonly kind: 'broadcastTime'; readonly time: string | null; readonly data: Uint8Array }
    | ({ readonly kind: 'relayControlRequest' } & RelayControlOrder)
    | { readonly kind: 'relayControlReply' }
    | { readonly kind: 'other'; readonly control: Dlt645Control; readonly data: Uint8Array }
  );

const DI_LENGTH = 4;
const RELAY_DATA_LENGTH = 16;

function need(frame: Dlt645Frame, length: number, what: string): void {
  if (frame.data.length < length) {
    throw new ProtocolError('DLT645_BAD_DATA', `${what} needs ${length} data bytes, got ${frame.data.length}`);
  }
}

function errorFlags(code: number): Dlt645ErrorFlag[] {
  return DLT645_ERROR_FLAGS.filter((_, bit) => (code & (1 << bit)) !== 0);
}

function relayCommandName(code: number): RelayCommand {
  const entry = Object.entries(RELAY_COMMANDS).find(([, value]) => value === code);
  if (!entry) throw new ProtocolError('DLT645_BAD_DATA', `relay command N1=0x${hex2(code)} is unknown`);
  return entry[0] as RelayCommand;
}

function relayCommandCode(command: RelayCommand): number {
  if (!Object.hasOwn(RELAY_COMMANDS, command)) {
    throw new ProtocolError('DLT645_BAD_DATA', `relay command "${String(command)}" is unknown`);
  }
  return RELAY_COMMANDS[command];
}

function decodeRelayOrder(data: Uint8Array): RelayControlOrder {
  return {
    passwordLevel: data[0] as number,
    password: toHex(data.slice(1, 4).reverse(), ''),
    operatorCode: toHex(data.slice(4, 8).reverse(), ''),
    command: relayCommandName(data[8] as number),
    validUntil: decodeSecondTime(data.subarray(10, 16), 'relay valid-until'),
  };
}

function tryTime(data: Uint8Array): string | null {
  try {
    return decodeSecondTime(data, 'broadcast time');
  } catch (error) {
    if (error instanceof ProtocolError) return null;
    throw error;
  }
}

export function interpretDlt645Frame(frame: Dlt645Frame): Dlt645Message {
  const { address, control, data } = frame;
  if (control.fromMeter && control.abnormal) {
    need(frame, 1, 'error reply');
    const errorCode = data[0] as number;
    return { kind: 'errorReply', address, func: control.func, errorCode, errors: errorFlags(errorCode) };
  }
  switch (control.func) {
    case Dlt645Function.read: {
      need(frame, DI_LENGTH, 'read');
      const di = diFromWire(data);
      return control.fromMeter
        ? { kind: 'readReply', address, di, value: decodeDlt645Value(di, data.subarray(DI_LENGTH)), hasMore: control.hasFollowUp }
        : { kind: 'readRequest', address, di, params: data.slice(DI_LENGTH) };
    }
    case Dlt645Function.readFollowUp: {
      need(frame, DI_LENGTH + 1, 'follow-up read');
      const di = diFromWire(data);
      return control.fromMeter
        ? {
            kind: 'readFollowUpReply',
            address,
            di,
            value: decodeDlt645Value(di, data.subarray(DI_LENGTH, data.length - 1)),
            seq: data[data.length - 1] as number,
            hasMore: control.hasFollowUp,
          }
        : { kind: 'readFollowUpRequest', address, di, seq: data[DI_LENGTH] as number };
    }
    case Dlt645Function.readAddress:
      if (!control.fromMeter) return { kind: 'readAddressRequest', address };
      need(frame, 6, 'read-address reply');
      return { kind: 'readAddressReply', address, meterAddress: dlt645AddressFromWire(data.subarray(0, 6)) };
    case Dlt645Function.writeAddress:
      if (control.fromMeter) break;
      need(frame, 6, 'write-address');
      return { kind: 'writeAddressRequest', address, newAddress: dlt645AddressFromWire(data.subarray(0, 6)) };
    case Dlt645Function.broadcastTime:
      if (control.fromMeter) break;
      return { kind: 'broadcastTime', address, time: data.length === 6 ? tryTime(data) : null, data: data.slice() };
    case Dlt645Function.relayControl:
      if (control.fromMeter) return { kind: 'relayControlReply', address };
      need(frame, RELAY_DATA_LENGTH, 'relay control');
      return { kind: 'relayControlRequest', address, ...decodeRelayOrder(data) };
  }
  return { kind: 'other', address, control, data: data.slice() };
}

/** Frame decode and interpretation in one step. */
export function decodeDlt645Message(bytes: Uint8Array): Dlt645Message {
  return interpretDlt645Frame(decodeDlt645Frame(bytes));
}

export interface Dlt645EncodeOptions {
  /** FE wake-up bytes; masters usually send 4 on RS-485 and carrier. */
  readonly preamble?: number | undefined;
}

const request = (func: number): number => encodeDlt645Control({ fromMeter: false, func });
const reply = (func: number, hasFollowUp = false): number => encodeDlt645Control({ fromMeter: true, func, hasFollowUp });

export function encodeDlt645ReadRequest(address: string, di: string, options: Dlt645EncodeOptions = {}): Uint8Array {
  return encodeDlt645Frame({ address, control: request(Dlt645Function.read), data: diToWire(di), ...options });
}

export function encodeDlt645ReadReply(
  address: string,
  di: string,
  value: Dlt645Value,
  options: Dlt645EncodeOptions & { readonly hasMore?: boolean } = {},
): Uint8Array {
  return encodeDlt645Frame({
    address,
    control: reply(Dlt645Function.read, options.hasMore),
    data: concatBytes([diToWire(di), encodeDlt645Value(di, value)]),
    preamble: options.preamble,
  });
}

export function encodeDlt645ReadFollowUpRequest(
  address: string,
  di: string,
  seq: number,
  options: Dlt645EncodeOptions = {},
): Uint8Array {
  return encodeDlt645Frame({
    address,
    control: request(Dlt645Function.readFollowUp),
    data: concatBytes([diToWire(di), Uint8Array.of(seq & 0xff)]),
    ...options,
  });
}

export function encodeDlt645ReadFollowUpReply(
  address: string,
  di: string,
  value: Dlt645Value,
  seq: number,
  options: Dlt645EncodeOptions & { readonly hasMore?: boolean } = {},
): Uint8Array {
  return encodeDlt645Frame({
    address,
    control: reply(Dlt645Function.readFollowUp, options.hasMore),
    data: concatBytes([diToWire(di), encodeDlt645Value(di, value), Uint8Array.of(seq & 0xff)]),
    preamble: options.preamble,
  });
}

/** Abnormal reply (C = 0xC0 | func), e.g. 0xD1 with errorCode 0x02 "no requested data". */
export function encodeDlt645ErrorReply(
  address: string,
  func: number,
  errorCode: number,
  options: Dlt645EncodeOptions = {},
): Uint8Array {
  return encodeDlt645Frame({
    address,
    control: encodeDlt645Control({ fromMeter: true, abnormal: true, func }),
    data: Uint8Array.of(errorCode & 0xff),
    ...options,
  });
}

function hexDigits(value: string, digits: number, what: string): Uint8Array {
  if (!new RegExp(`^[0-9A-Fa-f]{${digits}}$`).test(value)) {
    throw new ProtocolError('DLT645_BAD_DATA', `${what} "${value}" must be ${digits} hex digits`);
  }
  return Uint8Array.from({ length: digits / 2 }, (_, i) => parseInt(value.slice(digits - 2 * (i + 1), digits - 2 * i), 16));
}

/**
 * 0x1C remote trip / close: PA P0P1P2 C0..C3 N1 N2 N3..N8. Meters with an ESAM expect N1..N8
 * encrypted; this builds the plain layout of the base standard.
 */
export function encodeDlt645RelayControl(
  address: string,
  order: RelayControlOrder,
  options: Dlt645EncodeOptions = {},
): Uint8Array {
  if (!Number.isInteger(order.passwordLevel) || order.passwordLevel < 0 || order.passwordLevel > 0xff) {
    throw new ProtocolError('DLT645_BAD_DATA', `password level ${order.passwordLevel} is not a byte`);
  }
  const data = concatBytes([
    Uint8Array.of(order.passwordLevel),
    hexDigits(order.password, 6, 'password'),
    hexDigits(order.operatorCode, 8, 'operator code'),
    Uint8Array.of(relayCommandCode(order.command), 0x00),
    encodeSecondTime(order.validUntil, 'relay valid-until'),
  ]);
  return encodeDlt645Frame({ address, control: request(Dlt645Function.relayControl), data, ...options });
}

export function encodeDlt645RelayControlReply(address: string, options: Dlt645EncodeOptions = {}): Uint8Array {
  return encodeDlt645Frame({ address, control: reply(Dlt645Function.relayControl), ...options });
}

export function encodeDlt645ReadAddressRequest(options: Dlt645EncodeOptions = {}): Uint8Array {
  return encodeDlt645Frame({ address: 'AAAAAAAAAAAA', control: request(Dlt645Function.readAddress), ...options });
}

export function encodeDlt645ReadAddressReply(meterAddress: string, options: Dlt645EncodeOptions = {}): Uint8Array {
  return encodeDlt645Frame({
    address: meterAddress,
    control: reply(Dlt645Function.readAddress),
    data: dlt645AddressToWire(meterAddress),
    ...options,
  });
}
