import net, { type AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { CHANNEL_ROUTES_PREFIX, channelCallbackRoutes } from './callback-routes.ts';
import { createEmailChannel, type EmailChannelOptions } from './email-smtp.ts';
import { startSmtp, type SmtpSimOptions } from './sim/smtp.ts';
import { decodeWords } from './sim/mime.ts';
import type { CallbackChannel, DeliveryReport, OutboundMessage } from './types.ts';

const open: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const resource of open.splice(0).reverse()) await resource.close();
});

async function setUp(simOptions: SmtpSimOptions = {}, channelOptions: Partial<EmailChannelOptions> = {}) {
  const smtp = await startSmtp(simOptions);
  open.push(smtp);
  const email = createEmailChannel({ host: smtp.host, port: smtp.port, from: '电费中心 <billing@power.example>', ...channelOptions });
  open.push(email);
  const reports: DeliveryReport[] = [];
  email.onReport((r) => reports.push(r));
  return { smtp, email, reports };
}

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const mail = (key: string, to: string): OutboundMessage => ({
  messageKey: key,
  channel: 'email',
  to,
  subject: '您的2024年6月电费账单 / June bill',
  text: '本期应缴 1,234.56 元',
  html: '<p>本期应缴 <b>1,234.56 元</b> <a href="https://pay.example/b/1">查看账单</a></p>',
});

describe('email over SMTP against the SMTP simulator', () => {
  it('delivers subject, text and HTML intact and reports the message delivered', async () => {
    const { smtp, email, reports } = await setUp();
    const [result] = await email.send([mail('bill-2024-06-001', 'zhang@mail.example')]);
    await until(() => reports.length === 1);

    expect(result).toEqual({ messageKey: 'bill-2024-06-001', accepted: true, providerMessageId: 'bill-2024-06-001@zerotouch.local' });
    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]).toMatchObject({
      providerMessageId: 'bill-2024-06-001@zerotouch.local',
      messageKey: 'bill-2024-06-001',
      from: 'billing@power.example',
      to: ['zhang@mail.example'],
      subject: '您的2024年6月电费账单 / June bill',
      text: '本期应缴 1,234.56 元',
    });
    expect(smtp.received[0]!.html).toContain('<b>1,234.56 元</b>');
    expect(smtp.received[0]!.html).toContain('href="https://pay.example/b/1"');
    expect(reports[0]).toMatchObject({ providerMessageId: result!.providerMessageId, messageKey: 'bill-2024-06-001', state: 'delivered', channel: 'email' });
  });

  it('maps a 550 at RCPT to a permanent error and a 451 to a retryable one', async () => {
    const { smtp, email, reports } = await setUp({ deferDomains: ['busy.example'] });
    const results = await email.send([mail('a', 'nobody@invalid.example'), mail('b', 'later@busy.example'), mail('c', 'ok@mail.example')]);

    expect(results[0]!.error).toMatchObject({ code: 'SMTP_REJECTED', permanent: true });
    expect(results[0]!.error!.message).toMatch(/^550/);
    expect(results[1]!.error).toMatchObject({ code: 'SMTP_DEFERRED', permanent: false });
    expect(results[2]!.accepted).toBe(true);
    expect(smtp.received.map((m) => m.messageKey)).toEqual(['c']);
    await until(() => reports.length === 1);
    expect(reports.map((r) => r.messageKey)).toEqual(['c']);
  });

  it('turns an asynchronous bounce webhook into a failed report', async () => {
    const registry = new Map<string, CallbackChannel>();
    const app = Fastify();
    await app.register(channelCallbackRoutes((kind) => registry.get(kind)), { prefix: CHANNEL_ROUTES_PREFIX });
    await app.listen({ port: 0, host: '127.0.0.1' });
    open.push(app);
    const { port } = app.server.address() as { port: number };
    const webhook = { url: `http://127.0.0.1:${port}${CHANNEL_ROUTES_PREFIX}/callbacks/email`, secret: 'bounce-secret' };
    const { smtp, email, reports } = await setUp({ webhook, asyncBounceDelayMs: 1_000 }, { webhookSecret: 'bounce-secret' });
    registry.set('email', email);

    const [result] = await email.send([mail('k1', 'gone@bounce.example')]);
    await until(() => reports.length === 2 && smtp.bounces.length === 1);

    expect(result!.accepted).toBe(true);
    expect(reports.map((r) => r.state)).toEqual(['delivered', 'failed']);
    expect(reports[1]).toMatchObject({ providerMessageId: result!.providerMessageId, messageKey: 'k1', detail: '550 5.1.1 <gone@bounce.example>: user unknown' });
    expect(smtp.bounces).toEqual([{ providerMessageId: result!.providerMessageId, recipient: 'gone@bounce.example', status: 204 }]);
  });

  it('never reports delivered after a bounce that overtook the SMTP acceptance', async () => {
    const registry = new Map<string, CallbackChannel>();
    const app = Fastify();
    await app.register(channelCallbackRoutes((kind) => registry.get(kind)), { prefix: CHANNEL_ROUTES_PREFIX });
    await app.listen({ port: 0, host: '127.0.0.1' });
    open.push(app);
    const { port } = app.server.address() as { port: number };
    const webhook = { url: `http://127.0.0.1:${port}${CHANNEL_ROUTES_PREFIX}/callbacks/email`, secret: 's' };
    const { smtp, email, reports } = await setUp({ webhook, asyncBounceDelayMs: 0 }, { webhookSecret: 's' });
    registry.set('email', email);

    await email.send(Array.from({ length: 20 }, (_, i) => mail(`k${i}`, `gone${i}@bounce.example`)));
    await until(() => smtp.bounces.length === 20);
    await new Promise((r) => setTimeout(r, 50));

    for (let i = 0; i < 20; i++) {
      const states = reports.filter((r) => r.messageKey === `k${i}`).map((r) => r.state);
      expect(states.at(-1)).toBe('failed');
      expect(states.filter((st) => st === 'failed')).toHaveLength(1);
    }
  });

  it('refuses a bounce webhook signed with the wrong secret', async () => {
    const { email, reports } = await setUp({}, { webhookSecret: 'right' });
    const verdict = email.handleCallback({ 'x-zt-timestamp': '1', 'x-zt-signature': 'v1=00' }, '{"providerMessageId":"x","outcome":"bounced"}');
    expect(verdict).toMatchObject({ ok: false, status: 401, code: 'CHANNEL_SIGNATURE_INVALID' });
    expect(reports).toEqual([]);
  });

  it('fails retryably, not as a bounce, when the server refuses our sender at MAIL FROM', async () => {
    // a relay that wants a login we did not give (530), or a sender it does not allow (550): our setup
    const refusing = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.on('data', (chunk) => {
        for (const line of String(chunk).split('\r\n').filter(Boolean)) {
          if (/^EHLO/i.test(line)) socket.write('250-relay.example\r\n250 8BITMIME\r\n');
          else if (/^MAIL/i.test(line)) socket.write('530 5.7.0 Authentication required\r\n');
          else if (/^QUIT/i.test(line)) socket.end('221 bye\r\n');
          else socket.write('250 ok\r\n');
        }
      });
      socket.write('220 relay.example ESMTP\r\n');
    });
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', () => r()));
    open.push({ close: () => new Promise<void>((r) => refusing.close(() => r())) });
    const email = createEmailChannel({ host: '127.0.0.1', port: (refusing.address() as AddressInfo).port, from: 'billing@power.example' });
    open.push(email);
    const [result] = await email.send([mail('k-530', 'user@mail.example')]);
    expect(result!.error).toMatchObject({ code: 'SMTP_SENDER_REFUSED', permanent: false });
    expect(result!.error!.message).toMatch(/530/);
  });

  it('fails retryably as our setup, not against the address, when credentials are set and the relay offers no AUTH we speak', async () => {
    const lines: string[] = [];
    const relay = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.on('data', (chunk) => {
        for (const line of String(chunk).split('\r\n').filter(Boolean)) {
          lines.push(line);
          if (/^EHLO/i.test(line)) socket.write('250-relay.example\r\n250-AUTH GSSAPI\r\n250 8BITMIME\r\n');
          else if (/^QUIT/i.test(line)) socket.end('221 bye\r\n');
          else socket.write('502 5.5.2 not here\r\n');
        }
      });
      socket.write('220 relay.example ESMTP\r\n');
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
    open.push({ close: () => new Promise<void>((r) => relay.close(() => r())) });
    const email = createEmailChannel({
      host: '127.0.0.1', port: (relay.address() as AddressInfo).port, from: 'billing@power.example', auth: { user: 'zt', pass: 's3cret' },
    });
    open.push(email);
    const results = await email.send([mail('k-auth-1', 'user@mail.example'), mail('k-auth-2', 'other@mail.example')]);
    expect(results.map((r) => r.error)).toEqual([1, 2].map(() => expect.objectContaining({ code: 'SMTP_AUTH_UNSUPPORTED', permanent: false })));
    expect(results[0]!.error!.message).toMatch(/offers only GSSAPI/);
    expect(lines.filter((l) => /^(AUTH|MAIL|RCPT)/i.test(l))).toEqual([]);
  });

  it('fails retryably, not as a bounce, when the server greets with 554', async () => {
    // RFC 5321 §3.1: a server that refuses service greets with 554 and waits for QUIT
    const refusing = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.on('data', (line) => (/^QUIT/i.test(String(line)) ? socket.end('221 bye\r\n') : socket.write('503 5.5.1 no\r\n')));
      socket.write('554 5.7.1 no service for you\r\n');
    });
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', () => r()));
    open.push({ close: () => new Promise<void>((r) => refusing.close(() => r())) });
    const email = createEmailChannel({ host: '127.0.0.1', port: (refusing.address() as AddressInfo).port, from: 'billing@power.example' });
    open.push(email);
    const [greeted] = await email.send([mail('k-554', 'user@mail.example')]);
    expect(greeted!.error).toMatchObject({ code: 'CHANNEL_UNAVAILABLE', permanent: false });
    expect(greeted!.error!.message).toMatch(/554/);
  });

  it('fails retryably when the SMTP server is unreachable', async () => {
    const smtp = await startSmtp();
    const port = smtp.port;
    await smtp.close();
    const email = createEmailChannel({ host: '127.0.0.1', port, from: 'billing@power.example', timeoutMs: 2_000 });
    open.push(email);
    const [result] = await email.send([mail('k1', 'zhang@mail.example')]);
    expect(result!.error).toMatchObject({ code: 'CHANNEL_UNAVAILABLE', permanent: false });
  });

  it('sends 200 mails over the pool once each, and refuses a malformed address locally', async () => {
    const { smtp, email } = await setUp();
    const batch = Array.from({ length: 200 }, (_, i) => mail(`m${i}`, `user${i}@mail.example`));
    const results = await email.send([...batch, mail('m0', 'user0@mail.example'), mail('bad', 'not-an-address')]);

    expect(results.slice(0, 200).every((r) => r.accepted)).toBe(true);
    expect(results[200]).toEqual(results[0]);
    expect(results[201]!.error).toMatchObject({ code: 'CHANNEL_INVALID_RECIPIENT', permanent: true });
    expect(smtp.received).toHaveLength(200);
    expect(smtp.countByKey('m0')).toBe(1);
  });
});

describe('email addresses and ids a real SMTP server takes', () => {
  it('refuses a non-ASCII mailbox locally: without SMTPUTF8 it cannot be named in RCPT TO', async () => {
    const { smtp, email } = await setUp();
    const [result] = await email.send([mail('k-utf8', '张三@mail.example')]);
    expect(result!.error).toMatchObject({ code: 'CHANNEL_INVALID_RECIPIENT', permanent: true });
    expect(smtp.received).toEqual([]);
  });

  it('derives a well-formed Message-ID from a key that is not a dot-atom', async () => {
    const { smtp, email } = await setUp();
    const results = await email.send([mail('bill..2024', 'a@mail.example'), mail('bill.', 'b@mail.example'), mail('bill.2024-06_1', 'c@mail.example')]);
    // RFC 5322 §3.6.4: id-left is a dot-atom-text, no empty part between dots
    const msgId = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*$/;
    expect(results.map((r) => msgId.test(r.providerMessageId!))).toEqual([true, true, true]);
    expect(results[2]!.providerMessageId).toBe('bill.2024-06_1@zerotouch.local');
    expect(smtp.received.map((m) => m.providerMessageId).sort()).toEqual(results.map((r) => r.providerMessageId).sort());
  });
});

describe('MIME header decoding in the simulator', () => {
  it('joins adjacent encoded words, even when a character is split between them', () => {
    const bytes = Buffer.from('电费', 'utf8');
    const header = `=?UTF-8?B?${bytes.subarray(0, 4).toString('base64')}?= =?UTF-8?B?${bytes.subarray(4).toString('base64')}?= bill`;
    expect(decodeWords(header)).toBe('电费 bill');
    expect(decodeWords('=?utf-8?Q?caf=C3=A9_ok?=')).toBe('café ok');
  });
});
