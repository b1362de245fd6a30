import {
  concatBytes,
  decodeBcdDecimal,
  encodeBcdDecimal,
  isFilledWith,
  parseBcdFormat,
  type BcdFormat,
} from './bcd.ts';
import { decodeMinuteTime, encodeMinuteTime } from './calendar.ts';
import { ProtocolError } from './errors.ts';

/**
 * DL/T 645-2007 data identifiers (DI3 DI2 DI1 DI0, written as 8 hex digits, sent DI0 first) and
 * the value formats of the ones the collection system reads. Unknown identifiers decode to raw
 * bytes rather than failing, so a new register on a meter never breaks a read cycle.
 */

/** Tariff registers 1-4 as Chinese TOU meters label them: 尖 sharp, 峰 peak, 平 flat, 谷 valley. */
export const TARIFF_NAMES = ['sharp', 'peak', 'flat', 'valley'] as const;

export const Dlt645Di = {
  combinedActiveTotal: '00000000',
  forwardActiveTotal: '00010000',
  forwardActiveBlock: '0001FF00',
  reverseActiveTotal: '00020000',
  voltageA: '02010100',
  currentA: '02020100',
  activePowerTotal: '02030000',
  frequency: '02800002',
  lastDailyFreezeTime: '05060001',
  lastDailyFrozenForwardActive: '05060101',
} as const;

export type Dlt645Quantity =
  | 'activeEnergy'
  | 'reactiveEnergy'
  | 'apparentEnergy'
  | 'voltage'
  | 'current'
  | 'activePower'
  | 'reactivePower'
  | 'apparentPower'
  | 'powerFactor'
  | 'frequency';

/**
 * Every reading is a decimal string, or null where the meter filled the field with 0xFF (or 0xEE)
 * because it has no such data, e.g. a phase a single-phase meter lacks or a tariff it does not run.
 */
export type Dlt645Value =
  | { readonly kind: 'scalar'; readonly quantity: Dlt645Quantity; readonly unit: string; readonly value: string | null }
  /** Phase blocks (xxxxFF00 of voltages, currents, powers): [A, B, C] or [total, A, B, C]. */
  | { readonly kind: 'phases'; readonly quantity: Dlt645Quantity; readonly unit: string; readonly values: (string | null)[] }
  /** Energy block: total then tariff registers 1..n (1-4 = 尖 峰 平 谷). */
  | {
      readonly kind: 'energyRegisters';
      readonly unit: string;
      readonly total: string | null;
      readonly tariffs: (string | null)[];
    }
  /**
   * 05060101 (上n次日冻结正向有功). The standard sends only the registers and keeps the freeze time
   * in 05060001; some meters and simulators prefix the 5-byte time, so both are accepted.
   */
  | {
      readonly kind: 'dailyFrozenEnergy';
      readonly unit: 'kWh';
      readonly frozenAt: string | null;
      readonly total: string | null;
      readonly tariffs: (string | null)[];
    }
  /** 'YYYY-MM-DD hh:mm', or null when the meter has not frozen yet (all zero, or 0xFF / 0xEE fill). */
  | { readonly kind: 'freezeTime'; readonly value: string | null }
  | { readonly kind: 'raw'; readonly bytes: Uint8Array };

type DiSpec =
  | { kind: 'scalar'; quantity: Dlt645Quantity; unit: string; format: BcdFormat }
  | { kind: 'phases'; quantity: Dlt645Quantity; unit: string; format: BcdFormat; count: number }
  | { kind: 'energyRegisters'; unit: string; format: BcdFormat }
  | { kind: 'dailyFrozenEnergy' }
  | { kind: 'freezeTime' };

export function normaliseDi(di: string): string {
  const upper = di.toUpperCase();
  if (!/^[0-9A-F]{8}$/.test(upper)) throw new ProtocolError('DLT645_BAD_DI', `DI "${di}" must be 8 hex digits`);
  return upper;
}

export function diToWire(di: string): Uint8Array {
  const d = normaliseDi(di);
  return Uint8Array.from([6, 4, 2, 0], (i) => parseInt(d.slice(i, i + 2), 16));
}

export function diFromWire(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4))
    .reverse()
    .map((b) => b.toString(16).toUpperCase().padStart(2, '0'))
    .join('');
}

const ENERGY = parseBcdFormat('XXXXXX.XX');
const SIGNED_ENERGY = parseBcdFormat('XXXXXX.XX', true);
const ENERGY_KINDS: Record<number, { quantity: Dlt645Quantity; unit: string; signed: boolean }> = {
  0x00: { quantity: 'activeEnergy', unit: 'kWh', signed: true },
  0x01: { quantity: 'activeEnergy', unit: 'kWh', signed: false },
  0x02: { quantity: 'activeEnergy', unit: 'kWh', signed: false },
  0x03: { quantity: 'reactiveEnergy', unit: 'kvarh', signed: true },
  0x04: { quantity: 'reactiveEnergy', unit: 'kvarh', signed: true },
  0x05: { quantity: 'reactiveEnergy', unit: 'kvarh', signed: false },
  0x06: { quantity: 'reactiveEnergy', unit: 'kvarh', signed: false },
  0x07: { quantity: 'reactiveEnergy', unit: 'kvarh', signed: false },
  0x08: { quantity: 'reactiveEnergy', unit: 'kvarh', signed: false },
  0x09: { quantity: 'apparentEnergy', unit: 'kVAh', signed: false },
  0x0a: { quantity: 'apparentEnergy', unit: 'kVAh', signed: false },
};

/** DI2 of group 02 (variables) → quantity, format, and whether index 00 is a total. */
const VARIABLES: Record<number, { quantity: Dlt645Quantity; unit: string; format: BcdFormat; hasTotal: boolean }> = {
  0x01: { quantity: 'voltage', unit: 'V', format: parseBcdFormat('XXX.X'), hasTotal: false },
  0x02: { quantity: 'current', unit: 'A', format: parseBcdFormat('XXX.XXX', true), hasTotal: false },
  0x03: { quantity: 'activePower', unit: 'kW', format: parseBcdFormat('XX.XXXX', true), hasTotal: true },
  0x04: { quantity: 'reactivePower', unit: 'kvar', format: parseBcdFormat('XX.XXXX', true), hasTotal: true },
  0x05: { quantity: 'apparentPower', unit: 'kVA', format: parseBcdFormat('XX.XXXX', true), hasTotal: true },
  0x06: { quantity: 'powerFactor', unit: '', format: parseBcdFormat('X.XXX', true), hasTotal: true },
};

/** Last 1..62 daily freezes are addressed by DI0 = 01..3E. */
const isFreezeIndex = (n: number): boolean => n >= 0x01 && n <= 0x3e;

function describeDi(di: string): DiSpec | null {
  const [d3, d2, d1, d0] = [0, 2, 4, 6].map((i) => parseInt(di.slice(i, i + 2), 16)) as [number, number, number, number];
  if (d3 === 0x00 && d0 <= 0x0c) {
    const kind = ENERGY_KINDS[d2];
    if (!kind) return null;
    const format = kind.signed ? SIGNED_ENERGY : ENERGY;
    if (d1 === 0xff) return { kind: 'energyRegisters', unit: kind.unit, format };
    if (d1 <= 0x3f) return { kind: 'scalar', quantity: kind.quantity, unit: kind.unit, format };
    return null;
  }
  if (d3 === 0x02 && d0 === 0x00) {
    const v = VARIABLES[d2];
    if (!v) return null;
    const first = v.hasTotal ? 0x00 : 0x01;
    if (d1 >= first && d1 <= 0x03) return { kind: 'scalar', quantity: v.quantity, unit: v.unit, format: v.format };
    if (d1 === 0xff) return { kind: 'phases', quantity: v.quantity, unit: v.unit, format: v.format, count: 4 - first };
    return null;
  }
  if (di === '02800002') return { kind: 'scalar', quantity: 'frequency', unit: 'Hz', format: parseBcdFormat('XX.XX') };
  if (d3 === 0x05 && d2 === 0x06 && isFreezeIndex(d0)) {
    if (d1 === 0x00) return { kind: 'freezeTime' };
    if (d1 === 0x01) return { kind: 'dailyFrozenEnergy' };
    if (d1 === 0x02) return { kind: 'energyRegisters', unit: 'kWh', format: ENERGY };
  }
  return null;
}

const FREEZE_TIME_LENGTH = 5;
/** What meters put in a field they have no data for; 0xFF is the standard's, 0xEE is also seen. */
const NO_DATA_FILL = 0xff;
const isNoData = (bytes: Uint8Array): boolean => isFilledWith(bytes, NO_DATA_FILL) || isFilledWith(bytes, 0xee);

function decodeReading(bytes: Uint8Array, format: BcdFormat, what: string): string | null {
  return isNoData(bytes) ? null : decodeBcdDecimal(bytes, format, what);
}

function decodeRegisters(
  bytes: Uint8Array,
  format: BcdFormat,
  di: string,
): { total: string | null; tariffs: (string | null)[] } {
  if (bytes.length === 0 || bytes.length % format.byteLength !== 0) {
    throw new ProtocolError('DLT645_BAD_DATA', `DI ${di}: ${bytes.length} bytes is not a whole number of registers`);
  }
  const values: (string | null)[] = [];
  for (let i = 0; i < bytes.length; i += format.byteLength) {
    values.push(decodeReading(bytes.subarray(i, i + format.byteLength), format, `DI ${di} register ${values.length}`));
  }
  return { total: values[0] ?? null, tariffs: values.slice(1) };
}

function decodeFreezeTime(bytes: Uint8Array, di: string): string | null {
  return isFilledWith(bytes, 0x00) || isNoData(bytes) ? null : decodeMinuteTime(bytes, `DI ${di} freeze time`);
}

/** Interprets the bytes after the DI (0x33 already removed). */
export function decodeDlt645Value(di: string, bytes: Uint8Array): Dlt645Value {
  const id = normaliseDi(di);
  const spec = describeDi(id);
  if (!spec) return { kind: 'raw', bytes: bytes.slice() };
  switch (spec.kind) {
    case 'scalar':
      if (bytes.length !== spec.format.byteLength) {
        throw new ProtocolError('DLT645_BAD_DATA', `DI ${id}: expected ${spec.format.byteLength} bytes, got ${bytes.length}`);
      }
      return { kind: 'scalar', quantity: spec.quantity, unit: spec.unit, value: decodeReading(bytes, spec.format, `DI ${id}`) };
    case 'phases': {
      if (bytes.length !== spec.count * spec.format.byteLength) {
        throw new ProtocolError('DLT645_BAD_DATA', `DI ${id}: expected ${spec.count} values, got ${bytes.length} bytes`);
      }
      const { total, tariffs } = decodeRegisters(bytes, spec.format, id);
      return { kind: 'phases', quantity: spec.quantity, unit: spec.unit, values: [total, ...tariffs] };
    }
    case 'energyRegisters':
      return { kind: 'energyRegisters', unit: spec.unit, ...decodeRegisters(bytes, spec.format, id) };
    case 'dailyFrozenEnergy': {
      const withTime = bytes.length % ENERGY.byteLength === FREEZE_TIME_LENGTH % ENERGY.byteLength;
      const frozenAt = withTime ? decodeFreezeTime(bytes.subarray(0, FREEZE_TIME_LENGTH), id) : null;
      const registers = decodeRegisters(bytes.subarray(withTime ? FREEZE_TIME_LENGTH : 0), ENERGY, id);
      return { kind: 'dailyFrozenEnergy', unit: 'kWh', frozenAt, ...registers };
    }
    case 'freezeTime':
      if (bytes.length !== FREEZE_TIME_LENGTH) {
        throw new ProtocolError('DLT645_BAD_DATA', `DI ${id}: a freeze time has 5 bytes, got ${bytes.length}`);
      }
      return { kind: 'freezeTime', value: decodeFreezeTime(bytes, id) };
  }
}

function mismatch(id: string, expected: string, value: Dlt645Value): ProtocolError {
  return new ProtocolError('DLT645_BAD_VALUE', `DI ${id} carries a ${expected} value, got ${value.kind}`);
}

function encodeReading(value: string | null, format: BcdFormat, what: string): Uint8Array {
  return value === null ? new Uint8Array(format.byteLength).fill(NO_DATA_FILL) : encodeBcdDecimal(value, format, what);
}

function encodeRegisters(values: readonly (string | null)[], format: BcdFormat, id: string): Uint8Array {
  return concatBytes(values.map((v, i) => encodeReading(v, format, `DI ${id} register ${i}`)));
}

/** Encodes a value for a read reply (plain bytes; the frame encoder adds 0x33). */
export function encodeDlt645Value(di: string, value: Dlt645Value): Uint8Array {
  const id = normaliseDi(di);
  const spec = describeDi(id);
  if (value.kind === 'raw') return value.bytes.slice();
  if (!spec) throw new ProtocolError('DLT645_BAD_VALUE', `DI ${id} has no known format; send it as raw bytes`);
  switch (spec.kind) {
    case 'scalar':
      if (value.kind !== 'scalar') throw mismatch(id, 'scalar', value);
      return encodeReading(value.value, spec.format, `DI ${id}`);
    case 'phases':
      if (value.kind !== 'phases') throw mismatch(id, 'phases', value);
      if (value.values.length !== spec.count) {
        throw new ProtocolError('DLT645_BAD_VALUE', `DI ${id} carries ${spec.count} values, got ${value.values.length}`);
      }
      return encodeRegisters(value.values, spec.format, id);
    case 'energyRegisters':
      if (value.kind !== 'energyRegisters') throw mismatch(id, 'energyRegisters', value);
      return encodeRegisters([value.total, ...value.tariffs], spec.format, id);
    case 'dailyFrozenEnergy': {
      if (value.kind !== 'dailyFrozenEnergy') throw mismatch(id, 'dailyFrozenEnergy', value);
      const registers = encodeRegisters([value.total, ...value.tariffs], ENERGY, id);
      return value.frozenAt === null ? registers : concatBytes([encodeMinuteTime(value.frozenAt, `DI ${id}`), registers]);
    }
    case 'freezeTime':
      if (value.kind !== 'freezeTime') throw mismatch(id, 'freezeTime', value);
      return value.value === null ? new Uint8Array(FREEZE_TIME_LENGTH) : encodeMinuteTime(value.value, `DI ${id}`);
  }
}
