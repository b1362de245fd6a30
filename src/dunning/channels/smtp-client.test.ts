import net, { type AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { buildMessage, encodeWords, SmtpPool } from './smtp-client.ts';
import { parseMail, decodeWords } from './sim/mime.ts';

const open: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

/** A plain SMTP server that keeps what it received, with its extensions and AUTH configurable. */
async function server(options: { hidePIPELINING?: boolean; users?: Record<string, string>; authMethods?: string[] }) {
  const received: { from: string; to: string[]; raw: string; user?: string }[] = [];
  const logins: string[] = [];
  const s = new SMTPServer({
    logger: false,
    disabledCommands: options.users ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    allowInsecureAuth: true,
    authOptional: !options.users,
    hidePIPELINING: options.hidePIPELINING ?? false,
    disableReverseLookup: true,
    ...(options.authMethods ? { authMethods: options.authMethods } : {}),
    onAuth: (auth, _session, cb) => {
      const known = options.users?.[auth.username ?? ''];
      // CRAM-MD5 sends no password, only a digest the server checks against the one it keeps
      const ok = known !== undefined && (auth.method === 'CRAM-MD5' ? auth.validatePassword(known) : auth.password === known);
      if (ok) logins.push(auth.method);
      return ok ? cb(null, { user: auth.username }) : cb(Object.assign(new Error('535 bad credentials'), { responseCode: 535 }));
    },
    onRcptTo: (address, _session, cb) => cb(address.address.endsWith('@nowhere.example') ? Object.assign(new Error('no such user'), { responseCode: 550 }) : undefined),
    onData: (stream, session, cb) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('latin1'), ...(session.user ? { user: String(session.user) } : {}),
        });
        cb(null, 'queued');
      });
    },
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  open.push(() => new Promise<void>((r) => s.close(() => r())));
  return { port: (s.server.address() as AddressInfo).port, received, logins };
}

const content = (n: number) => ({
  from: '国网电费中心 <billing@power.example>', to: `u${n}@mail.example`, subject: `第${n}期电费账单 — 请于到期日前缴纳`,
  text: `尊敬的客户：本期应缴 ${n}.00 元。\r\n.以点开头的一行`, html: `<p>本期应缴 <b>${n}.00 元</b></p>`,
  messageId: `m${n}@zerotouch.local`, date: new Date('2026-01-05T01:00:00Z'), headers: { 'X-ZT-Message-Key': `k${n}` },
});

describe('SMTP client', () => {
  it('sends over a pool without PIPELINING, with AUTH PLAIN, and the message reads back intact (dot-stuffing included)', async () => {
    const smtp = await server({ hidePIPELINING: true, users: { zt: 's3cret' } });
    const pool = new SmtpPool({ host: '127.0.0.1', port: smtp.port, auth: { user: 'zt', pass: 's3cret' }, maxConnections: 3 });
    open.push(() => pool.close());
    const sent = await Promise.all(Array.from({ length: 20 }, (_, n) => pool.send('billing@power.example', `u${n}@mail.example`, buildMessage(content(n), `zt-b${n}`))));
    expect(sent.every((r) => /^250/.test(r.response))).toBe(true);
    expect(smtp.received).toHaveLength(20);
    const got = smtp.received.find((m) => m.to[0] === 'u7@mail.example')!;
    expect(got).toMatchObject({ from: 'billing@power.example', user: 'zt' });
    const mail = parseMail(Buffer.from(got.raw, 'latin1'));
    expect(mail.subject).toBe('第7期电费账单 — 请于到期日前缴纳');
    expect(mail.text).toBe('尊敬的客户：本期应缴 7.00 元。\r\n.以点开头的一行');
    expect(mail.html).toBe('<p>本期应缴 <b>7.00 元</b></p>');
    expect(mail.headers.get('x-zt-message-key')).toBe('k7');
    expect(mail.headers.get('date')).toBe('Mon, 05 Jan 2026 01:00:00 +0000');
    expect(decodeWords(mail.headers.get('from')!)).toBe('国网电费中心 <billing@power.example>');
  });

  it.each([
    [['LOGIN'], 'LOGIN'],
    [['CRAM-MD5'], 'CRAM-MD5'],
    [['PLAIN', 'LOGIN', 'CRAM-MD5'], 'CRAM-MD5'],
    [['XOAUTH2', 'LOGIN'], 'LOGIN'],
  ])('logs in to a server offering AUTH %j with %s', async (authMethods, used) => {
    const smtp = await server({ users: { zt: 's3cret' }, authMethods });
    const pool = new SmtpPool({ host: '127.0.0.1', port: smtp.port, auth: { user: 'zt', pass: 's3cret' } });
    open.push(() => pool.close());
    await expect(pool.send('billing@power.example', 'u1@mail.example', buildMessage(content(1), 'zt-b1'))).resolves.toMatchObject({ response: expect.stringMatching(/^250/) });
    expect(smtp.logins).toEqual([used]);
    expect(smtp.received[0]).toMatchObject({ user: 'zt' });
  });

  it('refuses a recipient with the server reply, and the connection serves the next message (pipelined)', async () => {
    const smtp = await server({});
    const pool = new SmtpPool({ host: '127.0.0.1', port: smtp.port, maxConnections: 1 });
    open.push(() => pool.close());
    await expect(pool.send('billing@power.example', 'x@nowhere.example', buildMessage(content(1), 'zt-b'))).rejects.toMatchObject({ responseCode: 550, code: 'EENVELOPE' });
    await expect(pool.send('billing@power.example', 'u2@mail.example', buildMessage(content(2), 'zt-b'))).resolves.toMatchObject({ response: expect.stringMatching(/^250/) });
    expect(smtp.received.map((m) => m.to[0])).toEqual(['u2@mail.example']);
  });

  it('fails wrong credentials with the server reply, and an unreachable or silent server as a link error', async () => {
    const smtp = await server({ users: { zt: 's3cret' } });
    const bad = new SmtpPool({ host: '127.0.0.1', port: smtp.port, auth: { user: 'zt', pass: 'wrong' } });
    open.push(() => bad.close());
    await expect(bad.send('a@b.cn', 'u@mail.example', buildMessage(content(1), 'zt-b'))).rejects.toMatchObject({ code: 'EAUTH', responseCode: 535 });

    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const none = new SmtpPool({ host: '127.0.0.1', port });
    open.push(() => none.close());
    const three = await Promise.allSettled([1, 2, 3].map((n) => none.send('a@b.cn', 'u@mail.example', buildMessage(content(n), 'zt-b'))));
    expect(three.map((r) => r.status === 'rejected' && (r.reason as { code: string }).code)).toEqual(['ECONNECTION', 'ECONNECTION', 'ECONNECTION']);

    const silent = net.createServer((socket) => socket.on('data', () => undefined)); // never greets
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    open.push(() => new Promise<void>((r) => { silent.close(() => r()); }));
    const mute = new SmtpPool({ host: '127.0.0.1', port: (silent.address() as AddressInfo).port, timeoutMs: 200 });
    open.push(() => mute.close());
    await expect(mute.send('a@b.cn', 'u@mail.example', buildMessage(content(1), 'zt-b'))).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });

  it('encodes a header in whole characters, each word within the 75-character limit', () => {
    const long = '您的电费账单已出'.repeat(6);
    const words = encodeWords(long).split('\r\n ');
    expect(words.length).toBeGreaterThan(1);
    expect(words.every((w) => w.length <= 75)).toBe(true);
    expect(decodeWords(words.join(' '))).toBe(long);
    expect(encodeWords('June bill')).toBe('June bill');
  });
});

/**
 * A scripted SMTP server on a raw socket: `reply` answers each command line (undefined: no
 * answer yet); the message after DATA is kept and answered with `afterData`. Records every line.
 */
async function rawSmtp(script: {
  greeting?: string;
  reply: (line: string) => string | undefined;
  afterData?: (data: string, socket: net.Socket) => string | undefined;
}) {
  const lines: string[] = [];
  const messages: string[] = [];
  let connections = 0;
  const srv = net.createServer((socket) => {
    connections++;
    let buffer = '';
    let data: string | undefined;
    socket.setEncoding('latin1');
    socket.write(`${script.greeting ?? '220 peer ESMTP'}\r\n`);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (;;) {
        if (data !== undefined) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0 && buffer !== '.\r\n' && !(data === '' && buffer.startsWith('.\r\n'))) return;
          const cut = end < 0 ? 0 : end + 2;
          const body = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 3);
          messages.push(body);
          data = undefined;
          const answer = script.afterData?.(body, socket) ?? '250 2.0.0 queued';
          if (answer) socket.write(`${answer}\r\n`);
          continue;
        }
        const at = buffer.indexOf('\r\n');
        if (at < 0) return;
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        lines.push(line);
        if (/^QUIT/i.test(line)) {
          socket.end('221 bye\r\n');
          return;
        }
        const answer = script.reply(line);
        if (answer === undefined) continue;
        socket.write(`${answer}\r\n`);
        if (answer.startsWith('354')) data = '';
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  open.push(() => new Promise<void>((r) => srv.close(() => r())));
  return { port: (srv.address() as AddressInfo).port, lines, messages, connections: () => connections };
}

/** Answers like a plain RFC 5321 server offering only `extensions` after EHLO. */
const plainReplies = (extensions: string[]) => (line: string): string => {
  const verb = line.slice(0, 4).toUpperCase();
  if (verb === 'EHLO') return ['250-peer greets you', ...extensions.map((e) => `250-${e}`), '250 HELP'].join('\r\n');
  if (verb === 'DATA') return '354 go ahead';
  return '250 2.0.0 ok';
};

describe('SMTP client against a scripted server', () => {
  it('talks to a server without PIPELINING or 8BITMIME one command at a time, in 7-bit CRLF lines', async () => {
    const smtp = await rawSmtp({ reply: plainReplies(['SIZE 1000000']) });
    const pool = new SmtpPool({ host: '127.0.0.1', port: smtp.port });
    open.push(() => pool.close());
    await pool.send('billing@power.example', 'u1@mail.example', buildMessage(content(1), 'zt-b1'));
    expect(smtp.lines.slice(1, 4)).toEqual(['MAIL FROM:<billing@power.example>', 'RCPT TO:<u1@mail.example>', 'DATA']);
    const raw = smtp.messages[0]!;
    // RFC 2047 §2: a line holding an encoded word is at most 76 characters
    expect(raw.split('\r\n').every((l) => l.length <= 76 && !l.includes('\n'))).toBe(true);
    expect(/^[\x09\x0d\x0a\x20-\x7e]*$/.test(raw)).toBe(true);
    expect(raw).toMatch(/Content-Transfer-Encoding: base64/);
  });

  it('reads a multi-line greeting and multi-line replies to every command', async () => {
    const smtp = await rawSmtp({
      greeting: '220-peer ESMTP\r\n220-no UCE\r\n220 ready',
      reply: (line) => {
        const r = plainReplies(['PIPELINING'])(line);
        return r.startsWith('250 2.0.0') ? '250-2.0.0 first\r\n250 2.0.0 ok' : r;
      },
    });
    const pool = new SmtpPool({ host: '127.0.0.1', port: smtp.port });
    open.push(() => pool.close());
    await expect(pool.send('billing@power.example', 'u1@mail.example', buildMessage(content(1), 'zt-b1'))).resolves.toBeDefined();
    await expect(pool.send('billing@power.example', 'u2@mail.example', buildMessage(content(2), 'zt-b2'))).resolves.toBeDefined();
    expect(smtp.connections()).toBe(1);
  });

  it('after a refused recipient, ends the DATA a pipelining server took anyway and keeps the connection', async () => {
    const smtp = await rawSmtp({
      reply: (line) => (/^RCPT TO:<x@/i.test(line) ? '550 5.1.1 no such user' : plainReplies(['PIPELINING'])(line)),
      afterData: (body) => (body === '' ? '554 5.5.1 no valid recipients' : undefined),
    });
    const pool = new SmtpPool({ host: '127.0.0.1', port: smtp.port, maxConnections: 1 });
    open.push(() => pool.close());
    await expect(pool.send('billing@power.example', 'x@mail.example', buildMessage(content(1), 'zt-b1'))).rejects.toMatchObject({ code: 'EENVELOPE', responseCode: 550 });
    await expect(pool.send('billing@power.example', 'u2@mail.example', buildMessage(content(2), 'zt-b2'))).resolves.toBeDefined();
    expect(smtp.connections()).toBe(1);
    expect(smtp.lines.filter((l) => l === 'RSET')).toHaveLength(1);
  });

  it('logs in with LOGIN to a server that writes its mechanisms in the old "AUTH=" form', async () => {
    const dialog: Record<string, string> = {
      'AUTH LOGIN': '334 VXNlcm5hbWU6',
      [Buffer.from('zt').toString('base64')]: '334 UGFzc3dvcmQ6',
      [Buffer.from('s3cret').toString('base64')]: '235 2.7.0 authenticated',
    };
    const smtp = await rawSmtp({ reply: (line) => dialog[line] ?? plainReplies(['AUTH=LOGIN'])(line) });
    const pool = new SmtpPool({ host: '127.0.0.1', port: smtp.port, auth: { user: 'zt', pass: 's3cret' } });
    open.push(() => pool.close());
    await expect(pool.send('billing@power.example', 'u1@mail.example', buildMessage(content(1), 'zt-b1'))).resolves.toBeDefined();
    expect(smtp.lines.slice(1, 5)).toEqual(['AUTH LOGIN', 'enQ=', 'czNjcmV0', 'MAIL FROM:<billing@power.example>']);
  });

  it.each([
    ['no AUTH', ['PIPELINING']],
    ['only mechanisms we do not speak', ['AUTH GSSAPI XOAUTH2']],
  ])('with credentials set, sends no AUTH and no mail to a server offering %s, and fails as ENOAUTH', async (_case, extensions) => {
    const smtp = await rawSmtp({ reply: plainReplies(extensions) });
    const pool = new SmtpPool({ host: '127.0.0.1', port: smtp.port, auth: { user: 'zt', pass: 's3cret' } });
    open.push(() => pool.close());
    await expect(pool.send('billing@power.example', 'u1@mail.example', buildMessage(content(1), 'zt-b1'))).rejects.toMatchObject({ code: 'ENOAUTH' });
    expect(smtp.lines.filter((l) => /^(AUTH|MAIL)/i.test(l))).toEqual([]);
  });

  it('falls back to HELO when the server refuses EHLO', async () => {
    const smtp = await rawSmtp({ reply: (line) => (/^EHLO/i.test(line) ? '502 5.5.2 command not recognized' : plainReplies([])(line)) });
    const pool = new SmtpPool({ host: '127.0.0.1', port: smtp.port });
    open.push(() => pool.close());
    await expect(pool.send('billing@power.example', 'u1@mail.example', buildMessage(content(1), 'zt-b1'))).resolves.toBeDefined();
    expect(smtp.lines[1]).toMatch(/^HELO /);
  });

  it('reports a connection dropped in the middle of DATA as a link error', async () => {
    const srvDrop = await rawSmtp({ reply: (line) => plainReplies([])(line), afterData: (_b, socket) => (socket.destroy(), '') });
    const dropping = new SmtpPool({ host: '127.0.0.1', port: srvDrop.port });
    open.push(() => dropping.close());
    await expect(dropping.send('billing@power.example', 'u1@mail.example', buildMessage(content(1), 'zt-b1'))).rejects.toMatchObject({ code: 'ECONNECTION' });
  });

  it('answers a 554 greeting with QUIT and fails as a link error, not as a refusal of the message', async () => {
    const smtp = await rawSmtp({ greeting: '554 5.7.1 no service for you', reply: () => '503 5.5.1 sorry' });
    const pool = new SmtpPool({ host: '127.0.0.1', port: smtp.port });
    open.push(() => pool.close());
    await expect(pool.send('billing@power.example', 'u1@mail.example', buildMessage(content(1), 'zt-b1'))).rejects.toMatchObject({ code: 'ECONNECTION', responseCode: 554 });
    await new Promise((r) => setTimeout(r, 50));
    expect(smtp.lines).toEqual(['QUIT']);
  });

  it('accepts 251 "will forward" at RCPT, and any 2yz, as a taken recipient', async () => {
    const smtp = await rawSmtp({ reply: (line) => (/^RCPT/i.test(line) ? '251 2.1.5 user not local; will forward' : plainReplies([])(line)) });
    const pool = new SmtpPool({ host: '127.0.0.1', port: smtp.port });
    open.push(() => pool.close());
    await expect(pool.send('billing@power.example', 'u1@mail.example', buildMessage(content(1), 'zt-b1'))).resolves.toMatchObject({ response: '250 2.0.0 queued' });
    expect(smtp.messages).toHaveLength(1);
  });

  it('reads replies from a server that ends its lines with a bare LF', async () => {
    const smtp = await rawSmtp({
      greeting: '220-sloppy\n220 ESMTP',
      reply: (line) => plainReplies(['PIPELINING'])(line).replace(/\r\n/g, '\n'),
      afterData: (_b, socket) => (socket.write('250 ok\n'), ''),
    });
    const pool = new SmtpPool({ host: '127.0.0.1', port: smtp.port, timeoutMs: 1_000 });
    open.push(() => pool.close());
    await expect(pool.send('billing@power.example', 'u1@mail.example', buildMessage(content(1), 'zt-b1'))).resolves.toMatchObject({ response: '250 ok' });
  });

  it('sends every line with CRLF and stuffs a leading dot on any line, the first included, adding no blank line', async () => {
    // a bare LF or CR before "." would end the data early at a server that reads it as a line end (SMTP smuggling)
    const smtp = await rawSmtp({ reply: plainReplies([]) });
    const pool = new SmtpPool({ host: '127.0.0.1', port: smtp.port });
    open.push(() => pool.close());
    await pool.send('billing@power.example', 'u1@mail.example', '.first\nsecond\n.\nthird\r.\rfourth\r\n');
    expect(smtp.messages).toEqual(['..first\r\nsecond\r\n..\r\nthird\r\n..\r\nfourth\r\n']);
  });

  it('waits for the reply to the end of the message longer than for other replies (RFC 5321 §4.5.3.2.6)', async () => {
    // a server scanning the message answers late; giving up would make the caller send it twice
    const slowAnswer = (socket: net.Socket) => void setTimeout(() => socket.write('250 2.0.0 scanned and queued\r\n'), 400);
    const smtp = await rawSmtp({ reply: plainReplies(['PIPELINING']), afterData: (_b, socket) => (slowAnswer(socket), '') });
    const patient = new SmtpPool({ host: '127.0.0.1', port: smtp.port, timeoutMs: 150 });
    open.push(() => patient.close());
    await expect(patient.send('billing@power.example', 'u1@mail.example', buildMessage(content(1), 'zt-b1'))).resolves.toMatchObject({ response: '250 2.0.0 scanned and queued' });
    const hurried = new SmtpPool({ host: '127.0.0.1', port: smtp.port, timeoutMs: 150, dataTimeoutMs: 150 });
    open.push(() => hurried.close());
    await expect(hurried.send('billing@power.example', 'u1@mail.example', buildMessage(content(1), 'zt-b1'))).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });

  it('folds a long ASCII subject into lines the server takes, and keeps it readable and intact', () => {
    const subject = Array.from({ length: 120 }, (_, i) => `item${i}`).join(' ');
    const key = 'k'.repeat(1_200);
    const raw = buildMessage({ ...content(1), subject, headers: { 'X-ZT-Message-Key': key } }, 'zt-b1');
    // RFC 5322 §2.1.1: at most 998 characters a line, 78 where it can be folded
    expect(raw.split('\r\n').every((l) => l.length <= 998)).toBe(true);
    const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
    expect(head.split('\r\n').filter((l) => /^(Subject| item)/.test(l)).every((l) => l.length <= 78)).toBe(true);
    expect(head).toContain('Subject: item0 item1');
    const mail = parseMail(Buffer.from(raw, 'latin1'));
    expect(mail.subject).toBe(subject);
    expect(decodeWords(mail.headers.get('x-zt-message-key')!)).toBe(key);
  });

  it('encodes an ASCII subject that would read as an encoded word, so it is shown as written', () => {
    const subject = 'bill =?UTF-8?B?5rWL?= code';
    const mail = parseMail(Buffer.from(buildMessage({ ...content(1), subject }, 'zt-b1'), 'latin1'));
    expect(mail.subject).toBe(subject);
  });

  it('encodes a Chinese display name in To as it does in From', () => {
    const raw = buildMessage({ ...content(1), to: '张三丰 <zhang@mail.example>' }, 'zt-b1');
    expect(/^[\x09\x0d\x0a\x20-\x7e]*$/.test(raw)).toBe(true);
    expect(decodeWords(parseMail(Buffer.from(raw, 'latin1')).headers.get('to')!)).toBe('张三丰 <zhang@mail.example>');
  });

  it('quotes a sender display name holding special characters', () => {
    const message = buildMessage({ ...content(1), from: '"Power Co., Ltd." <billing@power.example>' }, 'zt-b1');
    expect(message).toMatch(/^From: "Power Co\., Ltd\." <billing@power\.example>\r\n/);
    expect(buildMessage({ ...content(1), from: 'Billing <billing@power.example>' }, 'zt-b1')).toMatch(/^From: Billing <billing@power\.example>\r\n/);
  });
});
