import { decodeGdw1376Frame, isProtocolError, type Gdw1376Frame, type ProtocolErrorCode } from '../protocols/index.ts';

const HEAD = 6;
const MIN_USER_DATA = 8;
const MAX_USER_DATA = 0x3fff;

export interface FrameReadResult {
  frames: Gdw1376Frame[];
  /** One entry per frame (or run of garbage) that could not be used, with the codec's code. */
  errors: { code: ProtocolErrorCode; message: string }[];
}

/**
 * Cuts a TCP byte stream into Q/GDW 1376.1 frames. Unlike `scanGdw1376Frames`, a frame whose head is
 * credible (both L fields agree) but whose body fails to decode (bad checksum, bad data) is reported
 * with its ProtocolError code, so the caller can count what it lost; reading resumes at the next
 * frame, even one that starts inside the bad frame's L.
 */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): FrameReadResult {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const frames: Gdw1376Frame[] = [];
    const errors: FrameReadResult['errors'] = [];
    const b = this.buffer;
    let i = 0;
    let garbage = 0;
    const endGarbage = () => {
      if (garbage) errors.push({ code: 'GDW1376_BAD_START', message: `${garbage} byte(s) outside any frame skipped` });
      garbage = 0;
    };
    while (i < b.length) {
      if (b[i] !== 0x68) {
        garbage++;
        i++;
        continue;
      }
      if (b.length - i < HEAD) break;
      const total = credibleLength(b, i);
      if (total === 0) {
        garbage++;
        i++;
        continue;
      }
      if (b.length - i < total) {
        // A frame cut short (or a corrupted L) is abandoned as soon as a whole frame follows it:
        // waiting for the bytes L promises would swallow every good frame after it.
        const next = nextFrameStart(b, i + 1, b.length, true);
        if (next < 0) break;
        endGarbage();
        errors.push({ code: 'GDW1376_TRUNCATED', message: `frame cut short after ${next - i} of ${total} bytes by the next frame` });
        i = next;
        continue;
      }
      endGarbage();
      try {
        frames.push(decodeGdw1376Frame(b.subarray(i, i + total)));
        i += total;
      } catch (e) {
        if (!isProtocolError(e)) throw e;
        errors.push({ code: e.code, message: e.message });
        // A bad end byte or checksum means L cannot be trusted: resync on a frame that starts inside
        // the candidate. A frame that checks but does not decode is skipped whole.
        const framingFault = e.code === 'GDW1376_BAD_CHECKSUM' || e.code === 'GDW1376_BAD_END';
        const next = framingFault ? nextFrameStart(b, i + 1, i + total, false) : -1;
        i = next < 0 ? i + total : next;
      }
    }
    endGarbage();
    this.buffer = i >= b.length ? Buffer.alloc(0) : Buffer.from(b.subarray(i));
    return { frames, errors };
  }

  /** Bytes waiting for the rest of their frame. */
  get pending(): number {
    return this.buffer.length;
  }
}

/** Total bytes of the frame whose head (68 L L 68) is credible at i, 0 when it is not one. */
function credibleLength(b: Buffer, i: number): number {
  if (b.length - i < HEAD || b[i] !== 0x68 || b[i + 5] !== 0x68) return 0;
  const l1 = b[i + 1]! | (b[i + 2]! << 8);
  const l2 = b[i + 3]! | (b[i + 4]! << 8);
  const userData = l1 >> 2;
  if (l1 !== l2 || (l1 & 3) !== 2 || userData < MIN_USER_DATA || userData > MAX_USER_DATA) return 0;
  return HEAD + userData + 2;
}

/** A complete frame ending in 16 with the right checksum. */
function isWholeFrame(b: Buffer, i: number, total: number): boolean {
  if (b[i + total - 1] !== 0x16) return false;
  let cs = 0;
  for (let k = i + HEAD; k < i + total - 2; k++) cs = (cs + b[k]!) & 0xff;
  return cs === b[i + total - 2];
}

/**
 * First position in [from, to) where a whole frame starts, or (with `complete` false) a credible
 * head whose frame is still arriving; -1 when there is none.
 */
function nextFrameStart(b: Buffer, from: number, to: number, complete: boolean): number {
  for (let j = b.indexOf(0x68, from); j >= 0 && j < to; j = b.indexOf(0x68, j + 1)) {
    const total = credibleLength(b, j);
    if (total === 0) continue;
    if (b.length - j < total) {
      if (!complete) return j;
      continue;
    }
    if (isWholeFrame(b, j, total)) return j;
  }
  return -1;
}
