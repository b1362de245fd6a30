import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, sum8, toHex } from './bcd.ts';
import { ProtocolError } from './errors.ts';
import { decodeGdw1376Frame, encodeGdw1376Frame, gdw1376Items, scanGdw1376Frames, type Gdw1376Address } from './gdw1376.ts';
import { encodeTdD } from './gdw1376-data.ts';
import { decodeDlt645Message, encodeDlt645RelayControl, encodeDlt645RelayControlReply } from './dlt645-messages.ts';
import { decodeDa, decodeDt, encodeDa, encodeDt, groupPns } from './gdw1376-ids.ts';
import {
  encodeCurrentForwardEnergyReply,
  encodeCurrentForwardEnergyRequest,
  encodeDailyFrozenEnergyReply,
  encodeDailyFrozenEnergyRequest,
  encodeGdw1376Confirm,
  encodeGdw1376Deny,
  encodeGdw1376LinkCheck,
  encodeTransparentForwardReply,
  encodeTransparentForwardRequest,
  forwardEnergyReadings,
  gdw1376LinkCheckKind,
  replyEnvelopeFor,
  transparentForwardOf,
  type DailyFrozenEnergyReading,
} from './gdw1376-messages.ts';

const TERMINAL: Gdw1376Address = { areaCode: '2101', terminal: 513, msa: 0, group: false };
const FROM_MASTER: Gdw1376Address = { ...TERMINAL, msa: 3 };
const TP = { pfc: 7, sentAt: { day: 2, hour: 0, minute: 35, second: 10 }, delayMinutes: 5 };

/** A link check's fields as encoder input, so a test can add what the plain encoder leaves out. */
function decodeForInput(bytes: Uint8Array) {
  const f = decodeGdw1376Frame(bytes);
  return {
    control: { dir: f.control.dir, prm: f.control.prm, func: f.control.func },
    address: f.address,
    afn: f.afn,
    seq: { fir: f.seq.fir, fin: f.seq.fin, con: f.seq.con, seq: f.seq.seq },
    units: f.units.map((u) => ({ pn: u.pn, fn: u.fn })),
  };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProtocolError) return error.code;
    throw error;
  }
  return 'no error';
}

/** Rewrites L and CS after a test edits the user data, so only the intended fault remains. */
function refit(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const l = ((out.length - 8) << 2) | 2;
  out.set([l & 0xff, l >> 8, l & 0xff, l >> 8], 1);
  out[out.length - 2] = sum8(out, 6, out.length - 2);
  return out;
}

describe('DA/DT: measuring points and information items', () => {
  it('follows pn = (DA2 − 1) × 8 + bit + 1 and Fn = DT2 × 8 + bit + 1', () => {
    expect(toHex(encodeDa([0]))).toBe('00 00');
    expect(toHex(encodeDa([1]))).toBe('01 01');
    expect(toHex(encodeDa([9]))).toBe('01 02');
    expect(toHex(encodeDa([2040]))).toBe('80 FF');
    expect(toHex(encodeDa([1, 3, 8]))).toBe('85 01');
    expect(toHex(encodeDt([1]))).toBe('01 00');
    expect(toHex(encodeDt([3]))).toBe('04 00');
    expect(toHex(encodeDt([129]))).toBe('01 10');
    expect(toHex(encodeDt([161, 162]))).toBe('03 14');
    expect(decodeDa(0x85, 0x01)).toEqual([1, 3, 8]);
    expect(decodeDt(0x03, 0x00)).toEqual([1, 2]);
  });

  it('refuses sets that span groups or leave the valid range', () => {
    expect(codeOf(() => encodeDa([8, 9]))).toBe('GDW1376_BAD_DATA_UNIT_ID');
    expect(codeOf(() => encodeDa([2041]))).toBe('GDW1376_BAD_DATA_UNIT_ID');
    expect(codeOf(() => encodeDa([]))).toBe('GDW1376_BAD_DATA_UNIT_ID');
    expect(codeOf(() => encodeDt([8, 9]))).toBe('GDW1376_BAD_DATA_UNIT_ID');
    expect(codeOf(() => encodeDt([249]))).toBe('GDW1376_BAD_DATA_UNIT_ID');
    expect(decodeDa(0x01, 0x00)).toBeNull();
    expect(decodeDt(0x00, 0x01)).toBeNull();
  });

  it('groups measuring points in eights, keeping p0 alone', () => {
    expect(groupPns([1, 2, 9, 3, 0, 17])).toEqual([[1, 2, 3], [9], [0], [17]]);
  });
});

describe('link checks and the master confirm', () => {
  it('a heartbeat is confirmed with the same address and RSEQ = its PSEQ', () => {
    const heartbeat = decodeGdw1376Frame(encodeGdw1376LinkCheck('heartbeat', TERMINAL, 13));
    expect(heartbeat.seq).toEqual({ tpv: false, fir: true, fin: true, con: true, seq: 13 });
    expect(gdw1376LinkCheckKind(heartbeat)).toBe('heartbeat');

    const confirm = decodeGdw1376Frame(encodeGdw1376Confirm(heartbeat));
    // the answer to a link test (func 9) is "link status" (func 11): C = 0x0B, as terminals expect
    expect(confirm.control).toEqual({ code: 0x0b, dir: 'down', prm: false, fcbAcd: false, fcv: false, func: 11 });
    expect(confirm.address).toEqual(TERMINAL);
    expect(confirm.afn).toBe(0x00);
    expect(confirm.seq).toEqual({ tpv: false, fir: true, fin: true, con: false, seq: 13 });
    expect(gdw1376Items(confirm)).toEqual([{ pn: 0, fn: 1, value: { kind: 'empty' } }]);
  });

  it('the confirm of a login carrying a time label echoes its Tp (TpV set, same PFC and time)', () => {
    const plain = encodeGdw1376LinkCheck('login', TERMINAL, 6);
    const withTp = decodeGdw1376Frame(
      encodeGdw1376Frame({ ...decodeForInput(plain), tp: TP }),
    );
    expect(withTp.tp).toEqual(TP);
    expect(gdw1376LinkCheckKind(withTp)).toBe('login');
    const bytes = encodeGdw1376Confirm(withTp);
    const confirm = decodeGdw1376Frame(bytes);
    expect(confirm.seq).toEqual({ tpv: true, fir: true, fin: true, con: false, seq: 6 });
    expect(confirm.tp).toEqual(TP);
    expect(toHex(bytes.subarray(0, 20))).toBe('68 4A 00 4A 00 68 0B 01 21 01 02 00 00 E6 00 00 01 00 07 10');
  });

  it('a login whose Tp time is no valid time (a reset clock: day 00) is still a login, and its confirm echoes those bytes', () => {
    const bad = Uint8Array.of(0x10, 0x35, 0x00, 0x00); // ss mm hh DD: 00:35:10 on day 00
    const login = decodeGdw1376Frame(encodeGdw1376Frame({ ...decodeForInput(encodeGdw1376LinkCheck('login', TERMINAL, 6)), tp: { pfc: 7, sentAt: null, sentAtBytes: bad, delayMinutes: 0 } }));
    expect(gdw1376LinkCheckKind(login)).toBe('login');
    expect(login.tp).toEqual({ pfc: 7, sentAt: null, sentAtBytes: bad, delayMinutes: 0 });
    const confirm = decodeGdw1376Frame(encodeGdw1376Confirm(login));
    expect(confirm.tp).toEqual(login.tp);
  });

  it('a data frame the terminal starts (e.g. an AFN 0E event) is confirmed with func 0, not link status', () => {
    const event = decodeGdw1376Frame(
      encodeGdw1376Frame({ control: { dir: 'up', prm: true, func: 4 }, address: TERMINAL, afn: 0x0e, seq: { con: true, seq: 3 }, units: [] }),
    );
    const confirm = decodeGdw1376Frame(encodeGdw1376Confirm(event));
    expect(confirm.control).toMatchObject({ code: 0x00, dir: 'down', prm: false, func: 0 });
    expect(confirm.seq.seq).toBe(3);
  });

  it('a per-item confirm (F3) names the AFN and each data unit it confirms', () => {
    const login = decodeGdw1376Frame(encodeGdw1376LinkCheck('login', TERMINAL, 2));
    const confirm = decodeGdw1376Frame(encodeGdw1376Confirm(login, { perItem: true }));
    expect(gdw1376Items(confirm)).toEqual([
      { pn: 0, fn: 3, value: { kind: 'itemAcknowledgements', afn: 0x02, items: [{ pn: [0], fn: [1], ok: true }] } },
    ]);
  });

  it('a deny is AFN 00 F2, and a terminal answers a master downward frame upward', () => {
    const request = decodeGdw1376Frame(encodeCurrentForwardEnergyRequest({ address: FROM_MASTER, seq: 4, pns: [1] }));
    const deny = decodeGdw1376Frame(encodeGdw1376Deny(request));
    expect(deny.control).toMatchObject({ dir: 'up', prm: false, func: 9 });
    expect(deny.address.msa).toBe(3);
    expect(gdw1376Items(deny)).toEqual([{ pn: 0, fn: 2, value: { kind: 'empty' } }]);
  });
});

describe('reading forward active energy through the concentrator', () => {
  const readings: DailyFrozenEnergyReading[] = [
    { pn: 1, date: '2025-03-01', readAt: '2025-03-02 00:05', registers: { total: '12345.6789', tariffs: ['1.0000', '2.0000', '3.0000', null] } },
    { pn: 2, date: '2025-03-01', readAt: null, registers: { total: null, tariffs: [] } },
    { pn: 300, date: '2025-03-01', readAt: '2025-03-02 00:07', registers: { total: '999999.9999', tariffs: ['0'] } },
  ];

  it('an AFN 0D F161 request packs up to eight pn per unit and repeats Td_d for each', () => {
    const pns = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const bytes = encodeDailyFrozenEnergyRequest({ address: FROM_MASTER, seq: 5, pns, date: '2025-03-01', tp: TP });
    const frame = decodeGdw1376Frame(bytes);
    expect(frame.control).toMatchObject({ code: 0x4b, dir: 'down', prm: true, func: 11 });
    expect(frame.units.map((u) => u.pn)).toEqual([[1, 2, 3, 4, 5, 6, 7, 8], [9, 10]]);
    expect(gdw1376Items(frame).map((i) => [i.pn, i.fn, i.value])).toEqual(
      pns.map((pn) => [pn, 161, { kind: 'frozenDate', date: '2025-03-01' }]),
    );
    expect(frame.tp).toEqual(TP);
  });

  it('the F161 reply round-trips, with EE for missing registers and the request Tp echoed', () => {
    const request = decodeGdw1376Frame(
      encodeDailyFrozenEnergyRequest({ address: FROM_MASTER, seq: 5, pns: [1, 2, 300], date: '2025-03-01', tp: TP }),
    );
    const reply = decodeGdw1376Frame(encodeDailyFrozenEnergyReply(replyEnvelopeFor(request), readings));
    expect(reply.control).toMatchObject({ code: 0x88, dir: 'up', prm: false, func: 8 });
    expect(reply.address).toEqual(FROM_MASTER);
    expect(reply.seq).toEqual({ tpv: true, fir: true, fin: true, con: false, seq: 5 });
    expect(reply.tp).toEqual(TP);
    expect(forwardEnergyReadings(reply)).toEqual(readings.map((r) => ({ ...r, registers: { ...r.registers, tariffs: r.registers.tariffs.map((t) => (t === '0' ? '0.0000' : t)) } })));
  });

  it('FE (invalid) and FF fill void only their own field of an F161 reply, as EE does; a Td_d marked EE names no day', () => {
    const td = encodeTdD('2025-03-01');
    // read time 00:05 2 March, M = 2, total 12.3400, tariff 1 invalid (FE), tariff 2 FF-filled
    const body = fromHex('05 00 02 03 25 02 00 34 12 00 00 FE FE FE FE FE FF FF FF FF FF');
    const bytes = encodeGdw1376Frame({
      control: { dir: 'up', prm: false, func: 8 },
      address: TERMINAL,
      afn: 0x0d,
      seq: { seq: 1 },
      units: [
        { pn: [1], fn: [161], data: concatBytes([td, fromHex('FE FE FE FE FE 02 FE 00 00 00 00 00 00 00 00 00 00 00 00 00 00')]) },
        { pn: [2], fn: [161], data: concatBytes([td, body]) },
        { pn: [3], fn: [161], data: concatBytes([fromHex('EE EE EE'), body]) },
      ],
    });
    expect(forwardEnergyReadings(decodeGdw1376Frame(bytes))).toEqual([
      { pn: 1, date: '2025-03-01', readAt: null, registers: { total: null, tariffs: ['0.0000', '0.0000'] } },
      { pn: 2, date: '2025-03-01', readAt: '2025-03-02 00:05', registers: { total: '12.3400', tariffs: [null, null] } },
      { pn: 3, date: null, readAt: '2025-03-02 00:05', registers: { total: '12.3400', tariffs: [null, null] } },
    ]);
  });

  it('the F129 request and reply round-trip', () => {
    const request = decodeGdw1376Frame(encodeCurrentForwardEnergyRequest({ address: FROM_MASTER, seq: 15, pns: [8, 9] }));
    expect(gdw1376Items(request).map((i) => [i.pn, i.fn])).toEqual([[8, 129], [9, 129]]);
    const reading = { pn: 8, readAt: '2025-03-02 10:15', registers: { total: '0.0100', tariffs: ['0.0100', null, null, null] } };
    const reply = decodeGdw1376Frame(encodeCurrentForwardEnergyReply(replyEnvelopeFor(request), [reading]));
    expect(reply.tp).toBeNull();
    expect(forwardEnergyReadings(reply)).toEqual([{ ...reading, date: null }]);
  });

  it('a terminal with events waiting sets ACD and appends EC before Tp', () => {
    const bytes = encodeCurrentForwardEnergyReply(
      { address: FROM_MASTER, seq: { seq: 1 }, tp: TP, ec: { important: 3, normal: 9 } },
      [{ pn: 1, readAt: null, registers: { total: '1', tariffs: [] } }],
    );
    const frame = decodeGdw1376Frame(bytes);
    expect(frame.control.fcbAcd).toBe(true);
    expect(frame.ec).toEqual({ important: 3, normal: 9 });
    expect(frame.tp).toEqual(TP);
    expect(forwardEnergyReadings(frame)[0]?.registers.total).toBe('1.0000');
  });

  it('several Fn per unit come pn by pn, Fn by Fn', () => {
    const td = encodeTdD('2025-03-01');
    const bytes = encodeGdw1376Frame({
      control: { dir: 'down', prm: true, func: 11 },
      address: FROM_MASTER,
      afn: 0x0d,
      seq: { seq: 0 },
      units: [{ pn: [1, 2], fn: [161, 162], data: concatBytes([td, td, td, td]) }],
    });
    expect(gdw1376Items(decodeGdw1376Frame(bytes)).map((i) => `p${i.pn}F${i.fn}`)).toEqual(['p1F161', 'p1F162', 'p2F161', 'p2F162']);
  });
});

describe('unknown content does not break decoding', () => {
  it('an Fn of unknown layout keeps the rest of the data raw', () => {
    const bytes = encodeGdw1376Frame({
      control: { dir: 'up', prm: false, func: 8 },
      address: TERMINAL,
      afn: 0x0c,
      seq: { seq: 1 },
      units: [
        { pn: [0], fn: [2], data: fromHex('00 35 00 02 03 25') },
        { pn: [1], fn: [129], data: fromHex('EE EE EE EE EE 00') },
      ],
    });
    const frame = decodeGdw1376Frame(bytes);
    expect(frame.units).toHaveLength(1);
    expect(frame.units[0]).toMatchObject({ pn: [0], fn: [2], items: [] });
    expect(toHex(frame.units[0]?.raw as Uint8Array)).toBe('00 35 00 02 03 25 01 01 01 10 EE EE EE EE EE 00');
  });

  it('an AFN 0D reply Fn of unknown layout keeps its Td_d in the raw bytes', () => {
    const bytes = encodeGdw1376Frame({
      control: { dir: 'up', prm: false, func: 8 },
      address: TERMINAL,
      afn: 0x0d,
      seq: { seq: 1 },
      units: [{ pn: [1], fn: [162], data: concatBytes([encodeTdD('2025-03-01'), fromHex('01 00 03 02 25 00 00 00 00 00')]) }],
    });
    expect(toHex(decodeGdw1376Frame(bytes).units[0]?.raw as Uint8Array)).toBe('01 03 25 01 00 03 02 25 00 00 00 00 00');
  });

  it('a downlink AFN 04 frame carries PW, which is kept apart from the data', () => {
    const pw = Uint8Array.from({ length: 16 }, (_, i) => i);
    const frame = decodeGdw1376Frame(
      encodeGdw1376Frame({
        control: { dir: 'down', prm: true, fcv: true, func: 10 },
        address: FROM_MASTER,
        afn: 0x04,
        seq: { con: true, seq: 2 },
        units: [{ pn: [0], fn: [1], data: fromHex('01 02 03') }],
        pw,
        tp: TP,
      }),
    );
    expect(frame.pw).toEqual(pw);
    expect(frame.tp).toEqual(TP);
    expect(frame.units[0]?.raw).toEqual(fromHex('01 02 03'));
  });

  it('the encoder refuses a PW where the standard has none, and an EC on a downlink', () => {
    const base = { control: { dir: 'down' as const, prm: true, func: 11 }, address: FROM_MASTER, afn: 0x0c, seq: { seq: 0 }, units: [] };
    expect(codeOf(() => encodeGdw1376Frame({ ...base, pw: new Uint8Array(16) }))).toBe('GDW1376_BAD_DATA');
    expect(codeOf(() => encodeGdw1376Frame({ ...base, ec: { important: 0, normal: 0 } }))).toBe('GDW1376_BAD_DATA');
    expect(codeOf(() => encodeGdw1376Frame({ ...base, seq: { seq: 16 } }))).toBe('GDW1376_BAD_DATA');
    expect(codeOf(() => encodeGdw1376Frame({ ...base, address: { ...FROM_MASTER, areaCode: '21A1' } }))).toBe('GDW1376_BAD_ADDRESS');
    expect(codeOf(() => encodeGdw1376Frame({ ...base, address: { ...FROM_MASTER, terminal: 65536 } }))).toBe('GDW1376_BAD_ADDRESS');
  });
});

describe('Q/GDW 1376.1 framing errors', () => {
  const good = encodeDailyFrozenEnergyReply({ address: FROM_MASTER, seq: { seq: 1 } }, [
    { pn: 1, date: '2025-03-01', readAt: '2025-03-02 00:05', registers: { total: '1', tariffs: ['1'] } },
  ]);

  it('a wrong checksum is GDW1376_BAD_CHECKSUM', () => {
    const bad = good.slice();
    bad[bad.length - 2] = ((bad[bad.length - 2] as number) + 1) & 0xff;
    expect(codeOf(() => decodeGdw1376Frame(bad))).toBe('GDW1376_BAD_CHECKSUM');
  });

  it('a cut frame is GDW1376_TRUNCATED at every cut point', () => {
    for (let n = 0; n < good.length; n++) {
      expect(codeOf(() => decodeGdw1376Frame(good.subarray(0, n)))).toBe('GDW1376_TRUNCATED');
    }
  });

  it('mismatched L fields, a foreign protocol id or extra bytes are GDW1376_BAD_LENGTH', () => {
    const mismatch = good.slice();
    mismatch[3] = ((mismatch[3] as number) + 4) & 0xff;
    expect(codeOf(() => decodeGdw1376Frame(mismatch))).toBe('GDW1376_BAD_LENGTH');
    const protocol1 = good.slice();
    protocol1[1] = ((protocol1[1] as number) & 0xfc) | 1;
    protocol1[3] = protocol1[1] as number;
    expect(codeOf(() => decodeGdw1376Frame(protocol1))).toBe('GDW1376_BAD_LENGTH');
    expect(codeOf(() => decodeGdw1376Frame(concatBytes([good, Uint8Array.of(0)])))).toBe('GDW1376_BAD_LENGTH');
    expect(codeOf(() => decodeGdw1376Frame(fromHex('68 1A 00 1A 00 68 88 01 21 01 02 00 0C 60 DA 16')))).toBe('GDW1376_BAD_LENGTH');
  });

  it('bad start and end bytes', () => {
    const start = good.slice();
    start[5] = 0x69;
    expect(codeOf(() => decodeGdw1376Frame(start))).toBe('GDW1376_BAD_START');
    const end = good.slice();
    end[end.length - 1] = 0x17;
    expect(codeOf(() => decodeGdw1376Frame(end))).toBe('GDW1376_BAD_END');
  });

  it('a TpV flag with no room for Tp is GDW1376_BAD_LENGTH', () => {
    const heartbeat = encodeGdw1376LinkCheck('heartbeat', TERMINAL, 1);
    heartbeat[13] = (heartbeat[13] as number) | 0x80;
    expect(codeOf(() => decodeGdw1376Frame(refit(heartbeat)))).toBe('GDW1376_BAD_LENGTH');
  });

  it('a non-BCD area code and a short F161 body are ProtocolErrors', () => {
    const area = good.slice();
    area[7] = 0x1f;
    expect(codeOf(() => decodeGdw1376Frame(refit(area)))).toBe('BCD_INVALID');
    expect(codeOf(() => decodeGdw1376Frame(refit(concatBytes([good.subarray(0, 30), good.subarray(-2)]))))).toBe('GDW1376_BAD_DATA');
  });
});

describe('Q/GDW 1376.1 stream scanner', () => {
  const login = encodeGdw1376LinkCheck('login', TERMINAL, 0);
  const heartbeat = encodeGdw1376LinkCheck('heartbeat', TERMINAL, 1);

  it('finds frames between garbage and keeps the incomplete tail', () => {
    const stream = concatBytes([fromHex('68 FF FF 00'), login, fromHex('16 68'), heartbeat, heartbeat.subarray(0, 9)]);
    const result = scanGdw1376Frames(stream);
    expect(result.frames.map(gdw1376LinkCheckKind)).toEqual(['login', 'heartbeat']);
    expect(toHex(result.rest)).toBe(toHex(heartbeat.subarray(0, 9)));
    expect(result.discarded).toBe(6);
    expect(scanGdw1376Frames(concatBytes([result.rest, heartbeat.subarray(9)])).frames).toHaveLength(1);
  });

  it('does not wait on a stray 68 whose fake L points past a complete frame', () => {
    const stray = fromHex('68 FE 0F FE 0F 68');
    const result = scanGdw1376Frames(concatBytes([stray, login]));
    expect(result.frames).toHaveLength(1);
    expect(result.rest).toHaveLength(0);
  });
});

describe('AFN 10 F1: a DL/T 645 relay order forwarded to a meter behind the concentrator', () => {
  const order = { command: 'trip' as const, passwordLevel: 2, password: '123456', operatorCode: '00000001', validUntil: '2026-03-02 12:00:00' };
  const meterFrame = () => encodeDlt645RelayControl('000000123456', order);

  it('lays out port, control word, timeouts, length, the meter frame and PW, and decodes back', () => {
    const content = meterFrame();
    const bytes = encodeTransparentForwardRequest({ address: FROM_MASTER, seq: 5, content });
    // C = 0x4A (down, PRM, request class-1 data), AFN 10, SEQ with PSEQ 5, DA p0, DT F1
    const hex = (b: Uint8Array) => toHex(b).replace(/ /g, '').toLowerCase();
    expect(hex(bytes.slice(6, 7))).toBe('4a');
    expect(hex(bytes.slice(12, 18))).toBe('1065' + '0000' + '0100');
    // port 2, 2400 8E1, frame timeout 5 s (bit 7: seconds), byte timeout 500 ms, k little-endian
    expect(hex(bytes.slice(18, 24))).toBe(`026b8532${content.length.toString(16).padStart(2, '0')}00`);
    expect(hex(bytes.slice(24, 24 + content.length))).toBe(hex(content));
    // a downlink AFN 10 carries the 16-byte PW before CS
    expect(bytes.length).toBe(24 + content.length + 16 + 2);
    const frame = decodeGdw1376Frame(bytes);
    expect(frame.pw).toHaveLength(16);
    expect(transparentForwardOf(frame)).toEqual({ port: 2, content });
    expect(decodeDlt645Message(transparentForwardOf(frame)!.content)).toMatchObject({ kind: 'relayControlRequest', passwordLevel: 2, password: '123456' });
  });

  it('carries the meter\'s answer back up, or nothing when the meter kept silent', () => {
    const request = decodeGdw1376Frame(encodeTransparentForwardRequest({ address: FROM_MASTER, seq: 9, content: meterFrame() }));
    const answer = encodeDlt645RelayControlReply('000000123456');
    const up = decodeGdw1376Frame(encodeTransparentForwardReply(replyEnvelopeFor(request), { port: 2, content: answer }));
    expect(up.control.dir).toBe('up');
    expect(up.seq.seq).toBe(9);
    expect(decodeDlt645Message(transparentForwardOf(up)!.content)).toEqual({ kind: 'relayControlReply', address: '000000123456' });
    const silent = decodeGdw1376Frame(encodeTransparentForwardReply(replyEnvelopeFor(request), { port: 2, content: new Uint8Array(0) }));
    expect(transparentForwardOf(silent)!.content).toHaveLength(0);
  });

  it('refuses a forwarded length that runs past the data', () => {
    const bytes = encodeTransparentForwardRequest({ address: FROM_MASTER, seq: 1, content: meterFrame() });
    const cut = bytes.slice();
    cut[22] = 0xff;
    expect(codeOf(() => decodeGdw1376Frame(refit(cut)))).not.toBe('no error');
  });
});
