import { ProtocolError, type ProtocolErrorCode } from './errors.ts';

/**
 * BCD and byte helpers shared by the DL/T 645 and Q/GDW 1376.1 codecs. Readings are carried as
 * decimal strings end to end: a register such as 999999.99 kWh must reach billing digit for digit,
 * and no JavaScript number ever holds it.
 */

export function toHex(bytes: Uint8Array, separator = ' '): string {
  return Array.from(bytes, (b) => b.toString(16).toUpperCase().padStart(2, '0')).join(separator);
}

/** Accepts "68 12 90", "681290" or "68-12-90"; used by tests, fixtures and the simulator's config. */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/[\s:-]/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
    throw new ProtocolError('BCD_INVALID', `not a hex byte string: "${hex}"`);
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function sum8(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum = (sum + (bytes[i] ?? 0)) & 0xff;
  return sum;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function isFilledWith(bytes: Uint8Array, value: number): boolean {
  return bytes.length > 0 && bytes.every((b) => b === value);
}

export function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

/**
 * Bounds-checked reader: running past the end throws the caller's protocol-specific TRUNCATED
 * code instead of yielding `undefined` and a NaN three calls later.
 */
export class ByteReader {
  private offset: number;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly truncatedCode: ProtocolErrorCode,
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.offset = start;
  }

  get position(): number {
    return this.offset;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  u8(what: string): number {
    return this.take(1, what)[0] as number;
  }

  u16le(what: string): number {
    const b = this.take(2, what);
    return (b[0] as number) | ((b[1] as number) << 8);
  }

  /** The bytes being read (for decoders that read in place after `advance`). */
  get source(): Uint8Array {
    return this.bytes;
  }

  /** Like `take`, without the view: checks and consumes `length` bytes, gives their start offset. */
  advance(length: number, what: string): number {
    if (length < 0 || this.offset + length > this.end) {
      throw new ProtocolError(
        this.truncatedCode,
        `${what}: needs ${length} byte(s) at offset ${this.offset}, only ${this.remaining} left`,
      );
    }
    const at = this.offset;
    this.offset += length;
    return at;
  }

  take(length: number, what: string): Uint8Array {
    if (length < 0 || this.offset + length > this.end) {
      throw new ProtocolError(
        this.truncatedCode,
        `${what}: needs ${length} byte(s) at offset ${this.offset}, only ${this.remaining} left`,
      );
    }
    const out = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  rest(): Uint8Array {
    return this.take(this.remaining, 'rest');
  }
}

export function bcdByteToNumber(byte: number, what = 'BCD byte'): number {
  const hi = byte >> 4;
  const lo = byte & 0x0f;
  if (hi > 9 || lo > 9) throw new ProtocolError('BCD_INVALID', `${what}: 0x${hex2(byte)} is not BCD`);
  return hi * 10 + lo;
}

export function numberToBcdByte(n: number, what = 'BCD byte'): number {
  if (!Number.isInteger(n) || n < 0 || n > 99) {
    throw new ProtocolError('BCD_OUT_OF_RANGE', `${what}: ${n} does not fit one BCD byte`);
  }
  return ((Math.floor(n / 10) << 4) | n % 10) & 0xff;
}

/** A BCD layout as the standards print it: "XXXXXX.XX" is 4 bytes with 2 decimals. */
export interface BcdFormat {
  readonly byteLength: number;
  readonly decimals: number;
  /** Bit 7 of the most significant byte is the sign (DL/T 645 currents, Q/GDW A.5/A.9/A.25). */
  readonly signed: boolean;
}

export function parseBcdFormat(pattern: string, signed = false): BcdFormat {
  const match = /^(X+)(?:\.(X+))?$/.exec(pattern);
  const digits = (match?.[1]?.length ?? 0) + (match?.[2]?.length ?? 0);
  if (!match || digits % 2 !== 0) {
    throw new ProtocolError('BCD_OUT_OF_RANGE', `unsupported BCD format "${pattern}"`);
  }
  return { byteLength: digits / 2, decimals: match[2]?.length ?? 0, signed };
}

const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);
/** Integer digits that a double holds exactly (2^53 ≈ 9.007e15): 7 BCD bytes are 14 digits. */
const FAST_BYTES = 7;

/**
 * Decodes the BCD value at `bytes[offset .. offset + format.byteLength)` (least significant byte
 * first) into a canonical decimal string; the same result as `decodeBcdDecimal` on that slice,
 * without slicing. Up to 7 bytes the digits are gathered in an exact integer; anything that is not
 * BCD goes to the general decoder for its error.
 */
export function decodeBcdDecimalAt(bytes: Uint8Array, offset: number, format: BcdFormat, what = 'value'): string {
  const n = format.byteLength;
  if (n > FAST_BYTES || offset + n > bytes.length) return decodeBcdDecimal(bytes.subarray(offset, offset + n), format, what);
  let v = 0;
  let negative = false;
  for (let i = offset + n - 1; i >= offset; i--) {
    let byte = bytes[i]!;
    if (format.signed && i === offset + n - 1) {
      negative = (byte & 0x80) !== 0;
      byte &= 0x7f;
    }
    const hi = byte >> 4;
    const lo = byte & 0x0f;
    if (hi > 9 || lo > 9) return decodeBcdDecimal(bytes.subarray(offset, offset + n), format, what);
    v = v * 100 + hi * 10 + lo;
  }
  const sign = negative && v !== 0 ? '-' : '';
  if (format.decimals === 0) return `${sign}${v}`;
  const scale = POW10[format.decimals]!;
  const intPart = Math.floor(v / scale);
  const frac = String(v - intPart * scale).padStart(format.decimals, '0');
  return `${sign}${intPart}.${frac}`;
}

/** Decodes BCD transmitted least significant byte first into a canonical decimal string. */
export function decodeBcdDecimal(bytesLsbFirst: Uint8Array, format: BcdFormat, what = 'value'): string {
  if (bytesLsbFirst.length === format.byteLength && format.byteLength <= FAST_BYTES) {
    let plain = true;
    for (let i = 0; i < bytesLsbFirst.length; i++) {
      const b = bytesLsbFirst[i]!;
      if ((b & 0x0f) > 9 || ((format.signed && i === bytesLsbFirst.length - 1 ? b & 0x7f : b) >> 4) > 9) plain = false;
    }
    if (plain) return decodeBcdDecimalAt(bytesLsbFirst, 0, format, what);
  }
  if (bytesLsbFirst.length !== format.byteLength) {
    throw new ProtocolError(
      'BCD_INVALID',
      `${what}: expected ${format.byteLength} BCD byte(s), got ${bytesLsbFirst.length}`,
    );
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
    if (hi > 9 || lo > 9) {
      throw new ProtocolError('BCD_INVALID', `${what}: byte 0x${hex2(bytesLsbFirst[i] as number)} is not BCD`);
    }
    digits += `${hi}${lo}`;
  }
  const intPart = digits.slice(0, digits.length - format.decimals).replace(/^0+(?=\d)/, '') || '0';
  const fracPart = digits.slice(digits.length - format.decimals);
  const magnitude = format.decimals > 0 ? `${intPart}.${fracPart}` : intPart;
  // A meter can send the sign bit on a zero reading; "-0.00" would only confuse billing.
  return negative && /[1-9]/.test(digits) ? `-${magnitude}` : magnitude;
}

/**
 * Encodes a decimal string; refuses anything that would not come back identical (too many
 * digits, extra non-zero decimals, a sign the format cannot carry) rather than rounding.
 */
export function encodeBcdDecimal(value: string, format: BcdFormat, what = 'value'): Uint8Array {
  const out = new Uint8Array(format.byteLength);
  if (!format.signed && encodePlainBcdInto(value, format, out, 0)) return out;
  return encodeBcdDecimalSlow(value, format, what);
}

/**
 * Fast path of `encodeBcdDecimal` for the common shape, an unsigned "digits[.digits]" that fits:
 * writes the BCD bytes at `out[offset ..]` and says true. Says false (writing nothing that matters)
 * for anything else, which the general encoder then accepts or refuses with its reason.
 */
export function encodePlainBcdInto(value: string, format: BcdFormat, out: Uint8Array, offset: number): boolean {
  const len = value.length;
  if (len === 0) return false;
  let dot = -1;
  for (let i = 0; i < len; i++) {
    const c = value.charCodeAt(i);
    if (c === 46 && dot < 0 && i > 0 && i < len - 1) dot = i;
    else if (c < 48 || c > 57) return false;
  }
  const intEnd = dot < 0 ? len : dot;
  const fracLen = dot < 0 ? 0 : len - dot - 1;
  if (fracLen > format.decimals) return false;
  let lead = 0;
  while (lead < intEnd && value.charCodeAt(lead) === 48) lead++;
  const totalDigits = format.byteLength * 2;
  if (intEnd - lead > totalDigits - format.decimals) return false;
  // digit k counts from the least significant end: position of the last integer digit is `decimals`
  for (let i = 0; i < format.byteLength; i++) out[offset + i] = 0;
  for (let i = intEnd - 1, k = format.decimals; i >= lead; i--, k++) {
    const d = value.charCodeAt(i) - 48;
    out[offset + (k >> 1)] |= k & 1 ? d << 4 : d;
  }
  for (let j = 0, k = format.decimals - 1; j < fracLen; j++, k--) {
    const d = value.charCodeAt(dot + 1 + j) - 48;
    out[offset + (k >> 1)] |= k & 1 ? d << 4 : d;
  }
  return true;
}

function encodeBcdDecimalSlow(value: string, format: BcdFormat, what: string): Uint8Array {
  const match = /^(-)?(\d+)(?:\.(\d+))?$/.exec(value);
  if (!match) throw new ProtocolError('BCD_OUT_OF_RANGE', `${what}: "${value}" is not a decimal number`);
  const negative = match[1] === '-';
  const intDigits = (match[2] as string).replace(/^0+/, '');
  const fracGiven = match[3] ?? '';
  if (fracGiven.length > format.decimals && /[1-9]/.test(fracGiven.slice(format.decimals))) {
    throw new ProtocolError(
      'BCD_OUT_OF_RANGE',
      `${what}: "${value}" has more than ${format.decimals} decimal(s)`,
    );
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
  if (format.signed && Number(digits[0]) > 7) {
    throw new ProtocolError('BCD_OUT_OF_RANGE', `${what}: "${value}" collides with the sign bit`);
  }
  const out = new Uint8Array(format.byteLength);
  for (let i = 0; i < format.byteLength; i++) {
    const pos = totalDigits - 2 * (i + 1);
    out[i] = (Number(digits[pos]) << 4) | Number(digits[pos + 1]);
  }
  if (negative && !isZero) out[format.byteLength - 1] = (out[format.byteLength - 1] as number) | 0x80;
  return out;
}
