import {
  ByteReader,
  concatBytes,
  decodeBcdDecimalAt,
  encodeBcdDecimal,
  encodePlainBcdInto,
  parseBcdFormat,
  type BcdFormat,
} from './bcd.ts';
import { decodeDateAt, decodeMinuteTimeAt, decodeMonth, encodeDate, encodeMonth, writeMinuteTime } from './calendar.ts';
import { ProtocolError } from './errors.ts';
import { decodeDataUnitId } from './gdw1376-ids.ts';

/**
 * Data-unit contents of Q/GDW 1376.1 for the Fn the collection system uses. The decoder says
 * "unknown" (null) for anything else, and the frame decoder keeps those bytes raw, because an
 * unknown Fn's length cannot be guessed.
 */

/** 0xEE fills a field the terminal has no value for (e.g. a tariff the meter lacks). */
export const NO_DATA = 0xee;

/** 0xFE marks a field whose value the terminal holds as invalid (e.g. a register the meter returned garbled). */
const INVALID_DATA = 0xfe;

/**
 * Any EE or FE byte voids the field, not only all-EE: real terminals send "00 EE EE EE EE" for an
 * unread register (conformance samples rafn12f34, rafn13f2), and neither can be valid BCD. FF, the
 * DL/T 645 fill a terminal may pass on from the meter, is read the same way. A marker costs only
 * its field: failing the frame would lose every other measuring point of the reply with it.
 */
function isNoDataAt(bytes: Uint8Array, at: number, length: number): boolean {
  for (let i = at; i < at + length; i++) {
    const b = bytes[i];
    if (b === NO_DATA || b === INVALID_DATA || b === 0xff) return true;
  }
  return false;
}

/** A.14: XXXXXX.XXXX kWh, 5 bytes. A.11: XXXXXX.XX kvarh, 4 bytes. */
export const A14 = parseBcdFormat('XXXXXX.XXXX');
export const A11 = parseBcdFormat('XXXXXX.XX');
const A9 = parseBcdFormat('XX.XXXX', true);
const A5 = parseBcdFormat('XXX.X', true);
const A7 = parseBcdFormat('XXX.X');
const A25 = parseBcdFormat('XXX.XXX', true);

export interface EnergyRegisters {
  /** null where the terminal sent EE (no data). */
  readonly total: string | null;
  readonly tariffs: readonly (string | null)[];
}

export interface PhaseReadings {
  readonly total?: string | null;
  readonly a: string | null;
  readonly b: string | null;
  readonly c: string | null;
}

export type Gdw1376Value =
  /** Fn with no data field (login, heartbeat, confirm, an AFN 0C request). */
  | { readonly kind: 'empty' }
  /** AFN 0D request: which day (Td_d) or month (Td_m) of frozen data is wanted. */
  | { readonly kind: 'frozenDate'; readonly date: string }
  | { readonly kind: 'frozenMonth'; readonly month: string }
  /** AFN 0C F129 (date null) and AFN 0D F161 (date = Td_d): forward active energy registers. */
  | {
      readonly kind: 'forwardActiveEnergy';
      readonly date: string | null;
      readonly readAt: string | null;
      readonly registers: EnergyRegisters;
    }
  /** AFN 0C F33/F34, AFN 0D F1/F2 (Td_d) and F17/F18 (Td_m): active, reactive and quadrant registers. */
  | {
      readonly kind: 'energyIndications';
      readonly direction: 'forward' | 'reverse';
      readonly date: string | null;
      readonly month: string | null;
      readonly readAt: string | null;
      readonly active: EnergyRegisters;
      readonly reactive: EnergyRegisters;
      readonly quadrantReactive: Partial<Record<'q1' | 'q2' | 'q3' | 'q4', EnergyRegisters>>;
    }
  /** AFN 0C F25: powers (kW, kvar, kVA), power factor (%), voltages (V), currents (A). */
  | {
      readonly kind: 'instantaneous';
      readonly readAt: string | null;
      readonly activePower: PhaseReadings;
      readonly reactivePower: PhaseReadings;
      readonly powerFactor: PhaseReadings;
      readonly voltage: PhaseReadings;
      readonly current: PhaseReadings;
      readonly zeroSequenceCurrent: string | null;
      readonly apparentPower: PhaseReadings;
    }
  /**
   * AFN 10 F1 transparent forwarding (透明转发), e.g. a DL/T 645 frame for a meter behind the
   * concentrator. Down: the port, its control word, how long the terminal waits for the meter's
   * answer (frame timeout in 10 ms or s units, byte timeout in 10 ms) and the frame; up: the port
   * and what the meter answered (empty when it did not).
   */
  | {
      readonly kind: 'transparentForward';
      readonly port: number;
      readonly control: number | null;
      readonly frameTimeoutMs: number | null;
      readonly byteTimeoutMs: number | null;
      readonly content: Uint8Array;
    }
  /** AFN 00 F3: confirm or deny item by item. */
  | {
      readonly kind: 'itemAcknowledgements';
      readonly afn: number;
      readonly items: readonly { readonly pn: number[]; readonly fn: number[]; readonly ok: boolean }[];
    };

export interface FnContext {
  readonly afn: number;
  readonly dir: 'down' | 'up';
}

function value(r: ByteReader, format: BcdFormat, what: string): string | null {
  const at = r.advance(format.byteLength, what);
  const bytes = r.source;
  return isNoDataAt(bytes, at, format.byteLength) ? null : decodeBcdDecimalAt(bytes, at, format, what);
}

function readAt(r: ByteReader): string | null {
  const at = r.advance(5, 'meter-reading time (A.15)');
  const bytes = r.source;
  return isNoDataAt(bytes, at, 5) ? null : decodeMinuteTimeAt(bytes, at, 'meter-reading time (A.15)');
}

/** Field names for error messages ("forward active tariff 3"), built once per register block name. */
const registerLabels = new Map<string, { total: string; tariffs: string[] }>();
function labelsOf(what: string): { total: string; tariffs: string[] } {
  let l = registerLabels.get(what);
  if (!l) registerLabels.set(what, (l = { total: `${what} total`, tariffs: Array.from({ length: 15 }, (_, i) => `${what} tariff ${i + 1}`) }));
  return l;
}

function registers(r: ByteReader, format: BcdFormat, count: number, what: string): EnergyRegisters {
  const labels = labelsOf(what);
  const total = value(r, format, labels.total);
  const tariffs: (string | null)[] = new Array(count);
  for (let i = 0; i < count; i++) tariffs[i] = value(r, format, labels.tariffs[i] ?? `${what} tariff ${i + 1}`);
  return { total, tariffs };
}

function phases(r: ByteReader, format: BcdFormat, withTotal: boolean, what: string): PhaseReadings {
  const total = withTotal ? { total: value(r, format, `${what} total`) } : {};
  return { ...total, a: value(r, format, `${what} A`), b: value(r, format, `${what} B`), c: value(r, format, `${what} C`) };
}

function tariffCount(r: ByteReader): number {
  const m = r.u8('tariff count M');
  // The standard allows 1..12; 0xEE would mean the terminal never read the meter.
  if (m > 14) throw new ProtocolError('GDW1376_BAD_DATA', `tariff count M=${m} is not plausible`);
  return m;
}

function indications(r: ByteReader, direction: 'forward' | 'reverse', date: string | null, month: string | null): Gdw1376Value {
  const at = readAt(r);
  const m = tariffCount(r);
  const [qa, qb] = direction === 'forward' ? (['q1', 'q4'] as const) : (['q2', 'q3'] as const);
  return {
    kind: 'energyIndications',
    direction,
    date,
    month,
    readAt: at,
    active: registers(r, A14, m, `${direction} active`),
    reactive: registers(r, A11, m, `${direction} reactive`),
    quadrantReactive: { [qa]: registers(r, A11, m, `${qa} reactive`), [qb]: registers(r, A11, m, `${qb} reactive`) },
  };
}

function forwardActive(r: ByteReader, date: string | null): Gdw1376Value {
  const at = readAt(r);
  const m = tariffCount(r);
  return { kind: 'forwardActiveEnergy', date, readAt: at, registers: registers(r, A14, m, 'forward active') };
}

function instantaneous(r: ByteReader): Gdw1376Value {
  return {
    kind: 'instantaneous',
    readAt: readAt(r),
    activePower: phases(r, A9, true, 'active power'),
    reactivePower: phases(r, A9, true, 'reactive power'),
    powerFactor: phases(r, A5, true, 'power factor'),
    voltage: phases(r, A7, false, 'voltage'),
    current: phases(r, A25, false, 'current'),
    zeroSequenceCurrent: value(r, A25, 'zero-sequence current'),
    apparentPower: phases(r, A9, true, 'apparent power'),
  };
}

function itemAcknowledgements(r: ByteReader): Gdw1376Value {
  const afn = r.u8('acknowledged AFN');
  if (r.remaining % 5 !== 0) {
    throw new ProtocolError('GDW1376_BAD_DATA', `AFN 00 F3 items are 5 bytes each, ${r.remaining} bytes left`);
  }
  const items = [];
  while (r.remaining > 0) {
    const b = r.take(5, 'acknowledged item');
    const id = decodeDataUnitId(b[0] as number, b[1] as number, b[2] as number, b[3] as number);
    if (!id) throw new ProtocolError('GDW1376_BAD_DATA_UNIT_ID', 'AFN 00 F3 names an invalid data unit');
    items.push({ ...id, ok: b[4] === 0 });
  }
  return { kind: 'itemAcknowledgements', afn, items };
}

function transparentForward(r: ByteReader, dir: 'down' | 'up'): Gdw1376Value {
  const port = r.u8('forwarding port');
  if (dir === 'up') {
    const k = r.u16le('forwarded byte count');
    return { kind: 'transparentForward', port, control: null, frameTimeoutMs: null, byteTimeoutMs: null, content: r.take(k, 'forwarded content').slice() };
  }
  const control = r.u8('forwarding control word');
  const frameTimeout = r.u8('frame timeout');
  const byteTimeout = r.u8('byte timeout');
  const k = r.u16le('forwarded byte count');
  return {
    kind: 'transparentForward', port, control,
    frameTimeoutMs: (frameTimeout & 0x7f) * (frameTimeout & 0x80 ? 1000 : 10),
    byteTimeoutMs: byteTimeout * 10,
    content: r.take(k, 'forwarded content').slice(),
  };
}

/** The data of an AFN 10 F1 unit: down with control word and timeouts, up with what came back. */
export function encodeTransparentForwardBody(f: { port: number; content: Uint8Array } & ({ dir: 'up' } | { dir: 'down'; control: number; frameTimeoutMs: number; byteTimeoutMs: number })): Uint8Array {
  const k = Uint8Array.of(f.content.length & 0xff, f.content.length >> 8);
  if (f.content.length > 0xffff) throw new ProtocolError('GDW1376_BAD_DATA', `${f.content.length} bytes cannot be forwarded in one frame`);
  if (f.dir === 'up') return concatBytes([Uint8Array.of(f.port), k, f.content]);
  // up to 127 × 10 ms in 10 ms units, else whole seconds (bit 7 set), at most 127 s
  const frameTimeout = f.frameTimeoutMs <= 1270 ? Math.ceil(f.frameTimeoutMs / 10) : 0x80 | Math.min(127, Math.ceil(f.frameTimeoutMs / 1000));
  return concatBytes([Uint8Array.of(f.port, f.control, frameTimeout, Math.min(255, Math.ceil(f.byteTimeoutMs / 10))), k, f.content]);
}

/** Daily (Td_d) and monthly (Td_m) frozen Fn of AFN 0D: energy F1-F12, F161-F176; F17-F24, F177-F184. */
function frozenTag(fn: number): 'date' | 'month' | null {
  if ((fn >= 1 && fn <= 12) || (fn >= 161 && fn <= 176)) return 'date';
  if ((fn >= 17 && fn <= 24) || (fn >= 177 && fn <= 184)) return 'month';
  return null;
}

/** AFN 0D Fn whose reply layout this codec reads. */
const FROZEN_UP_KNOWN = new Set([1, 2, 17, 18, 161]);

/**
 * Decodes the data of one (pn, Fn) pair, or returns null when this codec does not know the
 * layout of that Fn in that direction.
 */
export function decodeFnData(ctx: FnContext, fn: number, r: ByteReader): Gdw1376Value | null {
  const { afn, dir } = ctx;
  if (afn === 0x00) {
    if (fn === 1 || fn === 2) return { kind: 'empty' };
    if (fn === 3) return itemAcknowledgements(r);
    return null;
  }
  if (afn === 0x02 && fn >= 1 && fn <= 3) return { kind: 'empty' };
  if (afn === 0x10 && fn === 1) return transparentForward(r, dir);
  if (afn === 0x0c && dir === 'down') return { kind: 'empty' };
  if (afn === 0x0c) {
    if (fn === 25) return instantaneous(r);
    if (fn === 33) return indications(r, 'forward', null, null);
    if (fn === 34) return indications(r, 'reverse', null, null);
    if (fn === 129) return forwardActive(r, null);
    return null;
  }
  if (afn === 0x0d) {
    const tag = frozenTag(fn);
    // an Fn this codec cannot read is left whole (Td_d included) for the raw bytes of its unit
    if (!tag || (dir === 'up' && !FROZEN_UP_KNOWN.has(fn))) return null;
    const tdAt = tag === 'date' ? r.advance(3, 'Td_d') : -1;
    // a reply's Td_d marked EE/FE names no day: its reading belongs to none (a request must name one)
    const date = tdAt < 0 || (dir === 'up' && isNoDataAt(r.source, tdAt, 3)) ? null : decodeDateAt(r.source, tdAt, 'Td_d');
    const month = tag === 'month' ? decodeMonth(r.take(2, 'Td_m'), 'Td_m') : null;
    if (dir === 'down') return tag === 'date' ? { kind: 'frozenDate', date: date as string } : { kind: 'frozenMonth', month: month as string };
    if (fn === 1 || fn === 17) return indications(r, 'forward', date, month);
    if (fn === 2 || fn === 18) return indications(r, 'reverse', date, month);
    return forwardActive(r, date);
  }
  return null;
}

/** Writes one register (EE when null) at `out[offset]`; `tariff` 0 is the total (names the field in an error). */
function writeValue(out: Uint8Array, offset: number, v: string | null, format: BcdFormat, what: string, tariff: number): void {
  if (v === null) {
    for (let i = 0; i < format.byteLength; i++) out[offset + i] = NO_DATA;
  } else if (format.signed || !encodePlainBcdInto(v, format, out, offset)) {
    out.set(encodeBcdDecimal(v, format, tariff === 0 ? `${what} total` : `${what} tariff ${tariff}`), offset);
  }
}

function writeEnergyRegisters(out: Uint8Array, offset: number, regs: EnergyRegisters, format: BcdFormat, what: string): void {
  writeValue(out, offset, regs.total, format, what, 0);
  for (let i = 0; i < regs.tariffs.length; i++) {
    writeValue(out, offset + (i + 1) * format.byteLength, regs.tariffs[i] ?? null, format, what, i + 1);
  }
}

export function encodeEnergyRegisters(regs: EnergyRegisters, format: BcdFormat, what: string): Uint8Array {
  const out = new Uint8Array(format.byteLength * (1 + regs.tariffs.length));
  writeEnergyRegisters(out, 0, regs, format, what);
  return out;
}

/** Bytes of the F129 / F161 body (read time, M, total and M tariffs). */
export function forwardActiveBodyLength(regs: EnergyRegisters): number {
  return 6 + A14.byteLength * (1 + regs.tariffs.length);
}

/** Writes the F129 / F161 body at `out[offset]` (`forwardActiveBodyLength(regs)` bytes). */
export function writeForwardActiveBody(out: Uint8Array, offset: number, at: string | null, regs: EnergyRegisters): void {
  if (regs.tariffs.length > 14) {
    throw new ProtocolError('GDW1376_BAD_DATA', `${regs.tariffs.length} tariffs exceed what the terminal can report`);
  }
  if (at === null) out.fill(NO_DATA, offset, offset + 5);
  else writeMinuteTime(out, offset, at, 'meter-reading time (A.15)');
  out[offset + 5] = regs.tariffs.length;
  writeEnergyRegisters(out, offset + 6, regs, A14, 'forward active');
}

/** A.15 read time + M + total and M tariff registers (A.14): the body of F129 and of F161 after Td_d. */
export function encodeForwardActiveBody(at: string | null, regs: EnergyRegisters): Uint8Array {
  const out = new Uint8Array(forwardActiveBodyLength(regs));
  writeForwardActiveBody(out, 0, at, regs);
  return out;
}

export function encodeTdD(date: string): Uint8Array {
  return encodeDate(date, 'Td_d');
}

export function encodeTdM(month: string): Uint8Array {
  return encodeMonth(month, 'Td_m');
}
