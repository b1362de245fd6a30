/**
 * The SMTP client's TLS and its timeouts against peers as they are met in the field: a stock
 * Postfix offering STARTTLS with a self-signed certificate, a server refusing STARTTLS for now,
 * plain text injected after the STARTTLS reply, and hosts that never finish a handshake.
 */
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { SMTPServer } from 'smtp-server';
import getTLSOptions from 'smtp-server/lib/tls-options';
import { afterEach, describe, expect, it } from 'vitest';
import { buildMessage, SmtpPool, type SmtpClientOptions } from './smtp-client.ts';

const open: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

const message = (n: number) => buildMessage({
  from: 'billing@power.example', to: `u${n}@mail.example`, subject: `第${n}期电费账单`, text: `本期应缴 ${n}.00 元`,
  messageId: `m${n}@zerotouch.local`, date: new Date('2026-01-05T01:00:00Z'),
}, `zt-b${n}`);

function pool(options: Partial<SmtpClientOptions> & { port: number }): SmtpPool {
  const p = new SmtpPool({ host: '127.0.0.1', ...options });
  open.push(() => p.close());
  return p;
}

async function listening(server: net.Server): Promise<number> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => sockets.add(socket));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  open.push(() => new Promise<void>((r) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => r());
  }));
  return (server.address() as AddressInfo).port;
}

/**
 * A scripted server that can switch to TLS (with smtp-server's self-signed certificate) after
 * answering STARTTLS with `startTls`; records every command line and whether it came over TLS.
 */
async function scripted(startTls: string, reply: (line: string) => string | undefined) {
  const lines: Array<{ line: string; secure: boolean }> = [];
  const server = net.createServer((plain) => {
    plain.on('error', () => undefined);
    let socket: net.Socket = plain;
    let buffer = '';
    let inData = false;
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          buffer = buffer.slice(end + 5);
          inData = false;
          socket.write('250 2.0.0 queued\r\n');
          continue;
        }
        const at = buffer.indexOf('\r\n');
        if (at < 0) return;
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        lines.push({ line, secure: socket !== plain });
        if (/^STARTTLS/i.test(line)) {
          socket.write(startTls);
          if (!startTls.startsWith('220')) continue;
          plain.removeListener('data', onData);
          socket = new tls.TLSSocket(plain, { isServer: true, ...getTLSOptions() });
          socket.on('error', () => undefined);
          socket.on('data', onData);
          return;
        }
        if (/^QUIT/i.test(line)) return void socket.end('221 bye\r\n');
        const answer = reply(line);
        if (answer === undefined) continue;
        socket.write(`${answer}\r\n`);
        if (answer.startsWith('354')) inData = true;
      }
    };
    plain.on('data', onData);
    plain.write('220 peer ESMTP\r\n');
  });
  return { port: await listening(server), lines };
}

const withStartTls = (line: string): string | undefined => {
  if (/^EHLO/i.test(line)) return '250-peer\r\n250-PIPELINING\r\n250 STARTTLS';
  if (/^DATA/i.test(line)) return '354 go ahead';
  return '250 2.0.0 ok';
};

describe('SMTP client over STARTTLS', () => {
  it('delivers over STARTTLS to a server with a self-signed certificate, as a stock Postfix has', async () => {
    const received: Array<{ secure: boolean; raw: string }> = [];
    const smtp = new SMTPServer({
      logger: false, authOptional: true, disableReverseLookup: true, // STARTTLS on, smtp-server's own certificate
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          received.push({ secure: session.secure, raw: Buffer.concat(chunks).toString('latin1') });
          cb(null);
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
    open.push(() => new Promise<void>((r) => smtp.close(() => r())));
    const client = pool({ port: (smtp.server.address() as AddressInfo).port });
    await expect(client.send('billing@power.example', 'u1@mail.example', message(1))).resolves.toMatchObject({ response: expect.stringMatching(/^250/) });
    expect(received).toHaveLength(1);
    expect(received[0]!.secure).toBe(true);
  });

  it('still checks the certificate when TLS is required', async () => {
    const smtp = await scripted('220 2.0.0 ready for TLS\r\n', withStartTls);
    await expect(pool({ port: smtp.port, requireTls: true }).send('billing@power.example', 'u1@mail.example', message(1))).rejects.toMatchObject({ code: 'ETLS' });
    expect(smtp.lines.map((l) => l.line)).not.toContain('MAIL FROM:<billing@power.example>');
  });

  it('sends in the clear when the server answers STARTTLS with 454 and TLS is not required', async () => {
    const smtp = await scripted('454 4.7.0 TLS not available due to temporary reason\r\n', withStartTls);
    await expect(pool({ port: smtp.port }).send('billing@power.example', 'u1@mail.example', message(1))).resolves.toBeDefined();
    expect(smtp.lines.map((l) => l.line)).toContain('MAIL FROM:<billing@power.example>');
    await expect(pool({ port: smtp.port, requireTls: true }).send('billing@power.example', 'u2@mail.example', message(2))).rejects.toMatchObject({ code: 'ETLS', responseCode: 454 });
  });

  it('refuses replies injected in the clear behind the STARTTLS reply', async () => {
    // CVE-2011-0411: text after "220" on the plain connection would otherwise be read as the server's TLS reply
    const smtp = await scripted('220 2.0.0 ready\r\n250-AUTH PLAIN\r\n', withStartTls);
    await expect(pool({ port: smtp.port }).send('billing@power.example', 'u1@mail.example', message(1))).rejects.toMatchObject({ code: 'EPROTOCOL' });
    expect(smtp.lines.filter((l) => l.secure)).toEqual([]);
  });
});

describe('SMTP client timeouts', () => {
  it('gives up on a server that takes the TCP connection but never completes implicit TLS', async () => {
    const port = await listening(net.createServer((socket) => socket.on('error', () => undefined)));
    const started = performance.now();
    await expect(pool({ port, secure: true, timeoutMs: 200 }).send('billing@power.example', 'u1@mail.example', message(1))).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('gives up on a server that answers STARTTLS and then says nothing more', async () => {
    const port = await listening(net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.on('data', (chunk) => {
        const line = chunk.toString('latin1');
        if (/^EHLO/i.test(line)) socket.write('250-peer\r\n250 STARTTLS\r\n');
        else if (/^STARTTLS/i.test(line)) socket.write('220 go ahead\r\n'); // then silence, no TLS
      });
      socket.write('220 peer ESMTP\r\n');
    }));
    await expect(pool({ port, timeoutMs: 200 }).send('billing@power.example', 'u1@mail.example', message(1))).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });
});
