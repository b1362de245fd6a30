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
 * with its ProtocolError code and skipped whole, so the caller can count what it lost.
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
      const l1 = b[i + 1]! | (b[i + 2]! << 8);
      const l2 = b[i + 3]! | (b[i + 4]! << 8);
      const userData = l1 >> 2;
      if (b[i + 5] !== 0x68 || l1 !== l2 || (l1 & 3) !== 2 || userData < MIN_USER_DATA || userData > MAX_USER_DATA) {
        garbage++;
        i++;
        continue;
      }
      const total = HEAD + userData + 2;
      if (b.length - i < total) break;
      endGarbage();
      try {
        frames.push(decodeGdw1376Frame(b.subarray(i, i + total)));
      } catch (e) {
        if (!isProtocolError(e)) throw e;
        errors.push({ code: e.code, message: e.message });
      }
      i += total;
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
