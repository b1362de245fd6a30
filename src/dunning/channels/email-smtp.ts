/**
 * Email (电子邮件) over SMTP through a pool of pipelined connections (smtp-client.ts). SMTP has no delivery
 * receipt: a message the receiving server accepted (250 after DATA) is reported 'delivered';
 * a hard reject at RCPT is a permanent send error; a later bounce arrives as a signed webhook
 * (the relay's bounce processor) and is reported 'failed', superseding the earlier report.
 * A bounce that overtakes the 250 suppresses the 'delivered', so 'failed' is always last.
 */
import { systemClock } from '../../platform/clock.ts';
import { createHash } from 'node:crypto';
import { readSignedCallback } from './signed-http.ts';
import { buildMessage, parseMailbox, SmtpError, SmtpPool, type SmtpClientOptions } from './smtp-client.ts';
import { ReportHub, SendDeduper, invalidRecipient, rejected, silentLogger, unavailable } from './support.ts';
import type {
  CallbackChannel,
  CallbackHeaders,
  CallbackVerdict,
  ChannelLogger,
  OutboundMessage,
  ReportListener,
  SendResult,
} from './types.ts';

export interface EmailChannelOptions {
  host: string;
  port: number;
  /** Implicit TLS (port 465). Default false: plain, upgraded by STARTTLS when offered. */
  secure?: boolean;
  /** Refuse to send without STARTTLS. Default false. */
  requireTls?: boolean;
  auth?: { user: string; pass: string };
  /** Sender, e.g. '供电公司电费中心 <billing@power.example>'. */
  from: string;
  maxConnections?: number;
  /** Domain of the Message-ID we assign (the id is derived from the messageKey). */
  messageIdDomain?: string;
  /** Shared secret of the bounce webhook; without it bounce callbacks are refused. */
  webhookSecret?: string;
  timeoutMs?: number;
  /** Wait for the reply to the end of a message; default 10 minutes (RFC 5321 §4.5.3.2.6). */
  dataTimeoutMs?: number;
  /** Certificate checks for `secure` and `requireTls`, e.g. a private CA. */
  tls?: SmtpClientOptions['tls'];
  /** Business clock: stamps delivery reports. May be simulated. */
  now?: () => Date;
  /** Real time for webhook signature freshness. */
  wallClock?: () => Date;
  logger?: ChannelLogger;
}

// ASCII only: without SMTPUTF8 (RFC 6531) a non-ASCII mailbox cannot be named in RCPT TO
const EMAIL = /^[!#-'*+\-/-9=?A-Z^-~]+(?:\.[!#-'*+\-/-9=?A-Z^-~]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const CONNECTION_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EPROXY']);

export class SmtpEmailChannel implements CallbackChannel {
  readonly kind = 'email' as const;
  private readonly pool: SmtpPool;
  private readonly fromAddress: string;
  private readonly reports: ReportHub;
  private readonly deduper = new SendDeduper();
  /** Messages whose bounce arrived, possibly before the 250 after DATA did. */
  private readonly bounced = new Set<string>();
  private readonly now: () => Date;
  private readonly wallClock: () => Date;
  private readonly logger: ChannelLogger;

  constructor(private readonly options: EmailChannelOptions) {
    this.now = options.now ?? systemClock.now;
    this.wallClock = options.wallClock ?? systemClock.now;
    this.logger = options.logger ?? silentLogger;
    this.reports = new ReportHub(this.logger);
    // A message whose connection dropped mid-DATA may have been accepted: the caller's outbox
    // decides about a retry, the pool never silently resends it.
    this.pool = new SmtpPool({
      host: options.host,
      port: options.port,
      secure: options.secure ?? false,
      requireTls: options.requireTls ?? false,
      ...(options.auth ? { auth: options.auth } : {}),
      maxConnections: options.maxConnections ?? 5,
      timeoutMs: options.timeoutMs ?? 15_000,
      ...(options.dataTimeoutMs === undefined ? {} : { dataTimeoutMs: options.dataTimeoutMs }),
      ...(options.tls ? { tls: options.tls } : {}),
    });
    this.fromAddress = parseMailbox(options.from).address;
  }

  onReport(listener: ReportListener): () => void {
    return this.reports.add(listener);
  }

  send(messages: readonly OutboundMessage[]): Promise<SendResult[]> {
    return this.deduper.run(messages, (m) => this.sendOne(m));
  }

  verifyCallback(headers: CallbackHeaders, rawBody: string): CallbackVerdict {
    if (!this.options.webhookSecret) {
      return { ok: false, status: 401, code: 'CHANNEL_SIGNATURE_INVALID', message: 'email bounce webhook is not configured' };
    }
    return readSignedCallback({
      kind: 'email',
      secret: this.options.webhookSecret,
      outcomes: { bounced: 'failed', delivered: 'delivered' },
      headers,
      rawBody,
      now: this.now(),
      wallClock: this.wallClock(),
    });
  }

  handleCallback(headers: CallbackHeaders, rawBody: string): CallbackVerdict {
    const verdict = this.verifyCallback(headers, rawBody);
    if (!verdict.ok) {
      this.logger.warn({ channel: 'email', code: verdict.code }, 'email webhook refused');
      return verdict;
    }
    if (verdict.report.state === 'failed') this.rememberBounce(verdict.report.providerMessageId);
    this.reports.emit(verdict.report);
    return verdict;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private rememberBounce(providerMessageId: string): void {
    this.bounced.add(providerMessageId);
    if (this.bounced.size > 100_000) {
      const oldest = this.bounced.values().next().value;
      if (oldest !== undefined) this.bounced.delete(oldest);
    }
  }

  private async sendOne(message: OutboundMessage): Promise<SendResult> {
    const key = message.messageKey;
    if (!EMAIL.test(message.to)) return invalidRecipient(key, `not an email address: ${message.to}`);
    const messageId = `${messageIdLocalPart(key)}@${this.options.messageIdDomain ?? 'zerotouch.local'}`;
    try {
      const data = buildMessage({
        from: this.options.from, to: message.to, subject: message.subject ?? '', text: message.text,
        ...(message.html === undefined ? {} : { html: message.html }),
        messageId, date: this.now(), headers: { 'X-ZT-Message-Key': key },
      }, `zt-${createHash('sha256').update(key).digest('hex').slice(0, 24)}`);
      const info = await this.pool.send(this.fromAddress, message.to, data);
      // A fast bounce can beat the 250 back to us: never report 'delivered' after it.
      if (!this.bounced.has(messageId)) {
        this.reports.emit({
          providerMessageId: messageId,
          messageKey: key,
          channel: 'email',
          state: 'delivered',
          at: this.now(),
          detail: info.response,
        });
      }
      return { messageKey: key, accepted: true, providerMessageId: messageId };
    } catch (err) {
      return smtpFailure(key, err as SmtpError);
    }
  }
}

/** Message-ID local part: the key itself when it is a dot-atom (no empty part), else a stable hash of it. */
function messageIdLocalPart(messageKey: string): string {
  return messageKey.length <= 64 && /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/.test(messageKey)
    ? messageKey
    : `zt-${createHash('sha256').update(messageKey).digest('hex').slice(0, 32)}`;
}

function smtpFailure(messageKey: string, err: SmtpError): SendResult {
  // Only a reply to the envelope or to the message judges the message: a 554 greeting or a refused
  // login is about us and the server, and must not count as a bounce of the customer's address.
  // A refused sender (MAIL FROM: 530 authentication required, 550 sender not allowed) is our setup, not
  // the customer's address: it must not count towards the contact's verification task
  if (err.command === 'MAIL') {
    return rejected(messageKey, { code: 'SMTP_SENDER_REFUSED', message: err.response ?? err.message, permanent: false });
  }
  // Credentials are configured and the relay offers no AUTH mechanism we speak (or none at all): the
  // relay's setup or ours, retried once it is fixed, and never a fault of the customer's address
  if (err.code === 'ENOAUTH') return rejected(messageKey, { code: 'SMTP_AUTH_UNSUPPORTED', message: err.message, permanent: false });
  if (err.responseCode !== undefined && (err.code === 'EENVELOPE' || err.code === 'EMESSAGE')) {
    const permanent = err.responseCode >= 500 && err.responseCode !== 503;
    return rejected(messageKey, {
      code: permanent ? 'SMTP_REJECTED' : 'SMTP_DEFERRED',
      message: err.response ?? err.message,
      permanent,
    });
  }
  if (err.code !== undefined && CONNECTION_CODES.has(err.code)) {
    return unavailable(messageKey, `SMTP server unreachable: ${err.message}`);
  }
  return rejected(messageKey, { code: `SMTP_${err.code ?? 'ERROR'}`, message: err.message, permanent: false });
}

export function createEmailChannel(options: EmailChannelOptions): SmtpEmailChannel {
  return new SmtpEmailChannel(options);
}
