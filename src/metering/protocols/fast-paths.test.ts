/**
 * The codecs' fast paths (BCD decimals, Td_d dates and A.15 read times, in-place writes of F161
 * bodies) must give exactly what the general code gives: the same text, the same bytes, and for bad
 * input the same ProtocolError code and message. The references below are the general algorithms
 * as they stood before the fast paths, kept here verbatim (in spirit) as the oracle.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../platform/index.ts';
import { decodeBcdDecimal, decodeBcdDecimalAt, encodeBcdDecimal, hex2, parseBcdFormat, type BcdFormat } from './bcd.ts';
import { decodeDate, decodeMinuteTime, encodeDate, encodeMinuteTime } from './calendar.ts';
import { ProtocolError } from './errors.ts';
import {
  decodeGdw1376Frame,
  encodeDailyFrozenEnergyReply,
  forwardEnergyReadings,
  type DailyFrozenEnergyReading,
} from './index.ts';

function refDecode(bytesLsbFirst: Uint8Array, format: BcdFormat, what = 'value'): string {
  if (bytesLsbFirst.length !== format.byteLength) {
    throw new ProtocolError('BCD_INVALID', `${what}: expected ${format.byteLength} BCD byte(s), got ${bytesLsbFirst.length}`);
  }
  let negative = false;
  let digits = '';
  for (let i = bytesLsbFirst.length - 1; i >= 0; i--) {
    let byte = bytesLsbFirst[i] as number;
    if (format.signed && i === bytesLsbFirst.length - 1) {
      negative = (byte & 0x80) !== 0;
      byte &= 0x7f;
    }
    const hi = byte >> 4;
    const lo = byte & 0x0f;
    if (hi > 9 || lo > 9) throw new ProtocolError('BCD_INVALID', `${what}: byte 0x${hex2(bytesLsbFirst[i] as number)} is not BCD`);
    digits += `${hi}${lo}`;
  }
  const intPart = digits.slice(0, digits.length - format.decimals).replace(/^0+(?=\d)/, '') || '0';
  const fracPart = digits.slice(digits.length - format.decimals);
  const magnitude = format.decimals > 0 ? `${intPart}.${fracPart}` : intPart;
  return negative && /[1-9]/.test(digits) ? `-${magnitude}` : magnitude;
}

function refEncode(value: string, format: BcdFormat, what = 'value'): Uint8Array {
  const match = /^(-)?(\d+)(?:\.(\d+))?$/.exec(value);
  if (!match) throw new ProtocolError('BCD_OUT_OF_RANGE', `${what}: "${value}" is not a decimal number`);
  const negative = match[1] === '-';
  const intDigits = (match[2] as string).replace(/^0+/, '');
  const fracGiven = match[3] ?? '';
  if (fracGiven.length > format.decimals && /[1-9]/.test(fracGiven.slice(format.decimals))) {
    throw new ProtocolError('BCD_OUT_OF_RANGE', `${what}: "${value}" has more than ${format.decimals} decimal(s)`);
  }
  const frac = fracGiven.slice(0, format.decimals).padEnd(format.decimals, '0');
  const totalDigits = format.byteLength * 2;
  if (intDigits.length > totalDigits - format.decimals) {
    throw new ProtocolError('BCD_OUT_OF_RANGE', `${what}: "${value}" is too large for ${format.byteLength} byte(s)`);
  }
  const digits = (intDigits + frac).padStart(totalDigits, '0');
  const isZero = !/[1-9]/.test(digits);
  if (negative && !isZero && !format.signed) {
    throw new ProtocolError('BCD_OUT_OF_RANGE', `${what}: "${value}" is negative but the format is unsigned`);
  }
  if (format.signed && Number(digits[0]) > 7) throw new ProtocolError('BCD_OUT_OF_RANGE', `${what}: "${value}" collides with the sign bit`);
  const out = new Uint8Array(format.byteLength);
  for (let i = 0; i < format.byteLength; i++) {
    const pos = totalDigits - 2 * (i + 1);
    out[i] = (Number(digits[pos]) << 4) | Number(digits[pos + 1]);
  }
  if (negative && !isZero) out[format.byteLength - 1] = (out[format.byteLength - 1] as number) | 0x80;
  return out;
}

const days = (y: number, m: number) => (m === 2 ? ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31);
const bcd = (n: number) => ((Math.floor(n / 10) << 4) | n % 10) & 0xff;
const unbcd = (b: number, what: string) => {
  if (b >> 4 > 9 || (b & 15) > 9) throw new ProtocolError('BCD_INVALID', `${what}: 0x${hex2(b)} is not BCD`);
  return (b >> 4) * 10 + (b & 15);
};

/** Reference for decodeDate / decodeMinuteTime: field by field, low field first, each range-checked in wire order. */
function refDecodeTime(bytes: Uint8Array, layout: string[], what: string): string {
  if (bytes.length !== layout.length) throw new ProtocolError('TIME_INVALID', `${what}: expected ${layout.length} bytes, got ${bytes.length}`);
  const ranges: Record<string, [number, number]> = { minute: [0, 59], hour: [0, 23], day: [1, 31], month: [1, 12], year: [0, 99] };
  const f: Record<string, number> = {};
  layout.forEach((name, i) => (f[name] = unbcd(bytes[i]!, `${what} ${name}`)));
  for (const name of layout) {
    const [min, max] = ranges[name]!;
    if (f[name]! < min || f[name]! > max) throw new ProtocolError('TIME_INVALID', `${what}: ${name} ${f[name]} is out of range`);
  }
  if (f.day! > days(2000 + f.year!, f.month!)) throw new ProtocolError('TIME_INVALID', `${what}: day ${f.day} does not exist in month ${f.month}`);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const date = `${2000 + f.year!}-${p2(f.month!)}-${p2(f.day!)}`;
  return f.hour === undefined ? date : `${date} ${p2(f.hour)}:${p2(f.minute!)}`;
}

function outcome<T>(fn: () => T): { ok: T } | { code: string; message: string } {
  try {
    return { ok: fn() };
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    return { code: e.code, message: e.message };
  }
}

const FORMATS = [
  parseBcdFormat('XXXXXX.XXXX'),
  parseBcdFormat('XXXXXX.XX'),
  parseBcdFormat('XX.XXXX', true),
  parseBcdFormat('XXX.X', true),
  parseBcdFormat('XXX.X'),
  parseBcdFormat('XXX.XXX', true),
  parseBcdFormat('XXXX'),
  parseBcdFormat('XXXXXXXXXXXXXXXX'),
];

describe('codec fast paths agree with the general algorithms', () => {
  const rng = new Rng(20261127);

  it('BCD decimals decode to the same text, or fail the same way', () => {
    for (let n = 0; n < 20_000; n++) {
      const format = rng.pick(FORMATS);
      // mostly valid BCD, sometimes any byte, sometimes the wrong length
      const length = rng.chance(0.02) ? format.byteLength + rng.int(-1, 1) : format.byteLength;
      const bytes = Uint8Array.from({ length: Math.max(0, length) }, () => (rng.chance(0.05) ? rng.int(0, 255) : bcd(rng.int(0, 99)) | (rng.chance(0.1) ? 0x80 : 0)));
      expect(outcome(() => decodeBcdDecimal(bytes, format, 'v'))).toEqual(outcome(() => refDecode(bytes, format, 'v')));
      // in place, inside a larger buffer
      const padded = Uint8Array.from([0x68, ...bytes, 0x16]);
      if (bytes.length === format.byteLength) {
        expect(outcome(() => decodeBcdDecimalAt(padded, 1, format, 'v'))).toEqual(outcome(() => refDecode(bytes, format, 'v')));
      }
    }
  });

  it('decimal text encodes to the same bytes, or fails the same way', () => {
    const pieces = ['', '0', '00', '5', '12', '999999', '1000000', '123456789', '.', '-', '-0', 'x', ' ', '0000000', '7', '8', '9999999999999999'];
    for (let n = 0; n < 20_000; n++) {
      const format = rng.pick(FORMATS);
      let text: string;
      if (rng.chance(0.7)) {
        const int = String(rng.int(0, 10 ** rng.int(0, 9)));
        const frac = rng.chance(0.8) ? `.${String(rng.int(0, 99999)).padStart(rng.int(1, 6), '0').slice(0, rng.int(1, 6))}` : '';
        text = `${rng.chance(0.1) ? '-' : ''}${rng.chance(0.1) ? '00' : ''}${int}${frac}`;
      } else {
        text = Array.from({ length: rng.int(1, 3) }, () => rng.pick(pieces)).join(rng.pick(['', '.', '-']));
      }
      expect(outcome(() => Array.from(encodeBcdDecimal(text, format, 'v'))), `${text} as ${JSON.stringify(format)}`).toEqual(
        outcome(() => Array.from(refEncode(text, format, 'v'))),
      );
    }
  });

  it('Td_d dates and A.15 read times decode and encode as the field-by-field code does', () => {
    for (let n = 0; n < 20_000; n++) {
      const withTime = rng.chance(0.5);
      const length = withTime ? 5 : 3;
      const bytes = Uint8Array.from({ length }, (_, i) => {
        if (rng.chance(0.03)) return rng.int(0, 255);
        const limit = withTime ? [60, 24, 32, 13, 100][i]! : [32, 13, 100][i]!;
        return bcd(rng.int(0, limit));
      });
      const layout = withTime ? ['minute', 'hour', 'day', 'month', 'year'] : ['day', 'month', 'year'];
      const decoded = outcome(() => (withTime ? decodeMinuteTime(bytes, 't') : decodeDate(bytes, 't')));
      expect(decoded).toEqual(outcome(() => refDecodeTime(bytes, layout, 't')));
      if ('ok' in decoded) {
        const again = withTime ? encodeMinuteTime(decoded.ok, 't') : encodeDate(decoded.ok, 't');
        expect(Array.from(again)).toEqual(Array.from(bytes));
      }
    }
    // text the fast path refuses still gets the general path's answer
    const refused: [string, string][] = [
      ['2026-02-29', 't: day 29 does not exist in month 2'],
      ['1999-01-01', 't: year of "1999-01-01" must be 2000-2099 (two-digit on the wire)'],
      ['2100-01-01', 't: year of "2100-01-01" must be 2000-2099 (two-digit on the wire)'],
      ['2026-1-01', 't: "2026-1-01" is not in date form'],
      ['2026-13-01', 't: month 13 is out of range'],
      [' 2026-01-01', 't: " 2026-01-01" is not in date form'],
    ];
    for (const [text, message] of refused) expect(outcome(() => encodeDate(text, 't'))).toEqual({ code: 'TIME_INVALID', message });
    expect(Array.from(encodeDate('2024-02-29'))).toEqual([0x29, 0x02, 0x24]);
    const refusedTimes: [string, string][] = [
      ['2026-01-01 24:00', 't: hour 24 is out of range'],
      ['2026-01-01 23:60', 't: minute 60 is out of range'],
      ['2026-01-01T00:00', 't: "2026-01-01T00:00" is not in minute form'],
      ['2026-02-30 10:00', 't: day 30 does not exist in month 2'],
    ];
    for (const [text, message] of refusedTimes) expect(outcome(() => encodeMinuteTime(text, 't'))).toEqual({ code: 'TIME_INVALID', message });
  });

  it('an F161 reply written in place decodes back to what was written, EE and odd tariffs included', () => {
    const readings: DailyFrozenEnergyReading[] = Array.from({ length: 40 }, (_, i) => ({
      pn: i + 1,
      date: i % 7 === 0 ? '2026-01-13' : '2026-01-14',
      readAt: i % 5 === 0 ? null : `2026-01-15 0${i % 10}:${String(i).padStart(2, '0')}`,
      registers: {
        total: i % 6 === 0 ? null : `${i * 1234}.${String(i).padStart(2, '0')}`,
        tariffs: Array.from({ length: i % 3 === 0 ? 0 : 4 }, (_, k) => (k === i % 4 ? null : `${i * k}.5`)),
      },
    }));
    const frame = decodeGdw1376Frame(encodeDailyFrozenEnergyReply({ address: { areaCode: '2101', terminal: 9, msa: 0, group: false }, seq: { seq: 3 } }, readings));
    const back = forwardEnergyReadings(frame);
    const norm = (v: string | null) => (v === null ? null : refDecode(refEncode(v, FORMATS[0]!), FORMATS[0]!));
    expect(back).toEqual(
      readings.map((r) => ({ pn: r.pn, date: r.date, readAt: r.readAt, registers: { total: norm(r.registers.total), tariffs: r.registers.tariffs.map(norm) } })),
    );
  });
});
