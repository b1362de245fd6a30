/**
 * A provider that speaks signed HTTP (the IVR platform, the cable operator): accepts signed
 * requests (401 on a bad signature), answers 202 with an id, then calls back the request's
 * callbackUrl after a delay with an outcome chosen by rules. Shared by sim/ivr and sim/catv.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { signedHeaders, verifySignature } from '../signed-http.ts';
import { keep } from './kept.ts';

export interface OutcomeRules<O extends string> {
  /** Exact recipient → outcome. */
  byNumber: Record<string, O>;
  /** First matching prefix wins. */
  byPrefix: Array<{ prefix: string; outcome: O }>;
  /** Seeded draw for everyone else, e.g. { answered: 0.7, no_answer: 0.2, busy: 0.1 }. */
  ratios: Partial<Record<O, number>>;
  fallback: O;
}

export interface ProviderSimOptions<O extends string> {
  port?: number;
  host?: string;
  secret?: string;
  /** Signs callbacks with this instead of `secret`, to exercise signature rejection. */
  callbackSecret?: string;
  callbackDelayMs?: number;
  rules?: Partial<OutcomeRules<O>>;
  seed?: number;
}

export interface ProviderProfileSim<O extends string> {
  name: string;
  path: string;
  recipientField: string;
  fallback: O;
}

export interface ProviderRequest {
  providerMessageId: string;
  messageKey: string;
  recipient: string;
  body: Record<string, unknown>;
}

export interface ProviderCallbackAttempt {
  providerMessageId: string;
  outcome: string;
  status: number;
}

export class SignedProviderSimulator<O extends string> {
  readonly host: string;
  readonly secret: string;
  readonly requests: ProviderRequest[] = [];
  readonly callbacks: ProviderCallbackAttempt[] = [];
  readonly stats = { received: 0, refusedSignature: 0, replayed: 0 };
  private callbackSecret: string;
  private callbackDelayMs: number;
  private rules: OutcomeRules<O>;
  private random: () => number;
  private readonly byKey = new Map<string, string>();
  private readonly receivedByKey = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly idPrefix = randomBytes(3).toString('hex');
  private nextId = 1;
  private port_ = 0;
  private readonly server: Server;

  constructor(
    private readonly profile: ProviderProfileSim<O>,
    options: ProviderSimOptions<O>,
  ) {
    this.host = options.host ?? '127.0.0.1';
    this.secret = options.secret ?? `${profile.name}-secret`;
    this.callbackSecret = options.callbackSecret ?? this.secret;
    this.callbackDelayMs = options.callbackDelayMs ?? 20;
    this.rules = { byNumber: {}, byPrefix: [], ratios: {}, fallback: profile.fallback, ...options.rules };
    this.random = mulberry32(options.seed ?? 20240601);
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.host, () => resolve());
    });
    this.port_ = (this.server.address() as AddressInfo).port;
    return this;
  }

  get port(): number {
    return this.port_;
  }

  get url(): string {
    return `http://${this.host}:${this.port_}`;
  }

  configure(changes: { rules?: Partial<OutcomeRules<O>>; callbackDelayMs?: number; callbackSecret?: string; seed?: number }): void {
    if (changes.rules) this.rules = { ...this.rules, ...changes.rules };
    if (changes.callbackDelayMs !== undefined) this.callbackDelayMs = changes.callbackDelayMs;
    if (changes.callbackSecret !== undefined) this.callbackSecret = changes.callbackSecret;
    if (changes.seed !== undefined) this.random = mulberry32(changes.seed);
  }

  /** Requests received for this key, replays included. */
  countByKey(messageKey: string): number {
    return this.receivedByKey.get(messageKey) ?? 0;
  }

  outcomeFor(recipient: string): O {
    const exact = this.rules.byNumber[recipient];
    if (exact) return exact;
    const prefixed = this.rules.byPrefix.find((r) => recipient.startsWith(r.prefix));
    if (prefixed) return prefixed.outcome;
    const ratios = Object.entries(this.rules.ratios) as Array<[O, number]>;
    let draw = this.random() * ratios.reduce((sum, [, w]) => sum + w, 0);
    for (const [outcome, weight] of ratios) {
      if ((draw -= weight) < 0) return outcome;
    }
    return this.rules.fallback;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url !== this.profile.path) return reply(404, { code: 'NOT_FOUND', message: `POST ${this.profile.path}` });
    const raw = await readBody(req);
    this.stats.received++;
    const check = verifySignature(this.secret, req.headers, raw, new Date());
    if (!check.ok) {
      this.stats.refusedSignature++;
      return reply(401, { code: check.code, message: check.message });
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return reply(400, { code: 'BAD_JSON', message: 'body is not JSON' });
    }
    const recipient = body[this.profile.recipientField];
    const messageKey = req.headers['idempotency-key'] ?? body.messageKey;
    if (typeof recipient !== 'string' || typeof body.callbackUrl !== 'string' || typeof messageKey !== 'string') {
      return reply(400, { code: 'BAD_REQUEST', message: `${this.profile.recipientField}, messageKey and callbackUrl are required` });
    }
    this.receivedByKey.set(messageKey, (this.receivedByKey.get(messageKey) ?? 0) + 1);
    const known = this.byKey.get(messageKey);
    if (known) {
      this.stats.replayed++;
      return reply(202, { id: known });
    }
    const providerMessageId = `${this.profile.name}-${this.idPrefix}-${this.nextId++}`;
    this.byKey.set(messageKey, providerMessageId);
    keep(this.requests, { providerMessageId, messageKey, recipient, body });
    reply(202, { id: providerMessageId });
    const outcome = this.outcomeFor(recipient);
    this.later(this.callbackDelayMs, () => void this.callBack(body.callbackUrl as string, { providerMessageId, messageKey, outcome }, 3));
  }

  private async callBack(url: string, payload: { providerMessageId: string; messageKey: string; outcome: O }, triesLeft: number): Promise<void> {
    const body = JSON.stringify({ ...payload, at: new Date().toISOString() });
    let status = 0;
    try {
      const response = await fetch(url, { method: 'POST', headers: signedHeaders(this.callbackSecret, body, new Date()), body });
      status = response.status;
      await response.arrayBuffer();
    } catch {
      status = 0;
    }
    keep(this.callbacks, { providerMessageId: payload.providerMessageId, outcome: payload.outcome, status });
    if ((status === 0 || status >= 500) && triesLeft > 1) {
      this.later(200, () => void this.callBack(url, payload, triesLeft - 1));
    }
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Small seeded PRNG so a demo's outcome mix is the same on every run. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
