import { bcdByteToNumber, numberToBcdByte } from './bcd.ts';
import { ProtocolError } from './errors.ts';

/**
 * BCD calendar fields as the meter and concentrator send them (least significant field first,
 * two-digit years in 2000-2099). Times stay strings in the meter's local time: the codecs never
 * look at a clock or a time zone, the caller owns both.
 *
 * Shapes: 'YYYY-MM-DD' (Td_d, A.20), 'YYYY-MM' (Td_m, A.21), 'YYYY-MM-DD hh:mm' (A.15 and
 * DL/T 645 YYMMDDhhmm), 'YYYY-MM-DD hh:mm:ss' (DL/T 645 ssmmhhDDMMYY).
 */

type TimeField = 'second' | 'minute' | 'hour' | 'day' | 'month' | 'year';
type Fields = Partial<Record<TimeField, number>>;

/** mm hh DD MM YY: Q/GDW A.15 and DL/T 645 "YYMMDDhhmm" (sent low field first). */
export const MINUTE_TIME_LAYOUT: readonly TimeField[] = ['minute', 'hour', 'day', 'month', 'year'];
/** ss mm hh DD MM YY: DL/T 645 relay valid-until and broadcast time. */
export const SECOND_TIME_LAYOUT: readonly TimeField[] = ['second', 'minute', 'hour', 'day', 'month', 'year'];
/** DD MM YY: Q/GDW Td_d (A.20). */
export const DATE_LAYOUT: readonly TimeField[] = ['day', 'month', 'year'];
/** MM YY: Q/GDW Td_m (A.21). */
export const MONTH_LAYOUT: readonly TimeField[] = ['month', 'year'];
/** ss mm hh DD: Q/GDW Tp send time (A.16). */
export const DAY_TIME_LAYOUT: readonly TimeField[] = ['second', 'minute', 'hour', 'day'];

const RANGES: Record<TimeField, [number, number]> = {
  second: [0, 59],
  minute: [0, 59],
  hour: [0, 23],
  day: [1, 31],
  month: [1, 12],
  year: [0, 99],
};

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function validate(fields: Fields, what: string): void {
  for (const [name, value] of Object.entries(fields) as [TimeField, number][]) {
    const [min, max] = RANGES[name];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new ProtocolError('TIME_INVALID', `${what}: ${name} ${value} is out of range`);
    }
  }
  if (fields.day !== undefined && fields.month !== undefined && fields.year !== undefined) {
    if (fields.day > daysInMonth(2000 + fields.year, fields.month)) {
      throw new ProtocolError('TIME_INVALID', `${what}: day ${fields.day} does not exist in month ${fields.month}`);
    }
  }
}

export function decodeTimeFields(bytes: Uint8Array, layout: readonly TimeField[], what: string): Fields {
  if (bytes.length !== layout.length) {
    throw new ProtocolError('TIME_INVALID', `${what}: expected ${layout.length} bytes, got ${bytes.length}`);
  }
  const fields: Fields = {};
  layout.forEach((name, i) => {
    fields[name] = bcdByteToNumber(bytes[i] as number, `${what} ${name}`);
  });
  validate(fields, what);
  return fields;
}

export function encodeTimeFields(fields: Fields, layout: readonly TimeField[], what: string): Uint8Array {
  validate(fields, what);
  return Uint8Array.from(layout, (name) => {
    const value = fields[name];
    if (value === undefined) throw new ProtocolError('TIME_INVALID', `${what}: ${name} missing`);
    return numberToBcdByte(value, `${what} ${name}`);
  });
}

const p2 = (n: number | undefined): string => String(n ?? 0).padStart(2, '0');

function formatFields(f: Fields): string {
  let out = `${2000 + (f.year ?? 0)}-${p2(f.month)}`;
  if (f.day !== undefined) out += `-${p2(f.day)}`;
  if (f.hour !== undefined) out += ` ${p2(f.hour)}:${p2(f.minute)}`;
  if (f.second !== undefined) out += `:${p2(f.second)}`;
  return out;
}

const SHAPES = {
  month: /^(\d{4})-(\d{2})$/,
  date: /^(\d{4})-(\d{2})-(\d{2})$/,
  minute: /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})$/,
  second: /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/,
} as const;

function parseFields(text: string, shape: keyof typeof SHAPES, what: string): Fields {
  const m = SHAPES[shape].exec(text);
  if (!m) throw new ProtocolError('TIME_INVALID', `${what}: "${text}" is not in ${shape} form`);
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
  if (year === undefined || year < 2000 || year > 2099) {
    throw new ProtocolError('TIME_INVALID', `${what}: year of "${text}" must be 2000-2099 (two-digit on the wire)`);
  }
  const fields: Fields = { year: year - 2000, month: month as number };
  if (day !== undefined) fields.day = day;
  if (hour !== undefined) fields.hour = hour;
  if (minute !== undefined) fields.minute = minute;
  if (second !== undefined) fields.second = second;
  return fields;
}

/** Two-digit strings 00..99. */
const TWO = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

/** BCD byte → 0..99, or -1 when it is not BCD. */
function bcdOrMinus(byte: number): number {
  const hi = byte >> 4;
  const lo = byte & 0x0f;
  return hi > 9 || lo > 9 ? -1 : hi * 10 + lo;
}

/**
 * Fast path for the two shapes every daily frozen reading carries (Td_d and the A.15 read time):
 * the date or date-time text of `length` BCD bytes at `offset` (mm hh DD MM YY or DD MM YY), or
 * null when anything is off, in which case the general decoder gives the reason.
 */
function quickDecode(bytes: Uint8Array, offset: number, withTime: boolean): string | null {
  const base = withTime ? offset + 2 : offset;
  const day = bcdOrMinus(bytes[base]!);
  const month = bcdOrMinus(bytes[base + 1]!);
  const year = bcdOrMinus(bytes[base + 2]!);
  if (day < 1 || month < 1 || month > 12 || year < 0 || day > daysInMonth(2000 + year, month)) return null;
  const date = `20${TWO[year]}-${TWO[month]}-${TWO[day]}`;
  if (!withTime) return date;
  const minute = bcdOrMinus(bytes[offset]!);
  const hour = bcdOrMinus(bytes[offset + 1]!);
  if (minute < 0 || minute > 59 || hour < 0 || hour > 23) return null;
  return `${date} ${TWO[hour]}:${TWO[minute]}`;
}

/** Digits of `text` at [from, from + 2) as a number, -1 when not two ASCII digits. */
function twoDigits(text: string, from: number): number {
  const a = text.charCodeAt(from) - 48;
  const b = text.charCodeAt(from + 1) - 48;
  return a < 0 || a > 9 || b < 0 || b > 9 ? -1 : a * 10 + b;
}

function bcd(n: number): number {
  return (((n / 10) | 0) << 4) | n % 10;
}

/**
 * Fast path of encodeDate / encodeMinuteTime for well-formed text: writes the 3 (DD MM YY) or 5
 * (mm hh DD MM YY) BCD bytes at `out[offset]` and says true; false sends the caller to the general path.
 */
function quickEncodeInto(text: string, withTime: boolean, out: Uint8Array, offset: number): boolean {
  if (text.length !== (withTime ? 16 : 10) || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return false;
  if (twoDigits(text, 0) !== 20) return false;
  const year = twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(2000 + year, month)) return false;
  let o = offset;
  if (withTime) {
    if (text.charCodeAt(10) !== 32 || text.charCodeAt(13) !== 58) return false;
    const hour = twoDigits(text, 11);
    const minute = twoDigits(text, 14);
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return false;
    out[o++] = bcd(minute);
    out[o++] = bcd(hour);
  }
  out[o++] = bcd(day);
  out[o++] = bcd(month);
  out[o] = bcd(year);
  return true;
}

function quickEncode(text: string, withTime: boolean): Uint8Array | null {
  const out = new Uint8Array(withTime ? 5 : 3);
  return quickEncodeInto(text, withTime, out, 0) ? out : null;
}

/** encodeMinuteTime written at `out[offset]` (5 bytes). */
export function writeMinuteTime(out: Uint8Array, offset: number, text: string, what = 'time'): void {
  if (quickEncodeInto(text, true, out, offset)) return;
  const bytes = encodeMinuteTime(text, what);
  for (let i = 0; i < bytes.length; i++) out[offset + i] = bytes[i]!;
}

/** 'YYYY-MM-DD hh:mm' from the 5 BCD bytes (mm hh DD MM YY) at `offset`, validated as decodeMinuteTime does. */
export function decodeMinuteTimeAt(bytes: Uint8Array, offset: number, what = 'time'): string {
  return (offset + 5 <= bytes.length ? quickDecode(bytes, offset, true) : null) ?? decodeMinuteTime(bytes.subarray(offset, offset + 5), what);
}

/** 'YYYY-MM-DD' from the 3 BCD bytes (DD MM YY) at `offset`, validated as decodeDate does. */
export function decodeDateAt(bytes: Uint8Array, offset: number, what = 'date'): string {
  return (offset + 3 <= bytes.length ? quickDecode(bytes, offset, false) : null) ?? decodeDate(bytes.subarray(offset, offset + 3), what);
}

export function decodeMinuteTime(bytes: Uint8Array, what = 'time'): string {
  return (bytes.length === 5 ? quickDecode(bytes, 0, true) : null) ?? formatFields(decodeTimeFields(bytes, MINUTE_TIME_LAYOUT, what));
}

export function encodeMinuteTime(text: string, what = 'time'): Uint8Array {
  return quickEncode(text, true) ?? encodeTimeFields(parseFields(text, 'minute', what), MINUTE_TIME_LAYOUT, what);
}

export function decodeSecondTime(bytes: Uint8Array, what = 'time'): string {
  return formatFields(decodeTimeFields(bytes, SECOND_TIME_LAYOUT, what));
}

export function encodeSecondTime(text: string, what = 'time'): Uint8Array {
  return encodeTimeFields(parseFields(text, 'second', what), SECOND_TIME_LAYOUT, what);
}

export function decodeDate(bytes: Uint8Array, what = 'date'): string {
  return (bytes.length === 3 ? quickDecode(bytes, 0, false) : null) ?? formatFields(decodeTimeFields(bytes, DATE_LAYOUT, what));
}

export function encodeDate(text: string, what = 'date'): Uint8Array {
  return quickEncode(text, false) ?? encodeTimeFields(parseFields(text, 'date', what), DATE_LAYOUT, what);
}

export function decodeMonth(bytes: Uint8Array, what = 'month'): string {
  return formatFields(decodeTimeFields(bytes, MONTH_LAYOUT, what));
}

export function encodeMonth(text: string, what = 'month'): Uint8Array {
  return encodeTimeFields(parseFields(text, 'month', what), MONTH_LAYOUT, what);
}

/** Day-of-month and time, as in the Q/GDW Tp send time (the month is implied by the link). */
export interface DayTime {
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

export function decodeDayTime(bytes: Uint8Array, what = 'Tp send time'): DayTime {
  const f = decodeTimeFields(bytes, DAY_TIME_LAYOUT, what);
  return { day: f.day ?? 1, hour: f.hour ?? 0, minute: f.minute ?? 0, second: f.second ?? 0 };
}

export function encodeDayTime(time: DayTime, what = 'Tp send time'): Uint8Array {
  return encodeTimeFields({ ...time }, DAY_TIME_LAYOUT, what);
}
