import type net from 'node:net';
import type { ConcentratorRow } from '../../assets/index.ts';
import type { Logger } from '../../platform/index.ts';
import {
  encodeGdw1376Confirm,
  encodeGdw1376Deny,
  Gdw1376Afn,
  gdw1376LinkCheckKind,
  type Gdw1376Address,
  type Gdw1376Frame,
} from '../protocols/index.ts';
import { FrameReader } from './framer.ts';
import type { LinkTracker } from './link-tracker.ts';

/** Counters shared by every session of one front-end (plain increments: one event loop). */
export interface FrontendCounters {
  framesIn: number;
  framesOut: number;
  frameErrors: Record<string, number>;
  deniedLogins: number;
  logins: number;
  heartbeats: number;
  logouts: number;
  unmatchedReplies: number;
  requestTimeouts: number;
  /** Frames of data a terminal reported on its own (PRM=1 AFN 0D, 主动上报). */
  reports: number;
}

export interface SessionDeps {
  log: Logger;
  links: LinkTracker;
  counters: FrontendCounters;
  lookup: (areaCode: string, terminal: number) => Promise<ConcentratorRow | undefined>;
  onOnline: (s: ConcentratorSession) => void;
  onClosed: (s: ConcentratorSession) => void;
  /** Historical data (AFN 0D) the logged-in terminal sent on its own, e.g. the day's frozen readings once it collected them. */
  onReport?: (s: ConcentratorSession, f: Gdw1376Frame) => void;
  /** A socket that sends nothing (no login, no heartbeat) for this long is dropped. */
  idleTimeoutMs: number;
  /** The master station address (MSA) put in A3 of every request. */
  msa: number;
}

/** Frames kept while a login is looked up (a terminal sends a few; more than this is dropped, as before a login). */
const MAX_HELD_FRAMES = 64;

interface PendingRequest {
  /** PSEQ of the request: RSEQ of the first reply frame, counting up by one on each further frame. */
  seq: number;
  frames: Gdw1376Frame[];
  timer: NodeJS.Timeout;
  resolve: (frames: Gdw1376Frame[] | null) => void;
}

const SEQ_SPACE = 16;

/**
 * One concentrator's TCP connection: AFN 02 login, heartbeat and logout, then the master's
 * requests, matched to replies by SEQ with their own timeouts. Everything here is driven by the
 * socket's own events, so a slow or silent concentrator only ever holds up itself.
 */
export class ConcentratorSession {
  state: 'awaiting_login' | 'logging_in' | 'online' | 'closed' = 'awaiting_login';
  concentrator: ConcentratorRow | null = null;
  readonly remoteAddress: string;
  private readonly reader = new FrameReader();
  private readonly pending = new Map<number, PendingRequest>();
  private nextSeq = 0;
  private drainWaiters: (() => void)[] = [];
  collecting = false;
  /** When the last whole frame came: bytes that make no frame (noise, bad checksums) do not keep a link alive. */
  private lastFrameAt = performance.now();
  private idleTimer: NodeJS.Timeout | null = null;
  /** Frames that came in while the login was being looked up, handled once it is settled. */
  private held: Gdw1376Frame[] = [];

  constructor(
    readonly socket: net.Socket,
    private readonly deps: SessionDeps,
  ) {
    this.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    socket.setNoDelay(true);
    this.armIdle(deps.idleTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      for (const w of this.drainWaiters.splice(0)) w();
    });
    socket.on('error', (e) => deps.log.debug({ err: e, remote: this.remoteAddress }, 'front-end: socket error'));
    socket.on('close', () => this.onClose());
  }

  get online(): boolean {
    return this.state === 'online';
  }

  get address(): Gdw1376Address {
    const c = this.concentrator!;
    return { areaCode: c.area_code, terminal: c.terminal_address, msa: this.deps.msa, group: false };
  }

  /**
   * Send a request built for a free PSEQ and resolve with its reply frames (the last one has FIN),
   * or null when no reply came in time or the connection went away.
   */
  async request(build: (seq: number) => Uint8Array, timeoutMs: number): Promise<Gdw1376Frame[] | null> {
    if (!this.online) return null;
    if (this.socket.writableNeedDrain) await new Promise<void>((r) => this.drainWaiters.push(r));
    if (!this.online) return null;
    const seq = this.takeSeq();
    if (seq === null) throw new Error('more requests in flight than PSEQ values');
    return new Promise((resolve) => {
      const timer = setTimeout(
        () =>
          // a reply already waiting in the socket is read in the poll phase, before setImmediate runs
          setImmediate(() => {
            if (this.pending.get(seq)?.timer !== timer) return;
            this.pending.delete(seq);
            this.deps.counters.requestTimeouts++;
            resolve(null);
          }),
        timeoutMs,
      );
      this.pending.set(seq, { seq, frames: [], timer, resolve });
      this.send(build(seq));
    });
  }

  close(): void {
    this.socket.end();
    this.socket.destroySoon?.();
  }

  /**
   * Drops the link once no whole frame has come for the idle time. Its own timer, not the socket's
   * inactivity timeout: a peer sending noise or frames that fail their checksum is as good as silent.
   */
  private armIdle(ms: number): void {
    this.idleTimer = setTimeout(
      () =>
        // after a stalled event loop the timer can fire before bytes that already arrived are read: look again after the poll phase
        setImmediate(() => {
          if (this.socket.destroyed) return;
          const idle = performance.now() - this.lastFrameAt;
          // a frame came meanwhile, or the timer ran early (libuv's loop time lags after a long busy turn): wait for the rest
          if (idle < this.deps.idleTimeoutMs) return this.armIdle(Math.max(1, Math.ceil(this.deps.idleTimeoutMs - idle)));
          this.deps.log.warn({ remote: this.remoteAddress, concentrator: this.concentrator?.id }, 'front-end: idle connection dropped');
          this.socket.destroy();
        }),
      ms,
    );
    this.idleTimer.unref();
  }

  private takeSeq(): number | null {
    // Round-robin over all 16 values, so a late reply to a timed-out request rarely meets a new one.
    for (let k = 0; k < SEQ_SPACE; k++) {
      const s = (this.nextSeq + k) % SEQ_SPACE;
      if (!this.pending.has(s)) {
        this.nextSeq = (s + 1) % SEQ_SPACE;
        return s;
      }
    }
    return null;
  }

  private send(bytes: Uint8Array): void {
    if (this.socket.destroyed) return;
    this.deps.counters.framesOut++;
    this.socket.write(bytes);
  }

  private onData(chunk: Buffer): void {
    const { frames, errors } = this.reader.push(chunk);
    const c = this.deps.counters;
    for (const e of errors) {
      c.frameErrors[e.code] = (c.frameErrors[e.code] ?? 0) + 1;
      this.deps.log.warn({ code: e.code, concentrator: this.concentrator?.id, remote: this.remoteAddress }, `front-end: bad frame: ${e.message}`);
    }
    if (frames.length) this.lastFrameAt = performance.now();
    for (const f of frames) {
      c.framesIn++;
      this.onFrame(f);
    }
  }

  private onFrame(f: Gdw1376Frame): void {
    if (f.control.dir !== 'up') return;
    const link = gdw1376LinkCheckKind(f);
    if (link === 'login') return void this.onLogin(f);
    if (this.state === 'logging_in') return void (this.held.length < MAX_HELD_FRAMES && this.held.push(f));
    if (this.state !== 'online') return;
    // the link belongs to the terminal that logged in on it: another address's link checks are not ours to confirm
    if (link && !this.isOwnTerminal(f)) return void this.onForeignLinkCheck(f, link);
    if (link === 'heartbeat') {
      this.deps.counters.heartbeats++;
      this.deps.links.seen(this.concentrator!.id);
      return this.send(encodeGdw1376Confirm(f));
    }
    if (link === 'logout') {
      this.deps.counters.logouts++;
      this.send(encodeGdw1376Confirm(f));
      return this.close();
    }
    // CON asks for a confirm (an event the terminal reports, a reply frame it wants acknowledged):
    // without one the terminal repeats the frame and in the end drops the link
    if (f.seq.con) this.send(encodeGdw1376Confirm(f));
    this.onReply(f);
  }

  private onReply(f: Gdw1376Frame): void {
    // an active report (主动上报, PRM=1): not an answer to a request of ours, but data all the same (confirmed above when CON asks)
    if (f.control.prm && f.afn === Gdw1376Afn.historicalData && this.isOwnTerminal(f)) {
      this.deps.counters.reports++;
      return void this.deps.onReport?.(this, f);
    }
    const isAnswer = !f.control.prm && (f.afn === Gdw1376Afn.historicalData || f.afn === Gdw1376Afn.currentData || f.afn === Gdw1376Afn.forward || f.afn === Gdw1376Afn.confirm);
    const p = isAnswer ? this.requestAnswered(f) : undefined;
    if (!p) {
      this.deps.counters.unmatchedReplies++;
      return;
    }
    p.frames.push(f);
    // AFN 00 (a deny or a bare confirm) ends the exchange; a data reply ends with its FIN frame.
    if (f.afn === Gdw1376Afn.confirm || f.seq.fin) {
      clearTimeout(p.timer);
      this.pending.delete(p.seq);
      p.resolve(p.frames);
    }
  }

  /**
   * The request a reply frame belongs to. The first frame carries RSEQ = PSEQ and each further
   * frame of a multi-frame reply counts RSEQ up by one, so frame 2 of the reply to PSEQ 3 has the
   * RSEQ of the request sent with PSEQ 4. A terminal finishes one reply before starting the next.
   */
  private requestAnswered(f: Gdw1376Frame): PendingRequest | undefined {
    const rseq = f.seq.seq;
    let starts: PendingRequest | undefined;
    let continues: PendingRequest | undefined;
    let repeats: PendingRequest | undefined;
    for (const p of this.pending.values()) {
      if (p.frames.length === 0) {
        if (p.seq === rseq) starts = p;
      } else if ((p.seq + p.frames.length) % SEQ_SPACE === rseq) continues = p;
      // some senders repeat the first RSEQ on every frame
      else if (p.seq === rseq) repeats = p;
    }
    return f.seq.fir ? (starts ?? continues ?? repeats) : (continues ?? starts ?? repeats);
  }

  private isOwnTerminal(f: Gdw1376Frame): boolean {
    const c = this.concentrator!;
    return !f.address.group && f.address.areaCode === c.area_code && f.address.terminal === c.terminal_address;
  }

  /**
   * A login, heartbeat or logout naming another terminal on a logged-in link: the login is denied
   * (that terminal is not online through this link), a heartbeat or logout is left unanswered and
   * the link's own terminal stays online.
   */
  private onForeignLinkCheck(f: Gdw1376Frame, link: 'login' | 'logout' | 'heartbeat'): void {
    const { areaCode, terminal } = f.address;
    this.deps.log.warn({ areaCode, terminal, link, concentrator: this.concentrator!.id, remote: this.remoteAddress }, 'front-end: link check from another terminal on a logged-in link');
    if (link !== 'login') return;
    this.deps.counters.deniedLogins++;
    this.send(encodeGdw1376Deny(f));
  }

  private async onLogin(f: Gdw1376Frame): Promise<void> {
    if (this.state === 'logging_in') return;
    if (this.state === 'online' && !this.isOwnTerminal(f)) return this.onForeignLinkCheck(f, 'login');
    if (this.state === 'online') {
      // a terminal that restarts its link logs in again on the same socket
      this.deps.counters.logins++;
      return this.send(encodeGdw1376Confirm(f));
    }
    this.state = 'logging_in';
    const { areaCode, terminal, group } = f.address;
    let found: ConcentratorRow | undefined;
    try {
      // A2 with the group bit names a group of terminals (0xFFFF: all), which never logs in: no terminal of that number is meant
      found = group ? undefined : await this.deps.lookup(areaCode, terminal);
    } catch (e) {
      // our fault, not the terminal's: a deny would tell a registered terminal it is unknown (many then back off for
      // hours); without an answer it logs in again on a new connection
      this.deps.log.error({ err: e, areaCode, terminal }, 'front-end: concentrator lookup failed, login left unanswered');
      this.held = [];
      this.state = 'closed';
      this.socket.destroy();
      return;
    }
    if (this.socket.destroyed) return;
    if (!found) {
      this.deps.counters.deniedLogins++;
      this.deps.log.warn({ areaCode, terminal, remote: this.remoteAddress }, 'front-end: login from an unknown terminal address denied');
      this.send(encodeGdw1376Deny(f));
      this.held = [];
      this.state = 'closed';
      return this.close();
    }
    this.concentrator = found;
    this.state = 'online';
    this.deps.counters.logins++;
    this.deps.links.login(found.id, this.remoteAddress);
    this.send(encodeGdw1376Confirm(f));
    this.deps.onOnline(this);
    for (const held of this.held.splice(0)) this.onFrame(held);
  }

  private onClose(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const wasOnline = this.state === 'online';
    this.state = 'closed';
    for (const [seq, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve(null);
      this.pending.delete(seq);
    }
    for (const w of this.drainWaiters.splice(0)) w();
    if (wasOnline) this.deps.onClosed(this);
  }
}
