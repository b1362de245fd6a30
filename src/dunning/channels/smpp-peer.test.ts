/**
 * The SMS channel against a raw-TCP SMSC written byte by byte in the test: it sends what real
 * SMSCs send (and what the `smpp` package's own server would never produce), so the client is
 * held to SMPP 3.4 itself rather than to our simulator.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSmppChannel, type SmppChannelOptions } from './sms-smpp.ts';
import type { DeliveryReport } from './types.ts';

const BIND_TRANSCEIVER = 0x00000009;
const SUBMIT_SM = 0x00000004;
const ENQUIRE_LINK = 0x00000015;
const UNBIND = 0x00000006;
const RESP = 0x80000000;

interface Pdu {
  commandId: number;
  status: number;
  sequence: number;
  body: Buffer;
}

function frame(commandId: number, status: number, sequence: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(16 + body.length, 0);
  head.writeUInt32BE(commandId >>> 0, 4);
  head.writeUInt32BE(status, 8);
  head.writeUInt32BE(sequence, 12);
  return Buffer.concat([head, body]);
}

const cstring = (s: string) => Buffer.from(`${s}\0`, 'latin1');
const tlv = (tag: number, value: Buffer) => {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(tag, 0);
  head.writeUInt16BE(value.length, 2);
  return Buffer.concat([head, value]);
};

/** TLVs of a submit_sm body (after the mandatory fields). */
function submitTlvs(body: Buffer): Map<number, Buffer> {
  let at = 0;
  const skipCstring = () => {
    while (body[at] !== 0) at++;
    at++;
  };
  skipCstring(); // service_type
  at += 2;
  skipCstring(); // source_addr
  at += 2;
  skipCstring(); // destination_addr
  at += 3; // esm_class, protocol_id, priority_flag
  skipCstring(); // schedule_delivery_time
  skipCstring(); // validity_period
  at += 4; // registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id
  at += 1 + body[at]!; // sm_length + short_message
  const tlvs = new Map<number, Buffer>();
  while (at + 4 <= body.length) {
    const length = body.readUInt16BE(at + 2);
    tlvs.set(body.readUInt16BE(at), body.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return tlvs;
}

interface Link {
  socket: Socket;
  received: Pdu[];
}

interface RawSmscOptions {
  /** Body of the bind_transceiver_resp; default system_id "RAW" and sc_interface_version 0x34. */
  bindRespBody?: Buffer;
  onSubmit?: (pdu: Pdu, link: Link) => void;
  /** Leave our enquire_link unanswered, as a hung SMSC would. */
  silent?: boolean;
  /** Keep our side open after the client's FIN, as an SMSC waiting to close itself would. */
  allowHalfOpen?: boolean;
}

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const resource of open.splice(0).reverse()) await resource.close();
});

async function rawSmsc(options: RawSmscOptions = {}, channelOptions: Partial<SmppChannelOptions> = {}) {
  const links: Link[] = [];
  const server: Server = createServer({ allowHalfOpen: options.allowHalfOpen ?? false }, (socket) => {
    const link: Link = { socket, received: [] };
    links.push(link);
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 16 && buffered.length >= buffered.readUInt32BE(0)) {
        const length = buffered.readUInt32BE(0);
        const pdu: Pdu = {
          commandId: buffered.readUInt32BE(4),
          status: buffered.readUInt32BE(8),
          sequence: buffered.readUInt32BE(12),
          body: Buffer.from(buffered.subarray(16, length)),
        };
        buffered = buffered.subarray(length);
        link.received.push(pdu);
        if (pdu.commandId === BIND_TRANSCEIVER) {
          const body = options.bindRespBody ?? Buffer.concat([cstring('RAW'), tlv(0x0210, Buffer.from([0x34]))]);
          socket.write(frame(BIND_TRANSCEIVER | RESP, 0, pdu.sequence, body));
        } else if (pdu.commandId === UNBIND) {
          socket.write(frame(UNBIND | RESP, 0, pdu.sequence));
        } else if (pdu.commandId === ENQUIRE_LINK && !options.silent) {
          socket.write(frame(ENQUIRE_LINK | RESP, 0, pdu.sequence));
        } else if (pdu.commandId === SUBMIT_SM) {
          if (options.onSubmit) options.onSubmit(pdu, link);
          else socket.write(frame(SUBMIT_SM | RESP, 0, pdu.sequence, cstring(`M${pdu.sequence}`)));
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  open.push({
    close: () =>
      new Promise<void>((r) => {
        for (const link of links) link.socket.destroy();
        server.close(() => r());
      }),
  });
  const channel = createSmppChannel({
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    systemId: 'zt',
    password: 'pw',
    sourceAddr: '95598',
    reconnectMinMs: 50,
    reconnectMaxMs: 200,
    ...channelOptions,
  });
  open.push(channel);
  const reports: DeliveryReport[] = [];
  channel.onReport((r) => reports.push(r));
  expect(await channel.waitUntilBound(5_000)).toBe(true);
  return { channel, links, reports };
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const notice = (i: number, text = 'Your bill is ready') => ({ messageKey: `notice-${i}`, channel: 'sms' as const, to: `1380000${String(i).padStart(4, '0')}`, text });

describe('SMS channel against a raw-TCP SMSC', () => {
  it.each([0, 4, 8, 15])('drops a link whose SMSC sends command_length %i (below the 16-octet header) and binds again', async (length) => {
    const { channel, links } = await rawSmsc();
    const bad = Buffer.alloc(16);
    bad.writeUInt32BE(length, 0);
    bad.writeUInt32BE(ENQUIRE_LINK, 4);
    bad.writeUInt32BE(9, 12);
    links[0]!.socket.write(bad);
    await until(() => channel.bindCount === 2);
    const [result] = await channel.send([notice(1)]);
    expect(result).toMatchObject({ accepted: true });
  });

  it('binds again soon after answering the SMSC unbind, even when the SMSC leaves closing the TCP link to us', async () => {
    const { channel, links } = await rawSmsc({ allowHalfOpen: true });
    links[0]!.socket.write(frame(UNBIND, 0, 5));
    await until(() => links[0]!.received.some((p) => p.commandId === (UNBIND | RESP) >>> 0 && p.sequence === 5));
    // enquireLinkMs is 30 s: only the unbind handling itself may bring the link back this soon
    await until(() => channel.bindCount === 2, 4_000);
    const [result] = await channel.send([notice(1)]);
    expect(result).toMatchObject({ accepted: true });
  });

  it('sends the vendor message-key TLV only to an SMSC whose bind_resp declares SMPP 3.4', async () => {
    const v33 = await rawSmsc({ bindRespBody: cstring('OLD') });
    await v33.channel.send([notice(1)]);
    const old = v33.links[0]!.received.find((p) => p.commandId === SUBMIT_SM)!;
    expect([...submitTlvs(old.body).keys()]).toEqual([]);

    const v34 = await rawSmsc();
    await v34.channel.send([notice(2)]);
    const current = v34.links[0]!.received.find((p) => p.commandId === SUBMIT_SM)!;
    expect(submitTlvs(current.body).get(0x1401)?.toString()).toBe('notice-2');
  });

  it('treats ESME_RINVBNDSTS on a submit as a fault of the link: retryable, and binds again', async () => {
    const { channel } = await rawSmsc({
      onSubmit: (pdu, link) => link.socket.write(frame(SUBMIT_SM | RESP, 0x04, pdu.sequence)),
    });
    const [result] = await channel.send([notice(1)]);
    expect(result!.error).toMatchObject({ code: 'SMPP_ESME_RINVBNDSTS', permanent: false });
    await until(() => channel.bindCount === 2);
  });

  it('reads PDUs split across TCP chunks one octet at a time, and many in one chunk', async () => {
    const pending: Buffer[] = [];
    const { channel, reports } = await rawSmsc({
      onSubmit: (pdu, link) => {
        const id = `0A${pdu.sequence}`;
        const text = Buffer.from(`id:${id.toLowerCase()} sub:001 dlvrd:001 submit date:2601050100 done date:2601050101 stat:DELIVRD err:000 text:`, 'latin1');
        const receipt = frame(0x00000005, 0, 1000 + pdu.sequence, Buffer.concat([
          cstring(''), Buffer.from([1, 1]), cstring('13800000001'), Buffer.from([0, 0]), cstring('95598'),
          Buffer.from([0x04, 0, 0]), cstring(''), cstring(''), Buffer.from([0, 0, 0, 0, text.length]), text,
        ]));
        pending.push(frame(SUBMIT_SM | RESP, 0, pdu.sequence, cstring(id)), receipt);
        if (pending.length < 8) return;
        // Two responses, two receipts and half of the next response in one write; the rest an octet at a time.
        const bytes = Buffer.concat(pending.reverse());
        const cut = pending[0]!.length + pending[1]!.length + pending[2]!.length + pending[3]!.length + 10;
        link.socket.write(bytes.subarray(0, cut));
        let at = cut;
        const drip = () => {
          if (at < bytes.length && !link.socket.destroyed) link.socket.write(bytes.subarray(at, ++at), () => setImmediate(drip));
        };
        drip();
      },
    });
    const results = await channel.send([notice(1), notice(2), notice(3), notice(4)]);
    // answered in reverse order: each response still finds its submit by sequence number (the bind took 1)
    expect(results.map((r) => r.providerMessageId)).toEqual(['0A2', '0A3', '0A4', '0A5']);
    await until(() => reports.length === 4);
    expect(reports.map((r) => [r.messageKey, r.state]).sort()).toEqual([1, 2, 3, 4].map((i) => [`notice-${i}`, 'delivered']));
  });

  it('answers the SMSC enquire_link with its own sequence number, and drops a link whose SMSC stops answering ours', async () => {
    let silent = false;
    const { channel, links } = await rawSmsc({ get silent() { return silent; } }, { enquireLinkMs: 50 });
    links[0]!.socket.write(frame(ENQUIRE_LINK, 0, 0x7fffffff));
    await until(() => links[0]!.received.some((p) => p.commandId === (ENQUIRE_LINK | RESP) >>> 0 && p.sequence === 0x7fffffff));
    silent = true;
    await until(() => links[0]!.socket.destroyed || links[0]!.socket.readyState === 'closed');
    silent = false;
    await until(() => channel.bindCount === 2);
  });
});
