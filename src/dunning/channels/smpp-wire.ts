/**
 * SMPP 3.4 wire details shared by the SMS adapter and the SMSC simulator: a typed facade over
 * the `smpp` package, text encoding with UDH concatenation, and delivery-receipt text.
 */
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';
import type { Server, Socket } from 'node:net';
import type { EncodedPdu } from './smpp-encode.ts';
import type { DeliveryState } from './types.ts';

export interface SmppPdu {
  command: string;
  command_status: number;
  sequence_number: number;
  response(fields?: Record<string, unknown>): SmppPdu;
  [field: string]: unknown;
}

export interface SmppSession extends EventEmitter {
  socket: Socket;
  send(pdu: SmppPdu | EncodedPdu, onResponse?: (response: SmppPdu) => void): boolean;
  close(callback?: () => void): void;
  destroy(callback?: () => void): void;
}

export interface SmppServer extends Server {
  sessions: SmppSession[];
}

interface SmppLibrary {
  connect(options: { host: string; port: number }): SmppSession;
  createServer(options: object, onSession: (session: SmppSession) => void): SmppServer;
  PDU: (new (command: string | Buffer, fields?: Record<string, unknown>) => SmppPdu) & {
    prototype: SmppPdu;
    commandLength(stream: NodeJS.ReadableStream): number | false;
    fromStream(stream: NodeJS.ReadableStream, commandLength: number): SmppPdu | false;
  };
  addTLV(tag: string, options: { id: number; type: unknown }): void;
  types: { tlv: { buffer: unknown } };
  errors: Record<string, number>;
  commandsById: Record<number, { command: string } | undefined>;
}

const smpp = createRequire(import.meta.url)('smpp') as SmppLibrary;

/**
 * A command_length below the 16-octet header cannot frame a PDU (ESME_RINVCMDLEN in SMPP 3.4).
 * `smpp` read 0 as "no data yet" and 4 as an empty body it waited for forever, so the link hung
 * with every later PDU unread; now it is a decode error, and the session's owner drops the link.
 */
const readCommandLength = smpp.PDU.commandLength;
smpp.PDU.commandLength = (stream) => {
  const length = readCommandLength(stream);
  if (length !== false && length < 16) throw new Error(`PDU command_length ${length} is shorter than the 16-octet header`);
  return length;
};

/**
 * A PDU whose frame is whole but whose body `smpp` cannot decode (a TLV shorter than its type, a
 * malformed time): the session emits it as `undecodable` with the header read by hand. `smpp` threw
 * instead and then read nothing more on the session, so the link had to be dropped; the SMSC sent
 * the same deliver_sm again after the rebind, and dropped the link again, without end.
 */
export const UNDECODABLE = 'undecodable';

export interface UndecodablePdu extends SmppPdu {
  command: typeof UNDECODABLE;
  command_id: number;
  /** The command the header names, e.g. deliver_sm; `unknown` for an id `smpp` does not know. */
  commandName: string;
  reason: string;
}

smpp.PDU.fromStream = (stream, commandLength) => {
  const body = stream.read(commandLength - 4) as Buffer | null;
  if (!body) return false;
  const frame = Buffer.alloc(commandLength);
  frame.writeUInt32BE(commandLength, 0);
  body.copy(frame, 4);
  try {
    return new smpp.PDU(frame);
  } catch (err) {
    // Every octet of the frame was read, so the next PDU starts where it should: the link goes on.
    const pdu = Object.create(smpp.PDU.prototype) as UndecodablePdu;
    const commandId = frame.readUInt32BE(4);
    return Object.assign(pdu, {
      command: UNDECODABLE,
      command_length: commandLength,
      command_id: commandId,
      command_status: frame.readUInt32BE(8),
      sequence_number: frame.readUInt32BE(12),
      commandName: smpp.commandsById[commandId]?.command ?? 'unknown',
      reason: (err as Error).message,
    });
  }
};

/** Vendor-specific optional parameter (0x1400-0x3FFF range) carrying our idempotency key. */
export const MESSAGE_KEY_TLV_ID = 0x1401;
const MESSAGE_KEY_TLV = 'zt_message_key';
smpp.addTLV(MESSAGE_KEY_TLV, { id: MESSAGE_KEY_TLV_ID, type: smpp.types.tlv.buffer });

/** Small PDUs are pipelined: Nagle's algorithm would hold them back waiting for ACKs. */
export function connectSmpp(host: string, port: number): SmppSession {
  const session = smpp.connect({ host, port });
  session.socket.setNoDelay(true);
  return session;
}

export function createSmppServer(onSession: (session: SmppSession) => void, options: { allowHalfOpen?: boolean } = {}): SmppServer {
  return smpp.createServer(options, (session) => {
    session.socket.setNoDelay(true);
    onSession(session);
  });
}

const corked = new WeakSet<Socket>();

/**
 * Sends a PDU, coalescing every PDU written in the same tick into one socket write: at a few
 * thousand PDUs a second a syscall per PDU costs more than building them.
 */
export function sendPdu(session: SmppSession, pdu: SmppPdu | EncodedPdu, onResponse?: (response: SmppPdu) => void): boolean {
  const socket = session.socket;
  if (!corked.has(socket) && socket.writable) {
    corked.add(socket);
    socket.cork();
    process.nextTick(() => {
      corked.delete(socket);
      socket.uncork();
    });
  }
  return session.send(pdu, onResponse);
}

export function makePdu(command: string, fields: Record<string, unknown> = {}): SmppPdu {
  return new smpp.PDU(command, fields);
}

export function readMessageKey(pdu: SmppPdu): string | undefined {
  const raw = pdu[MESSAGE_KEY_TLV] ?? pdu[String(MESSAGE_KEY_TLV_ID)];
  return Buffer.isBuffer(raw) ? raw.toString('utf8') : undefined;
}

export const SMPP_STATUS = smpp.errors;
const statusNames = new Map(Object.entries(smpp.errors).map(([name, code]) => [code, name]));

export function smppStatusName(status: number): string {
  return statusNames.get(status) ?? `0x${status.toString(16).padStart(4, '0')}`;
}

/**
 * Statuses after which the same submit may succeed later (SMSC busy, throttled, system error, or
 * ESME_RINVBNDSTS: the SMSC lost our bind, a fault of the link and not of the message).
 */
const RETRYABLE_STATUSES = new Set([0x0004, 0x0008, 0x0014, 0x0058, 0x0064, 0x00ff]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

/** ESME_RMSGQFUL and ESME_RTHROTTLED: the SMSC asks us to slow down, not to give up. */
export function isThrottleStatus(status: number): boolean {
  return status === 0x0014 || status === 0x0058;
}

/**
 * How an SMSC writes message ids in its receipts against the id its submit_sm_resp gave. Most write
 * the same id; some write a hex id in decimal or the reverse (what Kannel configures per SMSC as
 * msg-id-type). It is a property of the SMSC, so it is configured, never guessed: with numeric ids
 * a guess would match a receipt to another message.
 */
export type ReceiptIdForm = 'as-submitted' | 'decimal-of-hex' | 'hex-of-decimal';

/** The key a submitted id is tracked under: letter case and leading zeros do not count. */
export function submittedIdKey(id: string): string {
  return id.toLowerCase().replace(/^0+(?=.)/, '');
}

/** The key of the submitted id a receipt's id names, under the SMSC's receipt id form. */
export function receiptIdKey(id: string, form: ReceiptIdForm): string | undefined {
  if (form === 'decimal-of-hex') return /^\d+$/.test(id) ? BigInt(id).toString(16) : undefined;
  if (form === 'hex-of-decimal') return /^[0-9a-f]+$/i.test(id) ? BigInt(`0x${id}`).toString() : undefined;
  return submittedIdKey(id);
}

// ---------------------------------------------------------------- text → segments

export const DATA_CODING_GSM = 0x00;
export const DATA_CODING_UCS2 = 0x08;
export const ESM_CLASS_UDHI = 0x40;
const ESM_CLASS_TYPE_MASK = 0x3c;
const ESM_CLASS_RECEIPT = 0x04;

export interface SmsSegment {
  dataCoding: number;
  esmClass: number;
  shortMessage: Buffer;
}

/** GSM 03.38 default alphabet (index = septet) and its extension table (ESC + septet). */
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXTENSION = new Map<string, number>([
  ['\f', 0x0a], ['^', 0x14], ['{', 0x28], ['}', 0x29], ['\\', 0x2f],
  ['[', 0x3c], ['~', 0x3d], [']', 0x3e], ['|', 0x40], ['€', 0x65],
]);
const GSM_SEPTET = new Map(Array.from(GSM_BASIC).map((c, i) => [c, i] as const).filter(([c]) => c !== '\x1b'));

export function isGsmText(text: string): boolean {
  for (const c of text) if (!GSM_SEPTET.has(c) && !GSM_EXTENSION.has(c)) return false;
  return true;
}

/** Unpacked septets, one per octet, as SMPP carries data_coding 0. */
export function encodeGsm(text: string): Buffer {
  const out: number[] = [];
  for (const c of text) {
    const ext = GSM_EXTENSION.get(c);
    if (ext === undefined) out.push(GSM_SEPTET.get(c) ?? 0x20);
    else out.push(0x1b, ext);
  }
  return Buffer.from(out);
}

/**
 * Splits text into submit_sm payloads: GSM 03.38 (unpacked septets, 160 / 153 per part) when
 * every character fits, else UCS2 (70 / 67 UTF-16 units per part, surrogate pairs kept whole).
 * Multi-part messages carry an 8-bit concatenation UDH (05 00 03 ref total seq).
 */
export function encodeSms(text: string, reference: number): SmsSegment[] {
  const gsm = isGsmText(text);
  const units = Array.from(text);
  const weight = gsm ? (c: string) => (GSM_EXTENSION.has(c) ? 2 : 1) : (c: string) => c.length;
  const total = units.reduce((sum, c) => sum + weight(c), 0);
  const single = gsm ? 160 : 70;
  const perPart = gsm ? 153 : 67;
  const encode = (chunk: string): Buffer =>
    gsm ? encodeGsm(chunk) : Buffer.from(chunk, 'utf16le').swap16();
  const dataCoding = gsm ? DATA_CODING_GSM : DATA_CODING_UCS2;
  if (total <= single) return [{ dataCoding, esmClass: 0, shortMessage: encode(text) }];

  const chunks: string[] = [];
  let chunk = '';
  let size = 0;
  for (const c of units) {
    if (size + weight(c) > perPart) {
      chunks.push(chunk);
      chunk = '';
      size = 0;
    }
    chunk += c;
    size += weight(c);
  }
  chunks.push(chunk);
  if (chunks.length > 255) throw new Error(`SMS text too long: ${chunks.length} parts`);
  return chunks.map((part, i) => ({
    dataCoding,
    esmClass: ESM_CLASS_UDHI,
    shortMessage: Buffer.concat([
      Buffer.from([0x05, 0x00, 0x03, reference & 0xff, chunks.length, i + 1]),
      encode(part),
    ]),
  }));
}

export interface ConcatInfo {
  reference: number;
  total: number;
  sequence: number;
}

/** Reads the concatenation element from UDH information elements as decoded by `smpp`. */
export function readConcat(udh: unknown): ConcatInfo | undefined {
  if (!Array.isArray(udh)) return undefined;
  for (const element of udh as Buffer[]) {
    if (element[0] === 0x00 && element.length >= 5) {
      return { reference: element[2]!, total: element[3]!, sequence: element[4]! };
    }
    if (element[0] === 0x08 && element.length >= 6) {
      return { reference: element.readUInt16BE(2), total: element[4]!, sequence: element[5]! };
    }
  }
  return undefined;
}

/**
 * The text `smpp` decoded from short_message ({ message, udh } or a plain string), or from the
 * message_payload TLV that SMPP 3.4 §5.3.2.32 allows in its place (short_message then empty).
 */
export function shortMessageText(pdu: SmppPdu): { text: string; udh?: unknown } {
  const fromShortMessage = decodedText(pdu.short_message);
  if (fromShortMessage.text === '' && pdu.message_payload !== undefined) return decodedText(pdu.message_payload);
  return fromShortMessage;
}

function decodedText(sm: unknown): { text: string; udh?: unknown } {
  if (typeof sm === 'string') return { text: sm };
  if (sm && typeof sm === 'object' && 'message' in sm) {
    const { message, udh } = sm as { message: unknown; udh?: unknown };
    const text = typeof message === 'string' ? message : Buffer.isBuffer(message) ? message.toString('latin1') : '';
    return { text, udh };
  }
  return { text: '' };
}

// ---------------------------------------------------------------- delivery receipts

/** SMPP 3.4 Appendix B stat values and the message_state TLV numbers they share. */
export const RECEIPT_STATES = {
  ENROUTE: 1,
  DELIVRD: 2,
  EXPIRED: 3,
  DELETED: 4,
  UNDELIV: 5,
  ACCEPTD: 6,
  UNKNOWN: 7,
  REJECTD: 8,
} as const;
export type ReceiptStat = keyof typeof RECEIPT_STATES;

const FINAL_BY_STAT: Record<string, DeliveryState | null> = {
  DELIVRD: 'delivered',
  EXPIRED: 'failed',
  DELETED: 'failed',
  UNDELIV: 'failed',
  UNKNOWN: 'failed',
  REJECTD: 'failed',
  ENROUTE: null,
  // SMPP 3.4 §5.2.28 and Appendix B: ACCEPTED is a final state, the message read on the subscriber's
  // behalf by the operator's customer service. It reached the subscriber's account and the number
  // works: delivered. Read as failed it would fail the notice over and count a working number
  // against its contact; kept intermediate, the notice would wait for a report that never comes.
  ACCEPTD: 'delivered',
  // The message_state names of SMPP 3.4 that some SMSCs write in place of the 7-letter stat.
  DELIVERED: 'delivered',
  UNDELIVERABLE: 'failed',
  REJECTED: 'failed',
  ACCEPTED: 'delivered',
};
const STAT_BY_STATE = new Map<number, string>(Object.entries(RECEIPT_STATES).map(([k, v]) => [v, k]));

export interface ParsedReceipt {
  messageId: string;
  stat: string;
  /** null for an intermediate receipt (ENROUTE). */
  state: DeliveryState | null;
  error?: string;
}

export function isReceipt(esmClass: number): boolean {
  return (esmClass & ESM_CLASS_TYPE_MASK) === ESM_CLASS_RECEIPT;
}

/**
 * Parses a deliver_sm receipt. The receipted_message_id / message_state TLVs win over the
 * Appendix B text ("id:... sub:... dlvrd:... submit date:... done date:... stat:... err:...").
 */
export function parseReceipt(fields: {
  esmClass: number;
  text: string;
  receiptedMessageId?: unknown;
  messageState?: unknown;
}): ParsedReceipt | undefined {
  if (!isReceipt(fields.esmClass)) return undefined;
  const textId = /\bid:(\S+)/i.exec(fields.text)?.[1];
  const textStat = /\bstat:(\w+)/i.exec(fields.text)?.[1]?.toUpperCase();
  const error = /\berr:(\w+)/i.exec(fields.text)?.[1];
  // A TLV id sent without its NUL is read on into the next TLV's bytes: keep the printable head.
  const tlvId = typeof fields.receiptedMessageId === 'string' ? /^[\x21-\x7e]+/.exec(fields.receiptedMessageId)?.[0] : undefined;
  const tlvStat = typeof fields.messageState === 'number' ? STAT_BY_STATE.get(fields.messageState) : undefined;
  const messageId = tlvId ?? textId;
  const stat = tlvStat ?? textStat;
  if (!messageId || !stat) return undefined;
  const state = stat in FINAL_BY_STAT ? FINAL_BY_STAT[stat]! : 'failed';
  return error === undefined ? { messageId, stat, state } : { messageId, stat, state, error };
}

function receiptDate(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCFullYear() % 100)}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}`;
}

export function formatReceiptText(r: {
  messageId: string;
  stat: ReceiptStat;
  error: string;
  submitted: Date;
  done: Date;
  text: string;
}): string {
  const dlvrd = r.stat === 'DELIVRD' ? '001' : '000';
  // Letters, digits and spaces are the same octets in ASCII and GSM 03.38.
  const text = r.text.replace(/[^A-Za-z0-9 ]/g, '').slice(0, 20);
  return (
    `id:${r.messageId} sub:001 dlvrd:${dlvrd} submit date:${receiptDate(r.submitted)} ` +
    `done date:${receiptDate(r.done)} stat:${r.stat} err:${r.error} text:${text}`
  );
}
