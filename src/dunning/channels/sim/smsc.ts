/**
 * SMSC simulator: an SMPP 3.4 server on loopback that accepts binds, answers submit_sm and
 * sends deliver_sm receipts, with configurable faults. It counts everything it receives so a
 * test can assert that nothing was sent twice.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  SMPP_STATUS,
  createSmppServer,
  formatReceiptText,
  readConcat,
  readMessageKey,
  sendPdu,
  shortMessageText,
  makePdu,
  RECEIPT_STATES,
  UNDECODABLE,
  type ReceiptStat,
  type SmppPdu,
  type SmppServer,
  type SmppSession,
  type UndecodablePdu,
} from '../smpp-wire.ts';
import { deliverSmReceiptPdu, submitSmRespPdu, type EncodedPdu } from '../smpp-encode.ts';
import { keep, KEEP_LIMIT } from './kept.ts';

export interface SmscFaults {
  /** Numbers starting with one of these are unassigned (空号). */
  unassignedPrefixes: string[];
  /** 'submit_error': submit_sm_resp ESME_RINVDSTADR; 'undeliverable': accept, then UNDELIV receipt. */
  unassignedMode: 'submit_error' | 'undeliverable';
  /** Numbers starting with one of these never get a receipt. */
  silentPrefixes: string[];
  /** Delay before the submit_sm_resp. */
  submitDelayMs: number;
  /** Delay between submit_sm_resp and the deliver_sm receipt. */
  receiptDelayMs: number;
  /** How the receipt carries id and state: Appendix B text, TLVs, or both. */
  receiptStyle: 'text' | 'tlv' | 'both';
}

export interface SmscOptions extends Partial<SmscFaults> {
  port?: number;
  host?: string;
  systemId?: string;
  password?: string;
  /**
   * How bind_transceiver is answered: 'bind' (default); 'generic_nack' (ESME_RINVCMDID, as an SMPP 3.3
   * SMSC without transceivers does); or a bind_transceiver_resp carrying this error status.
   */
  transceiver?: 'bind' | 'generic_nack' | number;
}

export type SmscBindKind = 'transceiver' | 'transmitter' | 'receiver';

export interface SmscSubmission {
  messageId: string;
  messageKey?: string;
  from: string;
  to: string;
  text: string;
  dataCoding: number;
  part?: { reference: number; total: number; sequence: number };
  status: number;
}

export interface SmscMessage {
  messageKey?: string;
  to: string;
  text: string;
  messageIds: string[];
}

interface BoundSession {
  session: SmppSession;
  systemId: string;
  receives: boolean;
  transmits: boolean;
}

export class SmscSimulator {
  readonly host: string;
  readonly systemId: string;
  readonly password: string;
  private faults: SmscFaults;
  private server: SmppServer;
  private listeningPort: number;
  private readonly bound = new Map<SmppSession, BoundSession>();
  private readonly transceiver: 'bind' | 'generic_nack' | number;
  private readonly queuedReceipts: EncodedPdu[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly idPrefix = randomBytes(2).toString('hex').toUpperCase();
  private nextId = 1;
  private readonly partial = new Map<string, { texts: Array<string | undefined>; ids: string[] }>();
  private readonly byKey = new Map<string, number>();
  private readonly byNumber = new Map<string, number>();
  readonly submissions: SmscSubmission[] = [];
  readonly messages: SmscMessage[] = [];
  /** `peakOutstanding`: most submit_sm received and not yet answered, i.e. the client's window in use. */
  readonly stats = { binds: 0, bindFailures: 0, submits: 0, rejected: 0, receiptsSent: 0, enquireLinks: 0, peakOutstanding: 0 };
  private outstanding = 0;

  private constructor(options: SmscOptions, server: SmppServer, port: number) {
    this.host = options.host ?? '127.0.0.1';
    this.systemId = options.systemId ?? 'zerotouch';
    this.password = options.password ?? 'secret';
    this.transceiver = options.transceiver ?? 'bind';
    this.faults = {
      unassignedPrefixes: [],
      unassignedMode: 'submit_error',
      silentPrefixes: [],
      submitDelayMs: 0,
      receiptDelayMs: 5,
      receiptStyle: 'both',
      ...pickFaults(options),
    };
    this.server = server;
    this.listeningPort = port;
  }

  static async start(options: SmscOptions = {}): Promise<SmscSimulator> {
    let sim: SmscSimulator | undefined;
    const server = createSmppServer((session) => sim!.accept(session));
    sim = new SmscSimulator(options, server, 0);
    sim.listeningPort = await listen(server, options.port ?? 0, sim.host);
    return sim;
  }

  get port(): number {
    return this.listeningPort;
  }

  get url(): string {
    return `smpp://${this.host}:${this.listeningPort}`;
  }

  configure(faults: Partial<SmscFaults>): void {
    this.faults = { ...this.faults, ...pickFaults(faults) };
  }

  /** Messages (first parts) received for this idempotency key, accepted or not. */
  countByKey(messageKey: string): number {
    return this.byKey.get(messageKey) ?? 0;
  }

  countByNumber(number: string): number {
    return this.byNumber.get(number) ?? 0;
  }

  /** How each session bound now is bound. */
  boundAs(): SmscBindKind[] {
    return [...this.bound.values()].map((b) => (b.receives && b.transmits ? 'transceiver' : b.transmits ? 'transmitter' : 'receiver'));
  }

  /** Receipts waiting for a receiver to bind. */
  get queuedReceiptCount(): number {
    return this.queuedReceipts.length;
  }

  duplicateKeys(): string[] {
    return [...this.byKey].filter(([, n]) => n > 1).map(([k]) => k);
  }

  /** Stops listening and drops every link, as an SMSC outage would. */
  async down(): Promise<void> {
    for (const session of [...this.server.sessions]) session.destroy();
    this.bound.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Listens again on the same port. */
  async up(): Promise<void> {
    if (this.server.listening) return;
    await listen(this.server, this.listeningPort, this.host);
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.server.listening) await this.down();
  }

  private accept(session: SmppSession): void {
    session.on('error', () => session.destroy());
    session.on('close', () => this.bound.delete(session));
    const bind = (receives: boolean, transmits: boolean) => (pdu: SmppPdu) => {
      if (pdu.system_id !== this.systemId || pdu.password !== this.password) {
        this.stats.bindFailures++;
        session.send(pdu.response({ command_status: SMPP_STATUS.ESME_RBINDFAIL }));
        return;
      }
      this.stats.binds++;
      this.bound.set(session, { session, systemId: this.systemId, receives, transmits });
      // An SMPP 3.4 SMSC says so; without it a client must take it for 3.3 and send no TLVs.
      session.send(pdu.response({ system_id: 'ZT-SMSC', ...(Number(pdu.interface_version) >= 0x34 ? { sc_interface_version: 0x34 } : {}) }));
      if (receives) this.flushReceipts();
    };
    const bindTransceiver = bind(true, true);
    session.on('bind_transceiver', (pdu: SmppPdu) => {
      if (this.transceiver === 'bind') return bindTransceiver(pdu);
      this.stats.bindFailures++;
      if (this.transceiver === 'generic_nack') {
        session.send(makePdu('generic_nack', { sequence_number: pdu.sequence_number, command_status: SMPP_STATUS.ESME_RINVCMDID }));
      } else {
        session.send(pdu.response({ command_status: this.transceiver }));
      }
    });
    session.on('bind_transmitter', bind(false, true));
    session.on('bind_receiver', bind(true, false));
    session.on('enquire_link', (pdu: SmppPdu) => {
      this.stats.enquireLinks++;
      session.send(pdu.response());
    });
    session.on('unbind', (pdu: SmppPdu) => {
      this.bound.delete(session);
      session.send(pdu.response(), () => session.close());
    });
    session.on('submit_sm', (pdu: SmppPdu) => this.onSubmit(session, pdu));
    // A request whose body cannot be read is refused, and the link goes on.
    session.on(UNDECODABLE, (pdu: UndecodablePdu) => {
      if (!(pdu.command_id & 0x80000000)) {
        session.send(makePdu('generic_nack', { sequence_number: pdu.sequence_number, command_status: SMPP_STATUS.ESME_RSYSERR }));
      }
    });
  }

  private onSubmit(session: SmppSession, pdu: SmppPdu): void {
    if (!this.bound.get(session)?.transmits) {
      session.send(pdu.response({ command_status: SMPP_STATUS.ESME_RINVBNDSTS }));
      return;
    }
    const to = String(pdu.destination_addr ?? '');
    const { text, udh } = shortMessageText(pdu);
    const part = readConcat(udh);
    const messageKey = readMessageKey(pdu);
    const first = !part || part.sequence === 1;
    if (first) {
      this.stats.submits++;
      if (messageKey !== undefined) this.byKey.set(messageKey, (this.byKey.get(messageKey) ?? 0) + 1);
      this.byNumber.set(to, (this.byNumber.get(to) ?? 0) + 1);
    }
    const unassigned = this.faults.unassignedPrefixes.some((p) => to.startsWith(p));
    const status = unassigned && this.faults.unassignedMode === 'submit_error' ? SMPP_STATUS.ESME_RINVDSTADR! : 0;
    const messageId = status === 0 ? `${this.idPrefix}${(this.nextId++).toString(16).padStart(8, '0')}` : '';
    const submission: SmscSubmission = {
      messageId,
      from: String(pdu.source_addr ?? ''),
      to,
      text,
      dataCoding: typeof pdu.data_coding === 'number' ? pdu.data_coding : 0,
      status,
      ...(messageKey === undefined ? {} : { messageKey }),
      ...(part ? { part } : {}),
    };
    keep(this.submissions, submission);
    if (status !== 0) this.stats.rejected++;
    else this.assemble(submission);

    this.stats.peakOutstanding = Math.max(this.stats.peakOutstanding, ++this.outstanding);
    this.later(this.faults.submitDelayMs, () => {
      this.outstanding--;
      sendPdu(session, submitSmRespPdu(pdu.sequence_number, status === 0 ? { messageId } : { status }));
      if (status !== 0 || this.faults.silentPrefixes.some((p) => to.startsWith(p))) return;
      const stat: ReceiptStat = unassigned ? 'UNDELIV' : 'DELIVRD';
      const submitted = new Date();
      this.later(this.faults.receiptDelayMs, () => this.sendReceipt(session, submission, stat, submitted));
    });
  }

  private sendReceipt(origin: SmppSession, submission: SmscSubmission, stat: ReceiptStat, submitted: Date): void {
    const style = this.faults.receiptStyle;
    const error = stat === 'DELIVRD' ? '000' : '001';
    const receiptText = formatReceiptText({
      messageId: submission.messageId,
      stat,
      error,
      submitted,
      done: new Date(),
      text: submission.text,
    });
    const pdu = deliverSmReceiptPdu({
      sourceAddr: submission.to,
      destinationAddr: submission.from,
      text: Buffer.from(style === 'tlv' ? '' : receiptText, 'ascii'),
      ...(style === 'text' ? {} : { receiptedMessageId: submission.messageId, messageState: RECEIPT_STATES[stat] }),
    });
    const target = this.bound.get(origin)?.receives ? origin : this.anyReceiver();
    if (target) this.deliver(target, pdu);
    else this.queuedReceipts.push(pdu);
  }

  private deliver(session: SmppSession, pdu: EncodedPdu): void {
    if (sendPdu(session, pdu)) this.stats.receiptsSent++;
    else this.queuedReceipts.push(pdu);
  }

  private flushReceipts(): void {
    const target = this.anyReceiver();
    if (!target) return;
    for (const pdu of this.queuedReceipts.splice(0)) this.deliver(target, pdu);
  }

  private anyReceiver(): SmppSession | undefined {
    for (const b of this.bound.values()) if (b.receives && !b.session.socket.destroyed) return b.session;
    return undefined;
  }

  private assemble(s: SmscSubmission): void {
    if (this.messages.length >= KEEP_LIMIT) return;
    if (!s.part) {
      this.messages.push({ to: s.to, text: s.text, messageIds: [s.messageId], ...keyOf(s) });
      return;
    }
    const id = `${s.from}|${s.to}|${s.part.reference}|${s.part.total}`;
    const parts = this.partial.get(id) ?? { texts: new Array<string | undefined>(s.part.total).fill(undefined), ids: [] };
    parts.texts[s.part.sequence - 1] = s.text;
    parts.ids.push(s.messageId);
    this.partial.set(id, parts);
    if (parts.texts.every((p) => p !== undefined)) {
      this.partial.delete(id);
      this.messages.push({ to: s.to, text: parts.texts.join(''), messageIds: parts.ids, ...keyOf(s) });
    }
  }

  private later(ms: number, fn: () => void): void {
    if (ms <= 0) {
      fn();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }
}

function keyOf(s: SmscSubmission): { messageKey?: string } {
  return s.messageKey === undefined ? {} : { messageKey: s.messageKey };
}

const FAULT_KEYS: ReadonlyArray<keyof SmscFaults> = [
  'unassignedPrefixes',
  'unassignedMode',
  'silentPrefixes',
  'submitDelayMs',
  'receiptDelayMs',
  'receiptStyle',
];

function pickFaults(value: Partial<SmscFaults>): Partial<SmscFaults> {
  return Object.fromEntries(FAULT_KEYS.filter((k) => value[k] !== undefined).map((k) => [k, value[k]]));
}

function listen(server: SmppServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export function startSmsc(options: SmscOptions = {}): Promise<SmscSimulator> {
  return SmscSimulator.start(options);
}
