/**
 * The one contract every notification channel (通知渠道) of the dunning context honours:
 * SMS, automated voice call, email and cable-TV set-top message.
 */

export type ChannelKind = 'sms' | 'voice' | 'email' | 'catv';

export interface OutboundMessage {
  /** Idempotency key: the same key is never handed to the provider twice by one channel. */
  messageKey: string;
  channel: ChannelKind;
  /** Phone number (sms, voice), email address (email) or set-top/smart-card account (catv). */
  to: string;
  subject?: string;
  text: string;
  html?: string;
}

export interface SendError {
  /** Stable code, e.g. CHANNEL_UNAVAILABLE, SMPP_ESME_RINVDSTADR, SMTP_REJECTED, HTTP_401. */
  code: string;
  message: string;
  /** true: retrying the same message will fail again (bad number, bounced address, bad secret). */
  permanent: boolean;
  /** How long the provider asked us to wait before trying again (HTTP Retry-After), capped by the channel. */
  retryAfterMs?: number;
}

export interface SendResult {
  messageKey: string;
  accepted: boolean;
  providerMessageId?: string;
  error?: SendError;
}

export type DeliveryState = 'delivered' | 'failed' | 'answered' | 'no_answer' | 'busy';

export interface DeliveryReport {
  providerMessageId: string;
  /** Present whenever the adapter (or the provider's callback) still knows it. */
  messageKey?: string;
  channel: ChannelKind;
  state: DeliveryState;
  at: Date;
  detail?: string;
}

export type ReportListener = (report: DeliveryReport) => void;

export interface Channel {
  readonly kind: ChannelKind;
  /**
   * Sends a batch; one result per message, in input order. Never throws for a message-level
   * failure. A report may arrive before the batch resolves: match it on messageKey.
   */
  send(messages: readonly OutboundMessage[]): Promise<SendResult[]>;
  /** Registers a listener; returns a function that removes it. */
  onReport(listener: ReportListener): () => void;
  close(): Promise<void>;
}

export type CallbackHeaders = Record<string, string | string[] | undefined>;

export type CallbackVerdict =
  | { ok: true; report: DeliveryReport }
  | { ok: false; status: 400 | 401; code: string; message: string };

/** A channel whose provider reports outcomes by calling one of our HTTP endpoints. */
export interface CallbackChannel extends Channel {
  /** Checks signature and body; does not emit. */
  verifyCallback(headers: CallbackHeaders, rawBody: string): CallbackVerdict;
  /** Checks signature and body and, when valid, emits the report to the listeners. */
  handleCallback(headers: CallbackHeaders, rawBody: string): CallbackVerdict;
}

export interface ChannelLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}
