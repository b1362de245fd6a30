/**
 * A lean SMTP client (RFC 5321) for one kind of mail: a notice to one recipient. A pool of
 * connections, each sending one message at a time with PIPELINING (RFC 2920: MAIL, RCPT and DATA in
 * one write) when the server offers it, STARTTLS when offered (opportunistic, certificate unchecked;
 * required and checked with `requireTls`), implicit TLS with `secure`, AUTH with a mechanism the server
 * offers in EHLO (PLAIN, LOGIN or CRAM-MD5). The message is built here too (RFC 5322/2045/2047): UTF-8
 * parts in base64, which Node encodes natively; a general-purpose mailer spent most of a notice's cost on MIME.
 */
import { createHmac } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';

export interface SmtpClientOptions {
  host: string;
  port: number;
  secure?: boolean;
  requireTls?: boolean;
  auth?: { user: string; pass: string };
  maxConnections?: number;
  timeoutMs?: number;
  /**
   * Wait for the reply to the end of the message. RFC 5321 §4.5.3.2.6 asks for 10 minutes: the
   * server may be scanning the message, and giving up early makes the caller send it again.
   */
  dataTimeoutMs?: number;
  /** Certificate checks for `secure` and `requireTls` (a private CA, say). */
  tls?: Pick<tls.ConnectionOptions, 'ca' | 'rejectUnauthorized' | 'servername'>;
  /** Name given in EHLO. */
  clientName?: string;
}

/**
 * A refusal or failure; `responseCode` when the server answered, `code` for the link (ECONNECTION,
 * ETIMEDOUT, ETLS, EAUTH, EPROTOCOL, or ENOAUTH: credentials are set and the server offers no AUTH
 * mechanism we speak).
 */
export class SmtpError extends Error {
  constructor(message: string, readonly code: string, readonly responseCode?: number, readonly response?: string,
              /** The envelope command the server refused (EENVELOPE). */
              readonly command?: 'MAIL' | 'RCPT' | 'DATA') {
    super(message);
  }
}

interface Reply {
  code: number;
  text: string;
}

/** EHLO keywords with their parameters (RFC 5321 §4.1.1.1), upper-cased. */
type Extensions = Map<string, string[]>;

const CRLF = '\r\n';

/** The SASL mechanisms we speak (RFC 4954). */
const AUTH_MECHANISMS = ['PLAIN', 'LOGIN', 'CRAM-MD5'] as const;
type AuthMechanism = (typeof AUTH_MECHANISMS)[number];

/**
 * Which offered mechanism to use. Over TLS, PLAIN (one round trip). In the clear CRAM-MD5 comes
 * first: PLAIN and LOGIN would hand the password to anyone on the path, CRAM-MD5 only a digest.
 */
function chooseAuthMechanism(offered: readonly string[], overTls: boolean): AuthMechanism | undefined {
  const order: readonly AuthMechanism[] = overTls ? ['PLAIN', 'LOGIN', 'CRAM-MD5'] : ['CRAM-MD5', 'PLAIN', 'LOGIN'];
  const upper = new Set(offered.map((m) => m.toUpperCase()));
  return order.find((m) => upper.has(m));
}

/** Mechanisms of the AUTH keyword, and of the "AUTH=" form that pre-RFC 2554 clients needed and old servers still send. */
function offeredAuth(extensions: Extensions): string[] {
  const legacy = [...extensions].filter(([k]) => k.startsWith('AUTH=')).flatMap(([k, params]) => [k.slice(5), ...params]);
  return [...new Set([...(extensions.get('AUTH') ?? []), ...legacy])];
}

class Connection {
  private buffer = '';
  private lines: string[] = [];
  private readonly waiters: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }> = [];
  private failure: SmtpError | undefined;
  pipelining = false;
  closed = false;

  private constructor(private socket: net.Socket, private readonly timeoutMs: number, private readonly dataTimeoutMs: number) {
    this.attach(socket);
  }

  static async open(o: SmtpClientOptions): Promise<Connection> {
    const timeoutMs = o.timeoutMs ?? 15_000;
    const socket = o.secure
      ? tls.connect({ host: o.host, port: o.port, servername: net.isIP(o.host) ? undefined : o.host, ...o.tls })
      : net.connect({ host: o.host, port: o.port });
    const c = new Connection(socket, timeoutMs, o.dataTimeoutMs ?? 600_000);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once(o.secure ? 'secureConnect' : 'connect', resolve);
        socket.once('error', (e) => reject(new SmtpError(`SMTP connection to ${o.host}:${o.port} failed: ${e.message}`, 'ECONNECTION')));
        // a host that never completes the TCP or TLS handshake: the idle timeout closes the socket
        socket.once('close', () => reject(c.failure ?? new SmtpError(`SMTP connection to ${o.host}:${o.port} closed`, 'ECONNECTION')));
      });
      socket.setNoDelay(true);
      const greeting = await c.reply();
      if (greeting.code !== 220) {
        // 554 (or 421) instead of 220: this server will not serve us now (RFC 5321 §3.1), which says
        // nothing about the message; we still say QUIT and wait for the server to close.
        await c.command('QUIT').catch(() => undefined);
        throw new SmtpError(greeting.text, 'ECONNECTION', greeting.code, greeting.text);
      }
      let caps = await c.ehlo(o.clientName ?? 'zerotouch.local');
      const startTls = !o.secure && caps.has('STARTTLS') ? await c.command('STARTTLS') : undefined;
      if (startTls?.code === 220) {
        // Opportunistic (RFC 7435): without requireTls the alternative is plain text, so a
        // self-signed certificate (a stock Postfix's snakeoil) is still better than none.
        await c.upgrade(o.host, { rejectUnauthorized: !!o.requireTls, ...o.tls });
        caps = await c.ehlo(o.clientName ?? 'zerotouch.local');
      } else if (startTls && o.requireTls) {
        throw new SmtpError(startTls.text, 'ETLS', startTls.code, startTls.text);
      } else if (!o.secure && o.requireTls) {
        throw new SmtpError('the SMTP server does not offer STARTTLS and TLS is required', 'ETLS');
      }
      c.pipelining = caps.has('PIPELINING');
      if (o.auth) await c.authenticate(o.auth, offeredAuth(caps), !!o.secure || startTls?.code === 220, `${o.host}:${o.port}`);
    } catch (e) {
      c.destroy(); // a link that failed its opening is not kept
      throw e;
    }
    return c;
  }

  private attach(socket: net.Socket): void {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.setTimeout(this.timeoutMs, () => this.fail(new SmtpError('SMTP server did not answer in time', 'ETIMEDOUT')));
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (e) => this.fail(new SmtpError(`SMTP connection failed: ${e.message}`, 'ECONNECTION')));
    socket.on('close', () => this.fail(new SmtpError('SMTP connection closed', 'ECONNECTION')));
  }

  private async upgrade(host: string, options: tls.ConnectionOptions): Promise<void> {
    if (this.buffer !== '' || this.lines.length) {
      // Text after the 220 was sent in the clear, and would be read as if it came over TLS
      // (STARTTLS response injection, CVE-2011-0411): a server does not do that, an attacker does.
      throw new SmtpError('SMTP server sent data after its STARTTLS reply', 'EPROTOCOL');
    }
    const plain = this.socket;
    plain.removeAllListeners('data').removeAllListeners('close').removeAllListeners('error').removeAllListeners('timeout');
    plain.setTimeout(0);
    const secure = tls.connect({ socket: plain, servername: net.isIP(host) ? undefined : host, ...options });
    this.attach(secure);
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', (e) => reject(new SmtpError(`STARTTLS failed: ${e.message}`, 'ETLS')));
      secure.once('close', () => reject(this.failure ?? new SmtpError('SMTP connection closed during STARTTLS', 'ETLS')));
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let at: number;
    // lines end on CRLF; a bare LF from a sloppy server is read as one too (RFC 5321 §4.1.1.4 leniency)
    while ((at = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, this.buffer[at - 1] === '\r' ? at - 1 : at);
      this.buffer = this.buffer.slice(at + 1);
      this.lines.push(line);
      // a reply ends on "ddd " (or a bare "ddd"); "ddd-" continues it
      if (line.length >= 3 && line[3] !== '-') {
        const text = this.lines.join('\n');
        this.lines = [];
        const waiter = this.waiters.shift();
        if (waiter) waiter.resolve({ code: Number(line.slice(0, 3)), text });
        else this.fail(new SmtpError(`unexpected SMTP reply: ${text}`, 'EPROTOCOL'));
      }
    }
  }

  private fail(e: SmtpError): void {
    if (this.closed) return;
    this.closed = true;
    this.failure = e;
    for (const w of this.waiters.splice(0)) w.reject(e);
    this.socket.destroy();
  }

  reply(): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  write(data: string): void {
    this.socket.write(data, 'latin1');
  }

  command(line: string): Promise<Reply> {
    const r = this.reply();
    this.write(line + CRLF);
    return r;
  }

  async expect(r: Reply, code: number, errorCode: string): Promise<void> {
    if (r.code !== code) throw new SmtpError(r.text, errorCode, r.code, r.text);
  }

  private async ehlo(name: string): Promise<Extensions> {
    const r = await this.command(`EHLO ${name}`);
    if (r.code >= 500) {
      // A server without ESMTP: HELO, and no extensions (RFC 5321 §3.2).
      await this.expect(await this.command(`HELO ${name}`), 250, 'EPROTOCOL');
      return new Map();
    }
    await this.expect(r, 250, 'EPROTOCOL');
    return new Map(r.text.split('\n').slice(1).map((l) => {
      const [keyword, ...params] = l.slice(4).trim().split(/\s+/);
      return [keyword!.toUpperCase(), params.map((p) => p.toUpperCase())] as const;
    }));
  }

  /**
   * Logs in with a mechanism the server offered (RFC 4954). Without one we speak, nothing is sent:
   * a server that offers no AUTH (or offers it only after STARTTLS) would refuse it, and the
   * password would have gone out for nothing.
   */
  async authenticate(auth: { user: string; pass: string }, offered: string[], overTls: boolean, server: string): Promise<void> {
    const mechanism = chooseAuthMechanism(offered, overTls);
    if (!mechanism) {
      const offers = offered.length ? `offers only ${offered.join(', ')}` : 'offers no AUTH';
      throw new SmtpError(
        `SMTP server ${server} ${offers}; credentials are set and we speak ${AUTH_MECHANISMS.join(', ')}` +
          `${overTls ? '' : ' (many servers offer AUTH only after STARTTLS)'}`,
        'ENOAUTH',
      );
    }
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
    if (mechanism === 'PLAIN') {
      await this.expect(await this.command(`AUTH PLAIN ${b64(`\0${auth.user}\0${auth.pass}`)}`), 235, 'EAUTH');
      return;
    }
    if (mechanism === 'LOGIN') {
      await this.expect(await this.command('AUTH LOGIN'), 334, 'EAUTH');
      await this.expect(await this.command(b64(auth.user)), 334, 'EAUTH');
      await this.expect(await this.command(b64(auth.pass)), 235, 'EAUTH');
      return;
    }
    const challenge = await this.command('AUTH CRAM-MD5');
    await this.expect(challenge, 334, 'EAUTH');
    const digest = createHmac('md5', auth.pass).update(Buffer.from(challenge.text.slice(4).trim(), 'base64')).digest('hex');
    await this.expect(await this.command(b64(`${auth.user} ${digest}`)), 235, 'EAUTH');
  }

  /** One message to one recipient; resolves with the final reply, or throws the refusal. */
  async send(from: string, to: string, data: string): Promise<Reply> {
    const replies = this.pipelining
      ? (() => {
          const rs = [this.reply(), this.reply(), this.reply()];
          this.write(`MAIL FROM:<${from}>${CRLF}RCPT TO:<${to}>${CRLF}DATA${CRLF}`);
          return Promise.all(rs);
        })()
      : (async () => {
          const m = await this.command(`MAIL FROM:<${from}>`);
          if (m.code >= 300) return [m];
          const r = await this.command(`RCPT TO:<${to}>`);
          if (r.code >= 300) return [m, r];
          return [m, r, await this.command('DATA')];
        })();
    const [mail, rcpt, data_] = await replies;
    // any 2yz accepts MAIL and RCPT: 251 "not local, will forward" is a success too (RFC 5321 §4.2.2)
    const refused = [mail, rcpt, data_].find((r, i) => r && (i === 2 ? r.code !== 354 : r.code < 200 || r.code > 299));
    if (refused || !rcpt || !data_) {
      const why = refused ?? mail!;
      const command = why === mail ? 'MAIL' : why === rcpt ? 'RCPT' : 'DATA';
      // a server that took DATA anyway gets an empty message it then refuses (RFC 2920 §3.1)
      if (data_?.code === 354) await this.command('.').catch(() => undefined);
      await this.command('RSET').catch(() => undefined);
      throw new SmtpError(why.text, 'EENVELOPE', why.code, why.text, command);
    }
    const final = this.reply();
    // Every line ends in CRLF, so no bare CR or LF can end the data early at a server that reads
    // them as line ends (SMTP smuggling); then dot-stuffing (RFC 5321 §4.5.2), the first line
    // included; then the end of data.
    const lines = data.replace(/\r\n|\r|\n/g, CRLF).replace(/(^|\r\n)\./g, '$1..');
    this.socket.setTimeout(this.dataTimeoutMs);
    this.write(`${lines}${lines.endsWith(CRLF) ? '' : CRLF}.${CRLF}`);
    const r = await final.finally(() => this.socket.setTimeout(this.timeoutMs));
    if (r.code < 200 || r.code > 299) throw new SmtpError(r.text, 'EMESSAGE', r.code, r.text);
    return r;
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  async quit(): Promise<void> {
    if (this.closed) return;
    await Promise.race([this.command('QUIT').catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
    this.destroy();
  }
}

/** Connections opened on demand up to `maxConnections`; a message waits for a free one. */
export class SmtpPool {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection | Promise<Connection>>();
  private readonly queue: Array<(c: Connection | SmtpError) => void> = [];

  constructor(private readonly options: SmtpClientOptions) {}

  async send(from: string, to: string, data: string): Promise<{ response: string }> {
    const c = await this.acquire();
    try {
      const r = await c.send(from, to, data);
      return { response: r.text };
    } finally {
      this.release(c);
    }
  }

  private async acquire(): Promise<Connection> {
    for (let c = this.idle.pop(); c; c = this.idle.pop()) {
      if (!c.closed) return c;
      this.all.delete(c); // the server closed it while idle
    }
    if (this.all.size < (this.options.maxConnections ?? 5)) {
      const opening = Connection.open(this.options);
      this.all.add(opening);
      try {
        const c = await opening;
        this.all.add(c);
        return c;
      } catch (e) {
        // the server is not there: the messages waiting for a connection fail with the same error
        for (const w of this.queue.splice(0)) w(e as SmtpError);
        throw e;
      } finally {
        this.all.delete(opening);
      }
    }
    const got = await new Promise<Connection | SmtpError>((resolve) => this.queue.push(resolve));
    if (got instanceof SmtpError) throw got;
    return got;
  }

  private release(c: Connection): void {
    if (c.closed) {
      this.all.delete(c);
      // a waiting message opens its own connection in place of the broken one
      const next = this.queue.shift();
      if (next) this.acquire().then(next, next);
      return;
    }
    const next = this.queue.shift();
    if (next) next(c);
    else this.idle.push(c);
  }

  async close(): Promise<void> {
    for (const w of this.queue.splice(0)) w(new SmtpError('SMTP pool closed', 'ECONNECTION'));
    const open = [...this.all].filter((c): c is Connection => c instanceof Connection);
    this.idle.length = 0;
    this.all.clear();
    await Promise.all(open.map((c) => c.quit()));
  }
}

// ---- the message ----

const b64Lines = (buf: Buffer) => buf.toString('base64').replace(/.{76}(?=.)/g, '$&\r\n');

/**
 * RFC 2047 encoded words for a header value: whole characters per word, and every line that holds
 * one within 76 characters (§2), the first line counting the `used` characters of "Name: " before it.
 */
export function encodeWords(value: string, used = 0): string {
  // ASCII stays readable, folded at its spaces; text that would read as an encoded word is encoded
  const folded = /^[\x20-\x7e]*$/.test(value) && !value.includes('=?') ? foldAscii(value, used) : undefined;
  if (folded !== undefined) return folded;
  const words: string[] = [];
  let chunk = '';
  // 12 characters of =?UTF-8?B??= and 4 base64 characters per 3 bytes; a word stays within 75
  let maxBytes = Math.min(45, Math.max(3, Math.floor((76 - used - 12) / 4) * 3));
  for (const ch of value) {
    if (chunk !== '' && Buffer.byteLength(chunk + ch) > maxBytes) {
      maxBytes = 45;
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString('base64')}?=`).join('\r\n ');
}

/**
 * An ASCII header value folded before its spaces into lines of at most 78 characters where it can
 * be (RFC 5322 §2.2.3); undefined when a line would still pass the hard limit of 998.
 */
function foldAscii(value: string, used: number): string | undefined {
  const lines: string[] = [];
  let line = '';
  // pieces start at a run of spaces that follows a word, so no folded line is only spaces
  for (const piece of value.split(/(?<! )(?= +[^ ])/)) {
    if (line !== '' && (lines.length ? 0 : used) + line.length + piece.length > 78) {
      lines.push(line);
      line = piece;
    } else line += piece;
  }
  lines.push(line);
  return lines.every((l, i) => (i ? 0 : used) + l.length <= 998) ? lines.join(CRLF) : undefined;
}

/** "Name <addr>" or "addr" → its address and the header form with the name encoded. */
export function parseMailbox(mailbox: string): { address: string; header: string } {
  const m = /^\s*(.*?)\s*<([^<>]+)>\s*$/.exec(mailbox);
  if (!m) return { address: mailbox.trim(), header: mailbox.trim() };
  const name = m[1]!.replace(/^"(.*)"$/, '$1').replace(/\\(.)/g, '$1');
  if (!name) return { address: m[2]!, header: `<${m[2]}>` };
  // an ASCII name with specials (",", ".", "@"...) is a quoted-string (RFC 5322 §3.4), else one From becomes two
  if (/^[\x20-\x7e]*$/.test(name)) {
    const phrase = ATEXT_PHRASE.test(name) ? name : `"${name.replace(/(["\\])/g, '\\$1')}"`;
    return { address: m[2]!, header: `${phrase} <${m[2]}>` };
  }
  const words = encodeWords(name, 'From: '.length);
  const lastLine = words.slice(words.lastIndexOf('\n') + 1);
  const fold = lastLine.length + m[2]!.length + 3 > 76 ? `${CRLF} ` : ' ';
  return { address: m[2]!, header: `${words}${fold}<${m[2]}>` };
}

const ATEXT_PHRASE = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]*$/;

/** RFC 5322 date-time in UTC. */
const rfc5322Date = (d: Date) => d.toUTCString().replace(/GMT$/, '+0000');

export interface MailContent {
  from: string;
  to: string;
  subject: string;
  text: string;
  html?: string;
  messageId: string;
  date: Date;
  headers?: Record<string, string>;
}

/** The message as sent after DATA: CRLF lines, ASCII only (bodies in base64). */
export function buildMessage(m: MailContent, boundary: string): string {
  const part = (type: string, body: string) =>
    `Content-Type: ${type}; charset=utf-8${CRLF}Content-Transfer-Encoding: base64${CRLF}${CRLF}${b64Lines(Buffer.from(body, 'utf8'))}${CRLF}`;
  const head = [
    `From: ${parseMailbox(m.from).header}`,
    `To: ${parseMailbox(m.to).header}`,
    `Subject: ${encodeWords(m.subject, 'Subject: '.length)}`,
    `Message-ID: <${m.messageId}>`,
    `Date: ${rfc5322Date(m.date)}`,
    'MIME-Version: 1.0',
    ...Object.entries(m.headers ?? {}).map(([k, v]) => `${k}: ${encodeWords(v, k.length + 2)}`),
  ].join(CRLF);
  if (m.html === undefined) return `${head}${CRLF}${part('text/plain', m.text)}`;
  return `${head}${CRLF}Content-Type: multipart/alternative; boundary="${boundary}"${CRLF}${CRLF}`
    + `--${boundary}${CRLF}${part('text/plain', m.text)}--${boundary}${CRLF}${part('text/html', m.html)}--${boundary}--${CRLF}`;
}
