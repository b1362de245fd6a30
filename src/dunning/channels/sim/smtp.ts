/**
 * SMTP simulator (smtp-server): accepts and stores mail for inspection, refuses configured
 * recipients at RCPT (550 / 451), and for configured domains accepts the mail but reports an
 * asynchronous bounce later through a signed webhook, as an email service provider would.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import { signedHeaders } from '../signed-http.ts';
import { keep } from './kept.ts';
import { parseMail } from './mime.ts';

export interface SmtpFaults {
  /** RCPT TO in these domains → 550 5.1.1 (hard reject). */
  rejectDomains: string[];
  rejectAddresses: string[];
  /** RCPT TO in these domains → 451 4.3.0 (try again later). */
  deferDomains: string[];
  /** Accepted, then bounced through the webhook after asyncBounceDelayMs. */
  asyncBounceDomains: string[];
  asyncBounceDelayMs: number;
}

export interface SmtpWebhook {
  url: string;
  secret: string;
}

export interface SmtpSimOptions extends Partial<SmtpFaults> {
  port?: number;
  host?: string;
  webhook?: SmtpWebhook;
}

export interface ReceivedMail {
  providerMessageId: string;
  messageKey?: string;
  from: string;
  to: string[];
  subject: string;
  text?: string;
  html?: string;
}

export interface BounceAttempt {
  providerMessageId: string;
  recipient: string;
  status: number;
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

export class SmtpSimulator {
  readonly host: string;
  readonly received: ReceivedMail[] = [];
  readonly bounces: BounceAttempt[] = [];
  /** `received`: mails accepted, also past the ones kept in `received`. */
  readonly stats = { received: 0, rejectedRecipients: 0, deferredRecipients: 0 };
  private faults: SmtpFaults;
  private webhook: SmtpWebhook | undefined;
  private readonly byKey = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server: SMTPServer;
  private port_ = 0;

  constructor(options: SmtpSimOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.webhook = options.webhook;
    this.faults = {
      rejectDomains: options.rejectDomains ?? ['invalid.example'],
      rejectAddresses: options.rejectAddresses ?? [],
      deferDomains: options.deferDomains ?? [],
      asyncBounceDomains: options.asyncBounceDomains ?? ['bounce.example'],
      asyncBounceDelayMs: options.asyncBounceDelayMs ?? 20,
    };
    this.server = new SMTPServer({
      logger: false,
      disabledCommands: ['STARTTLS'],
      authOptional: true,
      allowInsecureAuth: true,
      disableReverseLookup: true,
      onAuth: (auth, _session, callback) => callback(null, { user: auth.username ?? 'anonymous' }),
      onRcptTo: (address, _session, callback) => callback(this.checkRecipient(address)),
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          const to = session.envelope.rcptTo.map((r) => r.address);
          const id = this.store(Buffer.concat(chunks), from, to);
          callback(null, `Message queued as ${id}`);
        });
      },
    });
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.host, () => resolve());
    });
    this.port_ = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  get port(): number {
    return this.port_;
  }

  configure(changes: Partial<SmtpFaults> & { webhook?: SmtpWebhook }): void {
    const { webhook, ...faults } = changes;
    if (webhook) this.webhook = webhook;
    this.faults = { ...this.faults, ...Object.fromEntries(Object.entries(faults).filter(([, v]) => v !== undefined)) };
  }

  countByKey(messageKey: string): number {
    return this.byKey.get(messageKey) ?? 0;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private checkRecipient(address: SMTPServerAddress): Error | null {
    const domain = domainOf(address.address);
    const refuse = (code: number, text: string) => Object.assign(new Error(text), { responseCode: code });
    if (this.faults.rejectDomains.includes(domain) || this.faults.rejectAddresses.includes(address.address.toLowerCase())) {
      this.stats.rejectedRecipients++;
      return refuse(550, `5.1.1 <${address.address}>: mailbox unavailable`);
    }
    if (this.faults.deferDomains.includes(domain)) {
      this.stats.deferredRecipients++;
      return refuse(451, '4.3.0 temporary failure, try again later');
    }
    return null;
  }

  private store(raw: Buffer, from: string, to: string[]): string {
    const mail = parseMail(raw);
    const providerMessageId = (mail.headers.get('message-id') ?? `<sim-${this.stats.received + 1}@smtp.sim>`).replace(/^<|>$/g, '');
    const messageKey = mail.headers.get('x-zt-message-key');
    if (messageKey) this.byKey.set(messageKey, (this.byKey.get(messageKey) ?? 0) + 1);
    this.stats.received++;
    keep(this.received, {
      providerMessageId,
      from,
      to,
      subject: mail.subject,
      ...(messageKey ? { messageKey } : {}),
      ...(mail.text === undefined ? {} : { text: mail.text }),
      ...(mail.html === undefined ? {} : { html: mail.html }),
    });
    for (const recipient of to.filter((r) => this.faults.asyncBounceDomains.includes(domainOf(r)))) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        void this.bounce(providerMessageId, messageKey, recipient);
      }, this.faults.asyncBounceDelayMs);
      this.timers.add(timer);
    }
    return providerMessageId;
  }

  private async bounce(providerMessageId: string, messageKey: string | undefined, recipient: string): Promise<void> {
    if (!this.webhook) {
      this.bounces.push({ providerMessageId, recipient, status: 0 });
      return;
    }
    const body = JSON.stringify({
      providerMessageId,
      ...(messageKey ? { messageKey } : {}),
      outcome: 'bounced',
      at: new Date().toISOString(),
      detail: `550 5.1.1 <${recipient}>: user unknown`,
    });
    let status = 0;
    try {
      const response = await fetch(this.webhook.url, { method: 'POST', headers: signedHeaders(this.webhook.secret, body, new Date()), body });
      status = response.status;
      await response.arrayBuffer();
    } catch {
      status = 0;
    }
    this.bounces.push({ providerMessageId, recipient, status });
  }
}

export function startSmtp(options: SmtpSimOptions = {}): Promise<SmtpSimulator> {
  return new SmtpSimulator(options).listen(options.port ?? 0);
}
