import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, sum8, toHex } from './bcd.ts';
import {
  decodeDlt645Control,
  decodeDlt645Frame,
  encodeDlt645Control,
  encodeDlt645Frame,
  scanDlt645Frames,
} from './dlt645.ts';
import {
  decodeDlt645Message,
  encodeDlt645ErrorReply,
  encodeDlt645ReadAddressReply,
  encodeDlt645ReadAddressRequest,
  encodeDlt645ReadFollowUpReply,
  encodeDlt645ReadFollowUpRequest,
  encodeDlt645ReadReply,
  encodeDlt645ReadRequest,
  encodeDlt645RelayControl,
  encodeDlt645RelayControlReply,
} from './dlt645-messages.ts';
import { decodeDlt645Value, encodeDlt645Value, TARIFF_NAMES, type Dlt645Value } from './dlt645-values.ts';
import { ProtocolError } from './errors.ts';

const METER = '000072007201';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProtocolError) return error.code;
    throw error;
  }
  return 'no error';
}

function roundTripReply(di: string, value: Dlt645Value): Dlt645Value {
  const message = decodeDlt645Message(encodeDlt645ReadReply(METER, di, value));
  if (message.kind !== 'readReply') throw new Error(`expected readReply, got ${message.kind}`);
  expect(message.di).toBe(di);
  return message.value;
}

describe('DL/T 645 control code', () => {
  it('splits direction, abnormal, follow-up and function', () => {
    expect(decodeDlt645Control(0x11)).toEqual({ code: 0x11, fromMeter: false, abnormal: false, hasFollowUp: false, func: 0x11 });
    expect(decodeDlt645Control(0x91)).toMatchObject({ fromMeter: true, abnormal: false, hasFollowUp: false });
    expect(decodeDlt645Control(0xb1)).toMatchObject({ fromMeter: true, hasFollowUp: true, func: 0x11 });
    expect(decodeDlt645Control(0xd1)).toMatchObject({ fromMeter: true, abnormal: true, func: 0x11 });
    expect(encodeDlt645Control({ fromMeter: true, abnormal: true, func: 0x1c })).toBe(0xdc);
    expect(codeOf(() => encodeDlt645Control({ fromMeter: false, func: 0x20 }))).toBe('DLT645_BAD_DATA');
  });
});

describe('DL/T 645 reads', () => {
  it('a read request with the 4-byte wake-up preamble decodes to its DI', () => {
    const bytes = encodeDlt645ReadRequest(METER, '00010000', { preamble: 4 });
    expect(toHex(bytes.subarray(0, 4))).toBe('FE FE FE FE');
    expect(decodeDlt645Message(bytes)).toEqual({ kind: 'readRequest', address: METER, di: '00010000', params: new Uint8Array(0) });
  });

  it('forward active total energy round-trips as a decimal string', () => {
    expect(roundTripReply('00010000', { kind: 'scalar', quantity: 'activeEnergy', unit: 'kWh', value: '987654.32' })).toEqual({
      kind: 'scalar',
      quantity: 'activeEnergy',
      unit: 'kWh',
      value: '987654.32',
    });
  });

  it('the 0001FF00 block is the total then tariffs 尖 峰 平 谷', () => {
    const block: Dlt645Value = { kind: 'energyRegisters', unit: 'kWh', total: '100.00', tariffs: ['10.00', '40.00', '30.00', '20.00'] };
    expect(roundTripReply('0001FF00', block)).toEqual(block);
    expect(TARIFF_NAMES).toEqual(['sharp', 'peak', 'flat', 'valley']);
  });

  it('voltage, signed current, power factor and frequency use their own formats', () => {
    expect(roundTripReply('02010100', { kind: 'scalar', quantity: 'voltage', unit: 'V', value: '229.7' })).toMatchObject({ value: '229.7' });
    expect(toHex(encodeDlt645Value('02020100', { kind: 'scalar', quantity: 'current', unit: 'A', value: '-5.123' }))).toBe('23 51 80');
    expect(roundTripReply('02020100', { kind: 'scalar', quantity: 'current', unit: 'A', value: '-5.123' })).toMatchObject({ value: '-5.123' });
    expect(roundTripReply('02060000', { kind: 'scalar', quantity: 'powerFactor', unit: '', value: '0.998' })).toMatchObject({ value: '0.998' });
    expect(roundTripReply('02800002', { kind: 'scalar', quantity: 'frequency', unit: 'Hz', value: '49.98' })).toMatchObject({ value: '49.98' });
    expect(roundTripReply('0201FF00', { kind: 'phases', quantity: 'voltage', unit: 'V', values: ['220.1', '221.2', '219.9'] })).toMatchObject({
      values: ['220.1', '221.2', '219.9'],
    });
  });

  it('05060101 daily frozen energy is accepted with or without the freeze time in front', () => {
    const registers = { total: '1234.56', tariffs: ['1.00', '2.00', '3.00', '4.00'] };
    const standard: Dlt645Value = { kind: 'dailyFrozenEnergy', unit: 'kWh', frozenAt: null, ...registers };
    const withTime: Dlt645Value = { ...standard, frozenAt: '2025-03-01 00:00' };
    expect(encodeDlt645Value('05060101', standard)).toHaveLength(20);
    expect(encodeDlt645Value('05060101', withTime)).toHaveLength(25);
    expect(roundTripReply('05060101', standard)).toEqual(standard);
    expect(roundTripReply('05060101', withTime)).toEqual(withTime);
    expect(roundTripReply('05060002', { kind: 'freezeTime', value: '2025-02-28 00:00' })).toEqual({ kind: 'freezeTime', value: '2025-02-28 00:00' });
    expect(decodeDlt645Value('05060001', new Uint8Array(5))).toEqual({ kind: 'freezeTime', value: null });
  });

  it('registers a meter fills with 0xFF or 0xEE (no such data) decode as null, not as a failed read', () => {
    const block = decodeDlt645Message(
      encodeDlt645Frame({ address: METER, control: 0x91, data: fromHex('00 FF 01 00 00 00 01 00 00 00 01 00 FF FF FF FF EE EE EE EE FF FF FF FF') }),
    );
    expect(block).toMatchObject({ kind: 'readReply', value: { kind: 'energyRegisters', total: '100.00', tariffs: ['100.00', null, null, null] } });
    expect(decodeDlt645Value('0201FF00', fromHex('97 22 FF FF FF FF'))).toMatchObject({ kind: 'phases', values: ['229.7', null, null] });
    expect(decodeDlt645Value('02030000', fromHex('FF FF FF'))).toMatchObject({ kind: 'scalar', value: null });
    expect(decodeDlt645Value('05060001', fromHex('FF FF FF FF FF'))).toEqual({ kind: 'freezeTime', value: null });
    expect(decodeDlt645Value('05060101', new Uint8Array(20).fill(0xee))).toEqual({
      kind: 'dailyFrozenEnergy', unit: 'kWh', frozenAt: null, total: null, tariffs: [null, null, null, null],
    });
    const sparse: Dlt645Value = { kind: 'energyRegisters', unit: 'kWh', total: '5.00', tariffs: ['5.00', null] };
    expect(toHex(encodeDlt645Value('0001FF00', sparse))).toBe('00 05 00 00 00 05 00 00 FF FF FF FF');
    expect(roundTripReply('0001FF00', sparse)).toEqual(sparse);
    expect(codeOf(() => decodeDlt645Value('00010000', fromHex('FF FF 00 00')))).toBe('BCD_INVALID');
  });

  it('an unknown DI keeps its bytes raw instead of failing', () => {
    expect(decodeDlt645Value('04000401', fromHex('01 02 03'))).toEqual({ kind: 'raw', bytes: fromHex('01 02 03') });
    expect(roundTripReply('028022FF', { kind: 'raw', bytes: fromHex('12 34') })).toEqual({ kind: 'raw', bytes: fromHex('12 34') });
  });

  it('a known DI with the wrong length is a ProtocolError', () => {
    expect(codeOf(() => decodeDlt645Value('00010000', fromHex('00 00 00')))).toBe('DLT645_BAD_DATA');
    expect(codeOf(() => decodeDlt645Value('0001FF00', fromHex('00 00 00 00 00')))).toBe('DLT645_BAD_DATA');
  });

  it('the encoder refuses values that do not fit the DI', () => {
    const negative: Dlt645Value = { kind: 'scalar', quantity: 'activeEnergy', unit: 'kWh', value: '-1.00' };
    expect(codeOf(() => encodeDlt645Value('00010000', negative))).toBe('BCD_OUT_OF_RANGE');
    expect(encodeDlt645Value('00000000', negative)).toEqual(fromHex('00 01 00 80'));
    expect(codeOf(() => encodeDlt645Value('00010000', { kind: 'freezeTime', value: null }))).toBe('DLT645_BAD_VALUE');
    expect(codeOf(() => encodeDlt645Value('04000401', { kind: 'freezeTime', value: null }))).toBe('DLT645_BAD_VALUE');
    expect(codeOf(() => encodeDlt645ReadRequest('12345', '00010000'))).toBe('DLT645_BAD_ADDRESS');
    expect(codeOf(() => encodeDlt645ReadRequest(METER, '0001000'))).toBe('DLT645_BAD_DI');
  });

  it('a reply with more data (0xB1) and its follow-up read (0x12 / 0x92) carry the sequence number', () => {
    const value: Dlt645Value = { kind: 'scalar', quantity: 'activeEnergy', unit: 'kWh', value: '1.00' };
    const first = encodeDlt645ReadReply(METER, '00010000', value, { hasMore: true });
    expect(first[8]).toBe(0xb1);
    expect(decodeDlt645Message(first)).toMatchObject({ kind: 'readReply', hasMore: true });
    expect(decodeDlt645Message(encodeDlt645ReadFollowUpRequest(METER, '00010000', 1))).toEqual({
      kind: 'readFollowUpRequest',
      address: METER,
      di: '00010000',
      seq: 1,
    });
    const next = encodeDlt645ReadFollowUpReply(METER, '00010000', value, 1);
    expect(next[8]).toBe(0x92);
    expect(decodeDlt645Message(next)).toEqual({ kind: 'readFollowUpReply', address: METER, di: '00010000', value, seq: 1, hasMore: false });
  });

  it('an error reply names its error bits', () => {
    const bytes = encodeDlt645ErrorReply(METER, 0x11, 0x02);
    expect(toHex(bytes.subarray(8, 11))).toBe('D1 01 35');
    expect(decodeDlt645Message(bytes)).toEqual({ kind: 'errorReply', address: METER, func: 0x11, errorCode: 2, errors: ['noRequestedData'] });
  });

  it('read-address request and reply', () => {
    expect(decodeDlt645Message(encodeDlt645ReadAddressRequest())).toEqual({ kind: 'readAddressRequest', address: 'AAAAAAAAAAAA' });
    expect(decodeDlt645Message(encodeDlt645ReadAddressReply(METER))).toEqual({ kind: 'readAddressReply', address: METER, meterAddress: METER });
  });
});

describe('DL/T 645 remote relay control (0x1C)', () => {
  const order = {
    command: 'trip',
    passwordLevel: 0x02,
    password: '123456',
    operatorCode: '00000001',
    validUntil: '2025-06-30 23:59:59',
  } as const;

  it('lays out PA P0P1P2 C0..C3 N1 N2 N3..N8 low byte first', () => {
    const frame = decodeDlt645Frame(encodeDlt645RelayControl(METER, order));
    expect(frame.control.code).toBe(0x1c);
    expect(toHex(frame.data)).toBe('02 56 34 12 01 00 00 00 1A 00 59 59 23 30 06 25');
    expect(decodeDlt645Message(encodeDlt645RelayControl(METER, order))).toEqual({ kind: 'relayControlRequest', address: METER, ...order });
  });

  it('allow-close uses N1 = 0x1B', () => {
    const frame = decodeDlt645Frame(encodeDlt645RelayControl(METER, { ...order, command: 'allowClose' }));
    expect(frame.data[8]).toBe(0x1b);
  });

  it('the meter confirms with 0x9C or refuses with 0xDC and an error byte', () => {
    expect(decodeDlt645Message(encodeDlt645RelayControlReply(METER))).toEqual({ kind: 'relayControlReply', address: METER });
    expect(decodeDlt645Message(encodeDlt645ErrorReply(METER, 0x1c, 0x04))).toMatchObject({ kind: 'errorReply', func: 0x1c, errors: ['unauthorized'] });
  });

  it('refuses malformed passwords, operator codes and times', () => {
    expect(codeOf(() => encodeDlt645RelayControl(METER, { ...order, password: '12345' }))).toBe('DLT645_BAD_DATA');
    expect(codeOf(() => encodeDlt645RelayControl(METER, { ...order, operatorCode: 'XYZ00000' }))).toBe('DLT645_BAD_DATA');
    expect(codeOf(() => encodeDlt645RelayControl(METER, { ...order, validUntil: '2025-02-30 00:00:00' }))).toBe('TIME_INVALID');
  });
});

describe('DL/T 645 framing errors', () => {
  const good = fromHex('68 12 90 78 56 34 12 68 91 08 33 33 34 33 AB 89 67 45 CC 16');

  it('a wrong checksum is DLT645_BAD_CHECKSUM', () => {
    const bad = good.slice();
    bad[14] = 0xac;
    expect(codeOf(() => decodeDlt645Frame(bad))).toBe('DLT645_BAD_CHECKSUM');
  });

  it('a cut frame is DLT645_TRUNCATED, at any cut point', () => {
    for (let n = 0; n < good.length; n++) expect(codeOf(() => decodeDlt645Frame(good.subarray(0, n)))).toBe('DLT645_TRUNCATED');
  });

  it('an L that disagrees with the frame, or bytes after it, is DLT645_BAD_LENGTH', () => {
    const shortL = good.slice();
    shortL[9] = 0x06;
    expect(codeOf(() => decodeDlt645Frame(shortL))).toBe('DLT645_BAD_LENGTH');
    expect(codeOf(() => decodeDlt645Frame(concatBytes([good, Uint8Array.of(0x00)])))).toBe('DLT645_BAD_LENGTH');
    const huge = encodeDlt645Frame({ address: METER, control: 0x91, data: new Uint8Array(10) });
    huge[9] = 201;
    expect(codeOf(() => decodeDlt645Frame(huge))).toBe('DLT645_BAD_LENGTH');
    expect(codeOf(() => encodeDlt645Frame({ address: METER, control: 0x91, data: new Uint8Array(201) }))).toBe('DLT645_BAD_LENGTH');
  });

  it('bad start and end bytes have their own codes', () => {
    const badStart = good.slice();
    badStart[0] = 0x69;
    expect(codeOf(() => decodeDlt645Frame(badStart))).toBe('DLT645_BAD_START');
    const badSecondStart = good.slice();
    badSecondStart[7] = 0x00;
    expect(codeOf(() => decodeDlt645Frame(badSecondStart))).toBe('DLT645_BAD_START');
    const badEnd = good.slice();
    badEnd[badEnd.length - 1] = 0x17;
    expect(codeOf(() => decodeDlt645Frame(badEnd))).toBe('DLT645_BAD_END');
  });

  it('a frame too short for its DI is DLT645_BAD_DATA', () => {
    expect(codeOf(() => decodeDlt645Message(encodeDlt645Frame({ address: METER, control: 0x11, data: fromHex('00 00') })))).toBe('DLT645_BAD_DATA');
  });
});

describe('DL/T 645 stream scanner', () => {
  const a = encodeDlt645ReadRequest(METER, '00010000', { preamble: 4 });
  const b = encodeDlt645ReadReply(METER, '00010000', { kind: 'scalar', quantity: 'activeEnergy', unit: 'kWh', value: '42.00' });

  it('pulls frames out of noise and keeps an incomplete tail', () => {
    const stream = concatBytes([fromHex('00 68 68 16 FF'), a, fromHex('12 34'), b, b.subarray(0, 7)]);
    const result = scanDlt645Frames(stream);
    expect(result.frames.map((f) => f.control.code)).toEqual([0x11, 0x91]);
    expect(toHex(result.rest)).toBe(toHex(b.subarray(0, 7)));
    expect(result.discarded).toBe(7);
    const next = scanDlt645Frames(concatBytes([result.rest, b.subarray(7)]));
    expect(next.frames).toHaveLength(1);
    expect(next.rest).toHaveLength(0);
  });

  it('finds every frame when the stream arrives one byte at a time', () => {
    const stream = concatBytes([a, b, a]);
    let pending: Uint8Array = new Uint8Array(0);
    const seen: number[] = [];
    for (const byte of stream) {
      const result = scanDlt645Frames(concatBytes([pending, Uint8Array.of(byte)]));
      seen.push(...result.frames.map((f) => f.control.code));
      pending = result.rest;
    }
    expect(seen).toEqual([0x11, 0x91, 0x11]);
  });

  it('skips a corrupted frame and still finds the next one', () => {
    const corrupted = b.slice();
    corrupted[12] = (corrupted[12] as number) ^ 0x01;
    const result = scanDlt645Frames(concatBytes([corrupted, a]));
    expect(result.frames).toHaveLength(1);
    expect(result.frames[0]?.control.code).toBe(0x11);
    expect(sum8(a, 4, a.length - 2)).toBe(a[a.length - 2]);
  });
});
