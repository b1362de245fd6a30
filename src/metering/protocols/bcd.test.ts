import { describe, expect, it } from 'vitest';
import { decodeBcdDecimal, encodeBcdDecimal, fromHex, parseBcdFormat, toHex } from './bcd.ts';
import {
  decodeDate,
  decodeMinuteTime,
  decodeMonth,
  decodeSecondTime,
  encodeDate,
  encodeMinuteTime,
  encodeMonth,
  encodeSecondTime,
} from './calendar.ts';
import { ProtocolError } from './errors.ts';

const energy = parseBcdFormat('XXXXXX.XX');
const current = parseBcdFormat('XXX.XXX', true);

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProtocolError) return error.code;
    throw error;
  }
  return 'no error';
}

describe('BCD decimals', () => {
  it('reads a register as an exact decimal string without leading zeros', () => {
    expect(decodeBcdDecimal(fromHex('99 99 99 99'), energy)).toBe('999999.99');
    expect(decodeBcdDecimal(fromHex('00 00 00 00'), energy)).toBe('0.00');
    expect(decodeBcdDecimal(fromHex('05 00 00 00'), energy)).toBe('0.05');
    expect(decodeBcdDecimal(fromHex('23 01 00'), parseBcdFormat('XXXXXX'))).toBe('123');
  });

  it('treats bit 7 of the top byte as the sign only for signed formats', () => {
    expect(decodeBcdDecimal(fromHex('00 00 85'), current)).toBe('-50.000');
    expect(decodeBcdDecimal(fromHex('00 00 80'), current)).toBe('0.000');
    expect(decodeBcdDecimal(fromHex('00 00 00 80'), energy)).toBe('800000.00');
  });

  it('rejects nibbles above 9 and wrong widths', () => {
    expect(codeOf(() => decodeBcdDecimal(fromHex('0A 00 00 00'), energy))).toBe('BCD_INVALID');
    expect(codeOf(() => decodeBcdDecimal(fromHex('00 00 00'), energy))).toBe('BCD_INVALID');
  });

  it('encodes without rounding: extra zeros are fine, extra digits are refused', () => {
    expect(toHex(encodeBcdDecimal('123456.78', energy))).toBe('78 56 34 12');
    expect(toHex(encodeBcdDecimal('12', energy))).toBe('00 12 00 00');
    expect(toHex(encodeBcdDecimal('0012.500', energy))).toBe('50 12 00 00');
    expect(codeOf(() => encodeBcdDecimal('1.234', energy))).toBe('BCD_OUT_OF_RANGE');
    expect(codeOf(() => encodeBcdDecimal('1000000', energy))).toBe('BCD_OUT_OF_RANGE');
    expect(codeOf(() => encodeBcdDecimal('-1', energy))).toBe('BCD_OUT_OF_RANGE');
    expect(codeOf(() => encodeBcdDecimal('1e3', energy))).toBe('BCD_OUT_OF_RANGE');
    expect(codeOf(() => encodeBcdDecimal('800.000', current))).toBe('BCD_OUT_OF_RANGE');
  });

  it('round-trips signed values at the edge of the sign bit', () => {
    for (const v of ['-799.999', '799.999', '-0.001', '0.000']) {
      expect(decodeBcdDecimal(encodeBcdDecimal(v, current), current)).toBe(v);
    }
  });

  it('refuses format patterns that do not fill whole bytes', () => {
    expect(codeOf(() => parseBcdFormat('XXX.XX'))).toBe('BCD_OUT_OF_RANGE');
    expect(parseBcdFormat('XX.XXXX', true)).toEqual({ byteLength: 3, decimals: 4, signed: true });
  });

  it('parses hex with or without separators and refuses odd input', () => {
    expect(toHex(fromHex('68-12:90 78'))).toBe('68 12 90 78');
    expect(codeOf(() => fromHex('681'))).toBe('BCD_INVALID');
    expect(codeOf(() => fromHex('zz'))).toBe('BCD_INVALID');
  });
});

describe('BCD calendar fields', () => {
  it('reads A.15 / YYMMDDhhmm low field first', () => {
    expect(decodeMinuteTime(fromHex('18 16 28 08 18'))).toBe('2018-08-28 16:18');
    expect(toHex(encodeMinuteTime('2018-08-28 16:18'))).toBe('18 16 28 08 18');
  });

  it('round-trips dates, months and second times', () => {
    expect(decodeDate(encodeDate('2024-02-29'))).toBe('2024-02-29');
    expect(decodeMonth(encodeMonth('2018-07'))).toBe('2018-07');
    expect(toHex(encodeSecondTime('2025-11-02 12:34:56'))).toBe('56 34 12 02 11 25');
    expect(decodeSecondTime(fromHex('56 34 12 02 11 25'))).toBe('2025-11-02 12:34:56');
  });

  it('refuses impossible calendar values', () => {
    expect(codeOf(() => decodeDate(fromHex('29 02 23')))).toBe('TIME_INVALID');
    expect(codeOf(() => decodeMinuteTime(fromHex('00 24 01 01 24')))).toBe('TIME_INVALID');
    expect(codeOf(() => decodeDate(fromHex('01 13 24')))).toBe('TIME_INVALID');
    expect(codeOf(() => encodeDate('1999-12-31'))).toBe('TIME_INVALID');
    expect(codeOf(() => encodeDate('2024-6-1'))).toBe('TIME_INVALID');
    expect(codeOf(() => decodeDate(fromHex('1A 01 24')))).toBe('BCD_INVALID');
  });
});
