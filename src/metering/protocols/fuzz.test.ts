import { describe, expect, it } from 'vitest';
import {
  decodeDlt645Frame,
  decodeDlt645Message,
  decodeDlt645Value,
  decodeDlt698Frame,
  decodeGdw1376Frame,
  encodeDailyFrozenEnergyReply,
  encodeDlt645ReadReply,
  encodeDlt645RelayControl,
  fromHex,
  looksLikeDlt698,
  ProtocolError,
  scanDlt645Frames,
  scanGdw1376Frames,
  sum8,
} from './index.ts';
import { loadConformance } from '../../../test/support/conformance.ts';

/** Deterministic so a failure can be replayed; the seed is in the test name. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 0x5eed1376;
const random = mulberry32(SEED);
const int = (n: number): number => Math.floor(random() * n);
const randomBytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256));

/** Runs fn and fails the test on any throw that is not a ProtocolError. */
function onlyProtocolErrors(fn: () => unknown, input: Uint8Array): 'ok' | string {
  try {
    fn();
    return 'ok';
  } catch (error) {
    if (error instanceof ProtocolError) return error.code;
    throw new Error(`non-ProtocolError on ${Buffer.from(input).toString('hex')}: ${String(error)}`);
  }
}

const decoders: [string, (b: Uint8Array) => unknown][] = [
  ['decodeDlt645Frame', decodeDlt645Frame],
  ['decodeDlt645Message', decodeDlt645Message],
  ['decodeGdw1376Frame', decodeGdw1376Frame],
  ['decodeDlt698Frame', decodeDlt698Frame],
  ['looksLikeDlt698', looksLikeDlt698],
  ['scanDlt645Frames', scanDlt645Frames],
  ['scanGdw1376Frames', scanGdw1376Frames],
];

/** Random buffers shaped like each protocol's header so the fuzz gets past the first check. */
function shapedGarbage(): Uint8Array {
  const body = randomBytes(int(260));
  switch (int(4)) {
    case 0:
      return body;
    case 1: {
      const frame = new Uint8Array(12 + int(40));
      frame.set(randomBytes(frame.length));
      frame.set([0x68], 0);
      frame.set([0x68, int(256), frame.length - 12], 7);
      frame[frame.length - 2] = sum8(frame, 0, frame.length - 2);
      frame[frame.length - 1] = 0x16;
      return frame;
    }
    case 2: {
      const userData = 8 + int(80);
      const frame = randomBytes(userData + 8);
      const l = (userData << 2) | 2;
      frame.set([0x68, l & 0xff, l >> 8, l & 0xff, l >> 8, 0x68], 0);
      frame[frame.length - 2] = sum8(frame, 6, frame.length - 2);
      frame[frame.length - 1] = 0x16;
      return frame;
    }
    default: {
      const frame = randomBytes(12 + int(40));
      frame.set([0x68, (frame.length - 2) & 0xff, 0], 0);
      frame[frame.length - 1] = 0x16;
      return frame;
    }
  }
}


/** Valid frames to mutate: every conformance frame plus a few the encoders build. */
function corpus(): { bytes: Uint8Array; protocol: '645' | '1376' | '698' }[] {
  const d645 = loadConformance('dlt645_vectors.json');
  const q1376 = loadConformance('q1376_vectors.json');
  return [
    ...d645.frames.map((f: any) => ({ bytes: fromHex(f.hex), protocol: '645' as const })),
    ...d645.dlt698_frames.map((f: any) => ({ bytes: fromHex(f.hex), protocol: '698' as const })),
    ...q1376.frames.map((f: any) => ({ bytes: fromHex(f.hex), protocol: '1376' as const })),
    {
      bytes: encodeDlt645ReadReply('000000000001', '0001FF00', { kind: 'energyRegisters', unit: 'kWh', total: '5.00', tariffs: ['1.00', '2.00', '1.00', '1.00'] }),
      protocol: '645' as const,
    },
    {
      bytes: encodeDlt645RelayControl('000000000001', {
        command: 'trip',
        passwordLevel: 2,
        password: '000000',
        operatorCode: '00000000',
        validUntil: '2030-01-01 00:00:00',
      }),
      protocol: '645' as const,
    },
    {
      bytes: encodeDailyFrozenEnergyReply(
        { address: { areaCode: '2101', terminal: 1, msa: 1, group: false }, seq: { seq: 0 } },
        [{ pn: 1, date: '2025-01-01', readAt: '2025-01-02 00:05', registers: { total: '1', tariffs: ['1', '0'] } }],
      ),
      protocol: '1376' as const,
    },
  ];
}

/** Restores length and checksum after a mutation so the decoder reaches the data it carries. */
function refit(bytes: Uint8Array, protocol: '645' | '1376' | '698'): Uint8Array {
  if (protocol === '645') {
    let p = 0;
    while (bytes[p] === 0xfe) p++;
    if (bytes.length - p < 12) return bytes;
    bytes[p + 9] = Math.min(bytes.length - p - 12, 255);
    bytes[bytes.length - 2] = sum8(bytes, p, bytes.length - 2);
  } else if (protocol === '1376' && bytes.length >= 16) {
    const l = ((bytes.length - 8) << 2) | 2;
    bytes.set([l & 0xff, (l >> 8) & 0xff, l & 0xff, (l >> 8) & 0xff], 1);
    bytes[bytes.length - 2] = sum8(bytes, 6, bytes.length - 2);
  }
  return bytes;
}

function mutate(source: Uint8Array): Uint8Array {
  const bytes = Array.from(source);
  const edits = 1 + int(4);
  for (let e = 0; e < edits; e++) {
    const at = 6 + int(Math.max(bytes.length - 8, 1));
    const op = int(5);
    if (op === 0) bytes.splice(at, 0, int(256));
    else if (op === 1 && bytes.length > 16) bytes.splice(at, 1);
    else if (op === 2) bytes[at] = 0xee;
    else bytes[at] = int(256);
  }
  return Uint8Array.from(bytes);
}

describe(`fuzz (seed 0x${SEED.toString(16)}): malformed input only ever throws ProtocolError`, () => {
  it('4,000 random and header-shaped buffers through every decoder and scanner', () => {
    for (let n = 0; n < 4000; n++) {
      const input = shapedGarbage();
      for (const [, decode] of decoders) onlyProtocolErrors(() => decode(input), input);
    }
  });

  it('3,000 mutated valid frames, re-checksummed so decoding reaches the data units', () => {
    const frames = corpus();
    const outcomes = new Map<string, number>();
    for (let n = 0; n < 3000; n++) {
      const { bytes, protocol } = frames[int(frames.length)]!;
      const input = refit(mutate(bytes), protocol);
      const decode = protocol === '645' ? decodeDlt645Message : protocol === '1376' ? decodeGdw1376Frame : decodeDlt698Frame;
      const outcome = onlyProtocolErrors(() => decode(input), input);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      onlyProtocolErrors(() => scanDlt645Frames(input), input);
      onlyProtocolErrors(() => scanGdw1376Frames(input), input);
    }
    // The mutations must leave enough frames decodable for the data-unit code to be exercised.
    expect(outcomes.get('ok') ?? 0).toBeGreaterThan(300);
  });

  it('2,000 random payloads for the known DL/T 645 data identifiers', () => {
    const dis = ['00000000', '00010000', '0001FF00', '02010100', '0201FF00', '02020100', '02030000', '02800002', '05060001', '05060101', '05060201'];
    for (let n = 0; n < 2000; n++) {
      const input = randomBytes(int(30));
      onlyProtocolErrors(() => decodeDlt645Value(dis[int(dis.length)]!, input), input);
    }
  });

  it('a scanner fed random chunks of a stream mixing frames and noise only returns checksum-valid frames', () => {
    const frames = corpus().filter((f) => f.protocol === '645');
    let pending: Uint8Array = new Uint8Array(0);
    let found = 0;
    for (let n = 0; n < 500; n++) {
      const chunk = random() < 0.5 ? frames[int(frames.length)]!.bytes : randomBytes(int(20));
      const buffer = new Uint8Array(pending.length + chunk.length);
      buffer.set(pending);
      buffer.set(chunk, pending.length);
      const result = scanDlt645Frames(buffer);
      found += result.frames.length;
      pending = result.rest;
    }
    expect(found).toBeGreaterThan(150);
  });
});
