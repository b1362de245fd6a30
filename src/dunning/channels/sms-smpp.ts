/**
 * SMS (短信) over SMPP 3.4: a transceiver bind, or a transmitter + receiver pair for an SMSC without
 * transceivers, kept alive with enquire_link (smpp-link.ts); a window of pipelined submit_sm,
 * delivery receipts from deliver_sm, and reconnection with backoff.
 */
import { systemClock } from '../../platform/clock.ts';
import {
  encodeSms,
  isRetryableStatus,
  isThrottleStatus,
  receiptIdKey,
  submittedIdKey,
  MESSAGE_KEY_TLV_ID,
  parseReceipt,
  sendPdu,
  shortMessageText,
  smppStatusName,
  SMPP_STATUS,
  type ParsedReceipt,
  type ReceiptIdForm,
  type SmppPdu,
  type SmsSegment,
  type SmppSession,
} from './smpp-wire.ts';
import { submitSmPdu, type EncodedPdu } from './smpp-encode.ts';
import { SmppLink, type BindCommand, type SmppLinkClosed, type SmppLinkEvents } from './smpp-link.ts';
import { ReportHub, SendDeduper, WaiterQueue, invalidRecipient, rejected, silentLogger, unavailable } from './support.ts';
import type { Channel, ChannelLogger, DeliveryState, OutboundMessage, ReportListener, SendResult } from './types.ts';

/**
 * 'transceiver': one session for submits and receipts. 'transmitter-receiver': submits on a
 * transmitter, receipts on a receiver (an SMPP 3.3 SMSC has no transceiver). 'auto': a transceiver,
 * and the pair after the SMSC refused it (generic_nack, an error bind_resp, or a hang-up on the bind);
 * a refused pair tries the transceiver again. The mode that bound is kept for later rebinds.
 */
export type SmppBindMode = 'transceiver' | 'transmitter-receiver' | 'auto';

export interface SmppChannelOptions {
  host: string;
  port: number;
  systemId: string;
  password: string;
  systemType?: string;
  /** Sender: the service code (e.g. 95598) or alphanumeric id the operator assigned. */
  sourceAddr: string;
  /** Default 'auto'. */
  bindMode?: SmppBindMode;
  /** Outstanding submit_sm without a response. Default 512. */
  windowSize?: number;
  /** Wait for submit_sm_resp before giving up (the outcome is then unknown). Default 10 s. */
  submitTimeoutMs?: number;
  /** How long send() waits for a bind before failing the message as retryable. Default 2 s. */
  bindWaitMs?: number;
  /** Link keep-alive period; a missing enquire_link_resp within it drops the link. Default 30 s. */
  enquireLinkMs?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Resubmits of one part after ESME_RTHROTTLED / ESME_RMSGQFUL before failing it retryably. Default 5. */
  throttleRetries?: number;
  /** Pause of every submit after a throttle answer, doubling while the SMSC keeps throttling. */
  throttleBackoffMinMs?: number;
  throttleBackoffMaxMs?: number;
  /** How the SMSC writes ids in receipts against submit_sm_resp (see ReceiptIdForm). Default 'as-submitted'. */
  receiptIds?: ReceiptIdForm;
  /** Send the messageKey in vendor TLV 0x1401 (only ever to an SMSC whose bind_resp declares SMPP
   *  3.4); turn off for SMSCs that reject unknown TLVs. */
  sendMessageKeyTlv?: boolean;
  /** Submitted parts awaiting a receipt; past this the oldest are forgotten (their receipts
   *  are then reported under the part's own id, without messageKey). */
  maxTrackedMessages?: number;
  now?: () => Date;
  logger?: ChannelLogger;
}

/** Of the link submits go on (the transceiver, or the transmitter of a pair). */
type LinkState = 'connecting' | 'bound' | 'down' | 'closed';

type SubmitOutcome =
  | { kind: 'response'; status: number; messageId: string }
  | { kind: 'link_lost' }
  | { kind: 'timeout' };

interface Outstanding {
  settle(outcome: SubmitOutcome): void;
}

/** A receipt that came before the submit_sm_resp of its part (the SMSC raced its own response). */
interface EarlyReceipt {
  receipt: ParsedReceipt & { state: DeliveryState };
  key: string;
  timer: NodeJS.Timeout;
}

/** Receipt bookkeeping for one message: delivered only once every part is delivered. */
interface Tracker {
  messageKey: string;
  providerMessageId?: string;
  parts: number;
  delivered: number;
  finished: boolean;
}

export class SmppChannel implements Channel {
  readonly kind = 'sms' as const;
  private readonly opts: Required<Omit<SmppChannelOptions, 'systemType'>> & { systemType: string };
  private readonly reports: ReportHub;
  private readonly deduper = new SendDeduper();
  private state: LinkState = 'connecting';
  /** Where submits go: the transceiver, or the transmitter of a pair. */
  private link: SmppLink | undefined;
  /** The receiver of a pair: receipts come here. */
  private receiver: SmppLink | undefined;
  /** Whether the next bind is a transmitter + receiver pair. */
  private pairMode: boolean;
  private readonly outstanding = new Set<Outstanding>();
  private inFlight = 0;
  private readonly windowWaiters = new WaiterQueue();
  private readonly bindWaiters = new Set<(bound: boolean) => void>();
  private readonly trackers = new Map<string, Tracker>();
  private readonly earlyReceipts = new Map<string, EarlyReceipt>();
  private throttlePause: Promise<void> | undefined;
  private throttleTimer: NodeJS.Timeout | undefined;
  private throttleLevel = 0;
  private reconnectAttempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private receiverAttempts = 0;
  private receiverTimer: NodeJS.Timeout | undefined;
  private reference = 0;
  /** Whether the bound SMSC takes optional parameters: its bind_resp declared SMPP 3.4 or later. */
  private peerTakesTlvs = false;
  /** Successful binds of the submit link since start; a value above 1 means it was re-established. */
  bindCount = 0;

  constructor(options: SmppChannelOptions) {
    this.opts = {
      systemType: '',
      bindMode: 'auto',
      windowSize: 512,
      submitTimeoutMs: 10_000,
      bindWaitMs: 2_000,
      enquireLinkMs: 30_000,
      reconnectMinMs: 250,
      reconnectMaxMs: 30_000,
      throttleRetries: 5,
      throttleBackoffMinMs: 200,
      throttleBackoffMaxMs: 5_000,
      sendMessageKeyTlv: true,
      receiptIds: 'as-submitted',
      maxTrackedMessages: 1_000_000,
      now: systemClock.now,
      logger: silentLogger,
      ...options,
    };
    this.reports = new ReportHub(this.opts.logger);
    this.pairMode = this.opts.bindMode === 'transmitter-receiver';
    this.connect();
  }

  get isBound(): boolean {
    return this.state === 'bound';
  }

  /** How the channel is bound now, or will bind next. */
  get bindMode(): 'transceiver' | 'transmitter-receiver' {
    return this.pairMode ? 'transmitter-receiver' : 'transceiver';
  }

  /** Whether the receiver of a transmitter + receiver pair is bound. */
  get isReceiverBound(): boolean {
    return this.receiver?.isBound ?? false;
  }

  private get session(): SmppSession | undefined {
    return this.link?.session;
  }

  onReport(listener: ReportListener): () => void {
    return this.reports.add(listener);
  }

  send(messages: readonly OutboundMessage[]): Promise<SendResult[]> {
    return this.deduper.run(messages, (m) => this.sendOne(m));
  }

  /** Resolves true once bound, false after `timeoutMs` or when the channel is closed. */
  waitUntilBound(timeoutMs = this.opts.bindWaitMs): Promise<boolean> {
    if (this.state === 'bound') return Promise.resolve(true);
    if (this.state === 'closed') return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (bound: boolean) => {
        clearTimeout(timer);
        this.bindWaiters.delete(done);
        resolve(bound);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.bindWaiters.add(done);
    });
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.receiverTimer);
    clearTimeout(this.throttleTimer);
    this.notifyBindWaiters(false);
    for (const early of [...this.earlyReceipts.values()]) {
      this.forgetEarly(early);
      this.emitUntracked(early.receipt);
    }
    const links = [this.link, this.receiver].filter((l): l is SmppLink => l !== undefined);
    await Promise.all(links.map((l) => l.close()));
    this.failOutstanding();
  }

  private async sendOne(message: OutboundMessage): Promise<SendResult> {
    const to = message.to.replace(/[\s-]/g, '');
    if (!/^\+?\d{3,20}$/.test(to)) return invalidRecipient(message.messageKey, `not a phone number: ${message.to}`);
    if (message.text === '') return invalidRecipient(message.messageKey, 'empty SMS text');
    if (!(await this.waitUntilBound())) {
      return unavailable(message.messageKey, `SMSC ${this.opts.host}:${this.opts.port} not bound (${this.state})`);
    }
    let segments: SmsSegment[];
    try {
      segments = encodeSms(message.text, this.nextReference());
    } catch (err) {
      return rejected(message.messageKey, { code: 'CHANNEL_MESSAGE_TOO_LONG', message: (err as Error).message, permanent: true });
    }
    const tracker: Tracker = { messageKey: message.messageKey, parts: segments.length, delivered: 0, finished: false };
    for (const segment of segments) {
      const pdu = () => submitSmPdu({
        sourceAddr: this.opts.sourceAddr,
        sourceTon: /^\d+$/.test(this.opts.sourceAddr) ? 0 : 5, // national number or alphanumeric
        destinationAddr: to.replace(/^\+/, ''),
        destTon: to.startsWith('+') ? 1 : 0,
        destNpi: 1, // ISDN (E.164)
        esmClass: segment.esmClass,
        registeredDelivery: 1, // final receipt, success or failure
        dataCoding: segment.dataCoding,
        shortMessage: segment.shortMessage,
        ...(this.opts.sendMessageKeyTlv && this.peerTakesTlvs ? { tlvs: [[MESSAGE_KEY_TLV_ID, Buffer.from(message.messageKey, 'utf8')]] as const } : {}),
      });
      const onAccepted = (messageId: string) => this.track(messageId, tracker);
      let outcome = await this.submit(pdu(), onAccepted);
      // A throttled submit was refused, not taken: resubmitting it after a pause cannot double it.
      for (let retry = 1; retry <= this.opts.throttleRetries && outcome.kind === 'response' && isThrottleStatus(outcome.status); retry++) {
        outcome = await this.submit(pdu(), onAccepted);
      }
      if (outcome.kind === 'response' && outcome.status === 0) continue;
      tracker.finished = true;
      return this.failure(message.messageKey, outcome);
    }
    return { messageKey: message.messageKey, accepted: true, providerMessageId: tracker.providerMessageId! };
  }

  private failure(messageKey: string, outcome: SubmitOutcome): SendResult {
    if (outcome.kind === 'link_lost') {
      return unavailable(messageKey, 'SMPP link lost before submit_sm_resp; the SMSC may hold the message');
    }
    if (outcome.kind === 'timeout') {
      return rejected(messageKey, {
        code: 'CHANNEL_TIMEOUT',
        message: `no submit_sm_resp within ${this.opts.submitTimeoutMs} ms; the SMSC may hold the message`,
        permanent: false,
      });
    }
    const name = smppStatusName(outcome.status);
    return rejected(messageKey, {
      code: `SMPP_${name}`,
      message: `SMSC rejected submit_sm with ${name}`,
      permanent: !isRetryableStatus(outcome.status),
    });
  }

  /** Sends one submit_sm inside the window; `onAccepted` runs before any later PDU is read. */
  private async submit(pdu: EncodedPdu, onAccepted: (messageId: string) => void): Promise<SubmitOutcome> {
    while (this.throttlePause) await this.throttlePause;
    await this.acquireWindow();
    try {
      return await new Promise<SubmitOutcome>((resolve) => {
        const session = this.session;
        if (!session || this.state !== 'bound') return resolve({ kind: 'link_lost' });
        const entry: Outstanding = {
          settle: (outcome) => {
            clearTimeout(timer);
            this.outstanding.delete(entry);
            resolve(outcome);
          },
        };
        const timer = setTimeout(() => entry.settle({ kind: 'timeout' }), this.opts.submitTimeoutMs);
        this.outstanding.add(entry);
        const sent = sendPdu(session, pdu, (response) => {
          const messageId = typeof response.message_id === 'string' ? response.message_id : '';
          if (response.command_status === 0) this.throttleLevel = 0;
          if (isThrottleStatus(response.command_status)) this.slowDown();
          if (response.command_status === 0) onAccepted(messageId);
          entry.settle({ kind: 'response', status: response.command_status, messageId });
          if (response.command_status === SMPP_STATUS.ESME_RINVBNDSTS && session === this.session) {
            // The SMSC no longer holds this link as bound (it restarted, or timed the bind out): bind again.
            this.opts.logger.warn({}, 'SMSC answered ESME_RINVBNDSTS; binding again');
            if (this.state === 'bound') this.state = 'down';
            this.link?.destroy();
          }
        });
        if (!sent) entry.settle({ kind: 'link_lost' });
      });
    } finally {
      this.releaseWindow();
    }
  }

  /** Holds every new submit for a while; the pause doubles while the SMSC keeps throttling. */
  private slowDown(): void {
    if (this.throttlePause || this.state === 'closed') return;
    const delay = Math.min(this.opts.throttleBackoffMaxMs, this.opts.throttleBackoffMinMs * 2 ** this.throttleLevel++);
    this.opts.logger.warn({ delayMs: delay }, 'SMSC throttling; pausing submits');
    this.throttlePause = new Promise((resolve) => {
      this.throttleTimer = setTimeout(() => {
        this.throttlePause = undefined;
        resolve();
      }, delay);
    });
  }

  private acquireWindow(): Promise<void> {
    if (this.inFlight < this.opts.windowSize) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.windowWaiters.push(resolve));
  }

  private releaseWindow(): void {
    const next = this.windowWaiters.shift();
    if (next) next();
    else this.inFlight--;
  }

  private track(messageId: string, tracker: Tracker): void {
    tracker.providerMessageId ??= messageId;
    const key = submittedIdKey(messageId);
    const early = this.earlyReceipts.get(key);
    if (early) {
      this.forgetEarly(early);
      this.applyReceipt(tracker, early.receipt);
      return;
    }
    this.trackers.set(key, tracker);
    if (this.trackers.size > this.opts.maxTrackedMessages) {
      const oldest = this.trackers.keys().next().value;
      if (oldest !== undefined) this.trackers.delete(oldest);
    }
  }

  /** deliver_sm or data_sm: a receipt is matched to its message; anything else is ignored. */
  private onReceiptPdu(pdu: SmppPdu): void {
    const receipt = parseReceipt({
      esmClass: typeof pdu.esm_class === 'number' ? pdu.esm_class : 0,
      text: shortMessageText(pdu).text,
      receiptedMessageId: pdu.receipted_message_id,
      messageState: pdu.message_state,
    });
    if (!receipt || receipt.state === null) return;
    const final = { ...receipt, state: receipt.state };
    const key = receiptIdKey(receipt.messageId, this.opts.receiptIds);
    const tracker = key === undefined ? undefined : this.trackers.get(key);
    if (tracker) {
      this.trackers.delete(key!);
      this.applyReceipt(tracker, final);
      return;
    }
    if (key === undefined || this.outstanding.size === 0 || this.earlyReceipts.size >= 10_000 || this.earlyReceipts.has(key)) {
      // Receipt for a message sent before a restart (or forgotten): its own id is all we have.
      this.emitUntracked(final);
      return;
    }
    // Its submit_sm_resp may still be on the way: hold the receipt as long as a submit may wait.
    const early: EarlyReceipt = {
      receipt: final,
      key,
      timer: setTimeout(() => {
        this.forgetEarly(early);
        this.emitUntracked(final);
      }, this.opts.submitTimeoutMs),
    };
    this.earlyReceipts.set(key, early);
  }

  private forgetEarly(early: EarlyReceipt): void {
    clearTimeout(early.timer);
    this.earlyReceipts.delete(early.key);
  }

  private emitUntracked(receipt: ParsedReceipt & { state: DeliveryState }): void {
    this.reports.emit({ providerMessageId: receipt.messageId, channel: 'sms', state: receipt.state, at: this.opts.now(), detail: receiptDetail(receipt) });
  }

  private applyReceipt(tracker: Tracker, receipt: ParsedReceipt & { state: DeliveryState }): void {
    if (tracker.finished) return;
    if (receipt.state === 'delivered' && ++tracker.delivered < tracker.parts) return;
    tracker.finished = true;
    this.reports.emit({
      providerMessageId: tracker.providerMessageId ?? receipt.messageId,
      messageKey: tracker.messageKey,
      channel: 'sms',
      state: receipt.state,
      at: this.opts.now(),
      detail: receiptDetail(receipt),
    });
  }

  private linkTo(bind: BindCommand, on: SmppLinkEvents): SmppLink {
    return new SmppLink({
      host: this.opts.host,
      port: this.opts.port,
      systemId: this.opts.systemId,
      password: this.opts.password,
      systemType: this.opts.systemType,
      bind,
      bindTimeoutMs: this.opts.submitTimeoutMs,
      enquireLinkMs: this.opts.enquireLinkMs,
      logger: this.opts.logger,
    }, on);
  }

  /** Opens the link submits go on: a transceiver, or the transmitter of a pair. */
  private connect(): void {
    this.state = 'connecting';
    const pair = this.pairMode;
    const link: SmppLink = this.linkTo(pair ? 'bind_transmitter' : 'bind_transceiver', {
      bound: (response) => this.onBound(link, response, pair),
      // No submit may follow our unbind_resp on this link; new ones wait for the rebind.
      unbound: () => {
        if (link === this.link && this.state === 'bound') this.state = 'down';
      },
      request: (pdu) => this.onReceiptPdu(pdu),
      closed: (how) => this.onLinkDown(link, how),
    });
    this.link = link;
  }

  private onBound(link: SmppLink, response: SmppPdu, pair: boolean): void {
    if (this.state === 'closed' || link !== this.link) return;
    // An SMSC whose bind_resp has no sc_interface_version (or one below 0x34) is taken for SMPP
    // 3.3, which has no optional parameters and may refuse a submit_sm that carries one.
    const scVersion = response.sc_interface_version;
    this.peerTakesTlvs = typeof scVersion === 'number' && scVersion >= 0x34;
    this.state = 'bound';
    this.bindCount++;
    this.reconnectAttempts = 0;
    this.opts.logger.info({ host: this.opts.host, port: this.opts.port }, pair ? 'SMPP bound as transmitter' : 'SMPP bound as transceiver');
    if (pair && !this.receiver) this.connectReceiver();
    if (!pair) this.closeReceiver();
    this.notifyBindWaiters(true);
  }

  private onLinkDown(link: SmppLink, how: SmppLinkClosed): void {
    if (link !== this.link) return;
    this.link = undefined;
    this.failOutstanding();
    if (this.state === 'closed') return;
    this.state = 'down';
    const mode = this.bindMode;
    if (how.refused !== undefined) this.opts.logger.warn({ status: smppStatusName(how.refused), mode }, 'SMPP bind refused');
    if (this.opts.bindMode === 'auto' && (how.refused !== undefined || how.bindUnanswered)) {
      this.pairMode = !this.pairMode;
      this.opts.logger.warn({ refused: mode, next: this.bindMode }, 'SMSC did not take the bind; trying the other bind mode');
    }
    const delay = this.backoff(this.reconnectAttempts++);
    this.opts.logger.warn({ delayMs: delay }, 'SMPP link down; reconnecting');
    this.reconnectTimer = setTimeout(() => {
      if (this.state !== 'closed') this.connect();
    }, delay);
  }

  /** The receiver of a pair: bound again on its own when it drops, the transmitter going on meanwhile. */
  private connectReceiver(): void {
    const link: SmppLink = this.linkTo('bind_receiver', {
      bound: () => {
        if (link !== this.receiver) return;
        this.receiverAttempts = 0;
        this.opts.logger.info({ host: this.opts.host, port: this.opts.port }, 'SMPP bound as receiver');
      },
      unbound: () => undefined,
      request: (pdu) => this.onReceiptPdu(pdu),
      closed: (how) => {
        if (link !== this.receiver) return;
        this.receiver = undefined;
        if (this.state === 'closed' || !this.pairMode) return;
        if (how.refused !== undefined) this.opts.logger.warn({ status: smppStatusName(how.refused) }, 'SMPP receiver bind refused');
        const delay = this.backoff(this.receiverAttempts++);
        this.receiverTimer = setTimeout(() => {
          if (this.state !== 'closed' && this.pairMode && !this.receiver) this.connectReceiver();
        }, delay);
      },
    });
    this.receiver = link;
  }

  /** A transceiver bound: receipts come on it, the receiver of an earlier pair is let go. */
  private closeReceiver(): void {
    clearTimeout(this.receiverTimer);
    const receiver = this.receiver;
    this.receiver = undefined;
    if (receiver) void receiver.close();
  }

  private backoff(attempt: number): number {
    return Math.min(this.opts.reconnectMaxMs, this.opts.reconnectMinMs * 2 ** attempt);
  }

  private failOutstanding(): void {
    for (const entry of [...this.outstanding]) entry.settle({ kind: 'link_lost' });
  }

  private notifyBindWaiters(bound: boolean): void {
    for (const waiter of [...this.bindWaiters]) waiter(bound);
  }

  private nextReference(): number {
    this.reference = (this.reference + 1) & 0xff;
    return this.reference;
  }
}

function receiptDetail(receipt: ParsedReceipt): string {
  return `stat:${receipt.stat}${receipt.error === undefined ? '' : ` err:${receipt.error}`}`;
}

export function createSmppChannel(options: SmppChannelOptions): SmppChannel {
  return new SmppChannel(options);
}
