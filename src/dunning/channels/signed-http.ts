/**
 * Signed HTTP, the protocol of the IVR platform (voice, 语音外呼) and the cable operator
 * (catv, 有线电视机顶盒消息): we POST JSON signed with HMAC-SHA256 over `timestamp.body`;
 * the provider answers 202 with its id and later POSTs the outcome, signed the same way,
 * to our callback URL.
 */
import { systemClock } from '../../platform/clock.ts';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Limiter, ReportHub, SendDeduper, headerValue, rejected, silentLogger, unavailable } from './support.ts';
import type {
  CallbackChannel,
  CallbackHeaders,
  CallbackVerdict,
  ChannelKind,
  ChannelLogger,
  DeliveryState,
  OutboundMessage,
  ReportListener,
  SendResult,
} from './types.ts';

export const SIGNATURE_HEADER = 'x-zt-signature';
export const TIMESTAMP_HEADER = 'x-zt-timestamp';
const DEFAULT_TOLERANCE_MS = 5 * 60_000;

/** Hex HMAC-SHA256 of `${timestamp}.${body}`. */
export function signBody(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** Headers for a signed request; the timestamp is Unix seconds. */
export function signedHeaders(secret: string, body: string, at: Date): Record<string, string> {
  const timestamp = String(Math.floor(at.getTime() / 1_000));
  return {
    'content-type': 'application/json',
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: `v1=${signBody(secret, timestamp, body)}`,
  };
}

export type SignatureCheck = { ok: true } | { ok: false; code: string; message: string };

/** Checks signature and freshness; a replayed request older than `toleranceMs` is refused. */
export function verifySignature(
  secret: string,
  headers: CallbackHeaders,
  body: string,
  now: Date,
  toleranceMs = DEFAULT_TOLERANCE_MS,
): SignatureCheck {
  const timestamp = headerValue(headers, TIMESTAMP_HEADER);
  const signature = headerValue(headers, SIGNATURE_HEADER);
  if (!timestamp || !signature) {
    return { ok: false, code: 'CHANNEL_SIGNATURE_MISSING', message: `${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER} are required` };
  }
  const expected = Buffer.from(`v1=${signBody(secret, timestamp, body)}`);
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, code: 'CHANNEL_SIGNATURE_INVALID', message: 'signature does not match the body and shared secret' };
  }
  const ageMs = Math.abs(now.getTime() - Number(timestamp) * 1_000);
  if (!/^\d{1,12}$/.test(timestamp) || ageMs > toleranceMs) {
    return { ok: false, code: 'CHANNEL_SIGNATURE_EXPIRED', message: `timestamp outside ${toleranceMs / 1_000} s of now` };
  }
  return { ok: true };
}

/** What a provider posts back: its id, our key, and an outcome in its own vocabulary. */
export interface ProviderCallback {
  providerMessageId: string;
  messageKey?: string;
  outcome: string;
  /** The provider's own time of the outcome; informative only, reports carry our clock. */
  at?: string;
  detail?: string;
}

export interface SignedHttpChannelOptions {
  /** Provider base URL, e.g. http://127.0.0.1:7001 or https://ivr.example/api; the path is appended. */
  endpoint: string;
  secret: string;
  /** Our endpoint the provider calls back, e.g. https://zt.example/api/v1/channels/callbacks/voice */
  callbackUrl: string;
  concurrency?: number;
  timeoutMs?: number;
  callbackToleranceMs?: number;
  /**
   * The longest pause a provider's Retry-After (on a 429 or 503) imposes on the channel; a longer one,
   * or a date far ahead, is cut to this. Default 10 minutes.
   */
  retryAfterMaxMs?: number;
  /**
   * How long a message waits out such a pause to be sent (again) within send(); past it the message
   * fails at once, retryably, with the pause left in `retryAfterMs`. Default 30 s.
   */
  retryAfterWaitMs?: number;
  /** Resends of one message after a 429 or 503 with Retry-After within send(). Default 3. */
  retryAfterRetries?: number;
  /** Business clock: stamps delivery reports. May be simulated. */
  now?: () => Date;
  /** Real time: signature timestamps, which the provider checks against its own clock, and Retry-After dates. */
  wallClock?: () => Date;
  logger?: ChannelLogger;
}

/** A pause the provider asked for: no request goes out before `until` (wall-clock ms). */
interface ProviderPause {
  until: number;
  over: Promise<void>;
  end(): void;
}

/** How one provider differs from another: where to post, what to post, what outcomes mean. */
export interface ProviderProfile {
  kind: ChannelKind;
  path: string;
  validateRecipient(to: string): string | undefined;
  requestBody(message: OutboundMessage, callbackUrl: string): Record<string, unknown>;
  outcomes: Readonly<Record<string, DeliveryState>>;
}

export class SignedHttpChannel implements CallbackChannel {
  readonly kind: ChannelKind;
  private readonly opts: Required<Omit<SignedHttpChannelOptions, 'endpoint' | 'secret' | 'callbackUrl'>>;
  private readonly reports: ReportHub;
  private readonly deduper = new SendDeduper();
  private readonly limiter: Limiter;
  private readonly url: URL;
  /** Kept-alive connections, as many as requests may be in flight. */
  private readonly agent: HttpAgent;
  private closed = false;
  private pause: ProviderPause | undefined;

  constructor(
    private readonly profile: ProviderProfile,
    private readonly options: SignedHttpChannelOptions,
  ) {
    this.kind = profile.kind;
    this.opts = {
      concurrency: 32,
      timeoutMs: 10_000,
      callbackToleranceMs: DEFAULT_TOLERANCE_MS,
      retryAfterMaxMs: 10 * 60_000,
      retryAfterWaitMs: 30_000,
      retryAfterRetries: 3,
      now: systemClock.now,
      wallClock: systemClock.now,
      logger: silentLogger,
      ...options,
    };
    this.reports = new ReportHub(this.opts.logger);
    this.limiter = new Limiter(this.opts.concurrency);
    this.url = new URL(`${options.endpoint.replace(/\/+$/, '')}${profile.path}`);
    const Agent = this.url.protocol === 'https:' ? HttpsAgent : HttpAgent;
    this.agent = new Agent({ keepAlive: true, maxSockets: this.opts.concurrency });
  }

  onReport(listener: ReportListener): () => void {
    return this.reports.add(listener);
  }

  send(messages: readonly OutboundMessage[]): Promise<SendResult[]> {
    return this.deduper.run(messages, (m) => this.limiter.run(() => this.sendOne(m)));
  }

  verifyCallback(headers: CallbackHeaders, rawBody: string): CallbackVerdict {
    return readSignedCallback({
      kind: this.kind,
      secret: this.options.secret,
      outcomes: this.profile.outcomes,
      headers,
      rawBody,
      now: this.opts.now(),
      wallClock: this.opts.wallClock(),
      toleranceMs: this.opts.callbackToleranceMs,
    });
  }

  handleCallback(headers: CallbackHeaders, rawBody: string): CallbackVerdict {
    const verdict = this.verifyCallback(headers, rawBody);
    if (verdict.ok) this.reports.emit(verdict.report);
    else this.opts.logger.warn({ channel: this.kind, code: verdict.code }, 'channel callback refused');
    return verdict;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pause?.end();
    this.agent.destroy();
  }

  private async sendOne(message: OutboundMessage): Promise<SendResult> {
    const key = message.messageKey;
    if (this.closed) return unavailable(key, `${this.kind} channel is closed`);
    const invalid = this.profile.validateRecipient(message.to);
    if (invalid) return rejected(key, { code: 'CHANNEL_INVALID_RECIPIENT', message: invalid, permanent: true });
    const body = JSON.stringify(this.profile.requestBody(message, this.options.callbackUrl));
    for (let resends = 0; ; resends++) {
      const pausedMs = await this.waitOutPause();
      if (this.closed) return unavailable(key, `${this.kind} channel is closed`);
      if (pausedMs !== undefined) {
        return rejected(key, {
          code: 'CHANNEL_RETRY_AFTER',
          message: `the ${this.kind} provider asked for no requests for another ${Math.ceil(pausedMs / 1_000)} s (Retry-After); not sent`,
          permanent: false,
          retryAfterMs: pausedMs,
        });
      }
      let response: PostResponse;
      try {
        response = await postJson(this.url, { ...signedHeaders(this.options.secret, body, this.opts.wallClock()), 'idempotency-key': key }, body, this.opts.timeoutMs, this.agent);
      } catch (err) {
        if (!(err instanceof RequestTimeout)) return unavailable(key, `${this.kind} provider unreachable: ${(err as Error).message}`);
        return rejected(key, {
          code: 'CHANNEL_TIMEOUT',
          message: `no answer within ${this.opts.timeoutMs} ms; the provider may hold the request`,
          permanent: false,
        });
      }
      const { text } = response;
      if (response.status === 200 || response.status === 201 || response.status === 202) {
        const id = parseId(text);
        if (id) return { messageKey: key, accepted: true, providerMessageId: id };
        return rejected(key, { code: 'CHANNEL_PROTOCOL', message: `provider answered ${response.status} without an id`, permanent: false });
      }
      // A 429 or 503 with Retry-After says when the provider takes requests again: the whole channel
      // pauses until then, and this message goes again after the pause if it is short enough to wait.
      const asked = response.status === 429 || response.status === 503 ? parseRetryAfter(response.retryAfter, this.opts.wallClock()) : undefined;
      const retryAfterMs = asked === undefined ? undefined : Math.min(asked, this.opts.retryAfterMaxMs);
      if (retryAfterMs !== undefined) {
        this.pauseFor(retryAfterMs);
        if (resends < this.opts.retryAfterRetries && retryAfterMs <= this.opts.retryAfterWaitMs) continue;
      }
      // a 4xx refuses the request for good, except a timeout, a rate limit, and what is about our own setup
      // (credentials, rights, the endpoint): those must not count against the customer's number
      const permanent = response.status >= 400 && response.status < 500 && !OUR_SETUP_OR_LATER.has(response.status);
      return rejected(key, {
        code: `HTTP_${response.status}`,
        message: providerMessage(text, response.status),
        permanent,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
  }

  /** Holds every request of the channel for `ms`; a pause already running longer stays as it is. */
  private pauseFor(ms: number): void {
    const until = this.opts.wallClock().getTime() + ms;
    if (ms <= 0 || (this.pause && this.pause.until >= until)) return;
    let end!: () => void;
    const over = new Promise<void>((resolve) => (end = resolve));
    const pause: ProviderPause = { until, over, end: () => end() };
    // wall-clock ms, counted by a timer: a simulated wall clock that stands still cannot hold it forever
    const timer = setTimeout(() => pause.end(), ms);
    void over.then(() => {
      clearTimeout(timer);
      if (this.pause === pause) this.pause = undefined;
    });
    this.pause = pause;
    this.opts.logger.warn({ channel: this.kind, code: 'CHANNEL_RETRY_AFTER', pauseMs: ms }, 'provider asked us to wait (Retry-After); requests paused');
  }

  /**
   * Waits for the provider's pause to end when it ends within `retryAfterWaitMs`; otherwise returns,
   * at once, how long it still runs.
   */
  private async waitOutPause(): Promise<number | undefined> {
    for (let pause = this.pause; pause && !this.closed; pause = this.pause) {
      const left = pause.until - this.opts.wallClock().getTime();
      if (left > this.opts.retryAfterWaitMs) return left;
      await pause.over;
    }
    return undefined;
  }
}

/**
 * Retry-After (RFC 9110 §10.2.3) as ms from `now`: delay-seconds, or an HTTP-date in any of the three
 * forms a recipient must read (§5.6.7: IMF-fixdate, RFC 850, asctime). Undefined when it is neither.
 */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1_000;
  const imfOrRfc850 = /^[A-Za-z]{3,9}, \d{2}[ -][A-Za-z]{3}[ -]\d{2,4} \d{2}:\d{2}:\d{2} GMT$/.test(v);
  const asctime = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/.test(v);
  const at = imfOrRfc850 ? Date.parse(v) : asctime ? Date.parse(`${v} GMT`) : Number.NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/** Verifies a provider callback and maps it to a report; shared by every callback channel. */
export function readSignedCallback(input: {
  kind: ChannelKind;
  secret: string;
  outcomes: Readonly<Record<string, DeliveryState>>;
  headers: CallbackHeaders;
  rawBody: string;
  /** Stamps the report. */
  now: Date;
  /** Checks the signature's freshness. */
  wallClock: Date;
  toleranceMs?: number;
}): CallbackVerdict {
  const check = verifySignature(input.secret, input.headers, input.rawBody, input.wallClock, input.toleranceMs);
  if (!check.ok) return { ok: false, status: 401, code: check.code, message: check.message };
  let parsed: unknown;
  try {
    parsed = JSON.parse(input.rawBody);
  } catch {
    return malformed('callback body is not JSON');
  }
  // a signed `null` or list is still not a callback, and must not end in a 500
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return malformed('callback body must be a JSON object');
  const body = parsed as Partial<ProviderCallback>;
  if (typeof body.providerMessageId !== 'string' || body.providerMessageId === '') {
    return malformed('providerMessageId is required');
  }
  const state = typeof body.outcome === 'string' && Object.hasOwn(input.outcomes, body.outcome) ? input.outcomes[body.outcome] : undefined;
  if (!state) return malformed(`outcome must be one of ${Object.keys(input.outcomes).join(', ')}`);
  return {
    ok: true,
    report: {
      providerMessageId: body.providerMessageId,
      ...(typeof body.messageKey === 'string' ? { messageKey: body.messageKey } : {}),
      channel: input.kind,
      state,
      at: input.now,
      ...(typeof body.detail === 'string' ? { detail: body.detail } : {}),
    },
  };
}

function malformed(message: string): CallbackVerdict {
  return { ok: false, status: 400, code: 'CHANNEL_CALLBACK_MALFORMED', message };
}

class RequestTimeout extends Error {}

interface PostResponse {
  status: number;
  text: string;
  retryAfter?: string;
}

/**
 * POSTs `body` and reads the whole answer, on the channel's kept-alive connections (node:http costs
 * less CPU per request than fetch, which counts at a province's volume of calls). A kept-alive
 * connection the provider closed just as we wrote to it is tried once more on a new one: nothing
 * reached the provider, and the idempotency key makes even that safe.
 */
function postJson(url: URL, headers: Record<string, string>, body: string, timeoutMs: number, agent: HttpAgent, retryStale = true): Promise<PostResponse> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const retryAfter = res.headers['retry-after'];
      res.on('end', () => resolve({
        status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ...(retryAfter === undefined ? {} : { retryAfter }),
      }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new RequestTimeout(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (retryStale && req.reusedSocket && err.code === 'ECONNRESET') resolve(postJson(url, headers, body, timeoutMs, agent, false));
      else reject(err);
    });
    req.end(body);
  });
}

function parseId(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { id?: unknown };
    return typeof body.id === 'string' && body.id !== '' ? body.id : undefined;
  } catch {
    return undefined;
  }
}

/** 4xx answers that do not judge the recipient: 401, 403, 404 and 407 (our setup), 408 and 429 (try later). */
const OUR_SETUP_OR_LATER = new Set([401, 403, 404, 407, 408, 429]);

function providerMessage(text: string, status: number): string {
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown };
    if (typeof body.message === 'string') return `provider answered ${status}: ${body.code ?? ''} ${body.message}`.trim();
  } catch {
    // not JSON: fall through to the raw text
  }
  return `provider answered ${status}: ${text.slice(0, 200)}`;
}
