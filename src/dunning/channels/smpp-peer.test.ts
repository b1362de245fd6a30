/**
 * The SMS channel against a raw-TCP SMSC written byte by byte in the test: it sends what real
 * SMSCs send (and what the `smpp` package's own server would never produce), so the client is
 * held to SMPP 3.4 itself rather than to our simulator.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSmppChannel, type SmppChannelOptions } from './sms-smpp.ts';
import type { DeliveryReport } from './types.ts';

const BIND_RECEIVER = 0x00000001;
const BIND_TRANSMITTER = 0x00000002;
const BIND_TRANSCEIVER = 0x00000009;
const SUBMIT_SM = 0x00000004;
const DELIVER_SM = 0x00000005;
const GENERIC_NACK = 0x80000000;
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
  /** The bind command the SMSC took on this link. */
  bound?: number;
}

/** A deliver_sm receipt in Appendix B text, from the handset back to our sender. */
function receiptFrame(sequence: number, id: string, stat: string, extra: Buffer = Buffer.alloc(0)): Buffer {
  const text = Buffer.from(`id:${id} sub:001 dlvrd:001 submit date:2601050100 done date:2601050101 stat:${stat} err:000 text:`, 'latin1');
  return frame(DELIVER_SM, 0, sequence, Buffer.concat([
    cstring(''), Buffer.from([1, 1]), cstring('13800000001'), Buffer.from([0, 0]), cstring('95598'),
    Buffer.from([0x04, 0, 0]), cstring(''), cstring(''), Buffer.from([0, 0, 0, 0, text.length]), text, extra,
  ]));
}

interface RawSmscOptions {
  /** Body of the bind_transceiver_resp; default system_id "RAW" and sc_interface_version 0x34. */
  bindRespBody?: Buffer;
  onSubmit?: (pdu: Pdu, link: Link) => void;
  /** Leave our enquire_link unanswered, as a hung SMSC would. */
  silent?: boolean;
  /** Keep our side open after the client's FIN, as an SMSC waiting to close itself would. */
  allowHalfOpen?: boolean;
  /**
   * How bind_transceiver is answered: bound (default); a generic_nack or a bind_transceiver_resp with
   * this status; or the TCP link closed, as SMSCs without transceivers do. Transmitter and receiver
   * binds are always taken.
   */
  transceiver?: { nack: number } | { status: number } | 'hang_up';
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
        const refusal = pdu.commandId === BIND_TRANSCEIVER ? options.transceiver : undefined;
        if (refusal === 'hang_up') {
          socket.destroy();
        } else if (refusal && 'nack' in refusal) {
          socket.write(frame(GENERIC_NACK, refusal.nack, pdu.sequence));
        } else if (refusal) {
          socket.write(frame(BIND_TRANSCEIVER | RESP, refusal.status, pdu.sequence));
        } else if (pdu.commandId === BIND_TRANSCEIVER || pdu.commandId === BIND_TRANSMITTER || pdu.commandId === BIND_RECEIVER) {
          const body = options.bindRespBody ?? Buffer.concat([cstring('RAW'), tlv(0x0210, Buffer.from([0x34]))]);
          link.bound = pdu.commandId;
          socket.write(frame(pdu.commandId | RESP, 0, pdu.sequence, body));
        } else if (pdu.commandId === UNBIND) {
          socket.write(frame(UNBIND | RESP, 0, pdu.sequence));
        } else if (pdu.commandId === ENQUIRE_LINK && !options.silent) {
          socket.write(frame(ENQUIRE_LINK | RESP, 0, pdu.sequence));
        } else if (pdu.commandId === SUBMIT_SM && link.bound === BIND_RECEIVER) {
          socket.write(frame(SUBMIT_SM | RESP, 0x04, pdu.sequence)); // ESME_RINVBNDSTS: a receiver takes no submit
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

  it.each([
    ['generic_nack ESME_RINVCMDID', { nack: 0x03 }],
    ['bind_transceiver_resp ESME_RBINDFAIL', { status: 0x0d }],
    ['bind_transceiver_resp ESME_RINVCMDID', { status: 0x03 }],
    ['a hang-up', 'hang_up'],
  ] as const)('answered %s to bind_transceiver, submits on a transmitter and takes receipts on a receiver', async (_answer, transceiver) => {
    const submitted: Link[] = [];
    const { channel, links, reports } = await rawSmsc({
      transceiver,
      onSubmit: (pdu, link) => {
        submitted.push(link);
        link.socket.write(frame(SUBMIT_SM | RESP, 0, pdu.sequence, cstring(`M${pdu.sequence}`)));
        links.find((l) => l.bound === BIND_RECEIVER)!.socket.write(receiptFrame(500 + pdu.sequence, `M${pdu.sequence}`, 'DELIVRD'));
      },
    });
    await until(() => links.some((l) => l.bound === BIND_RECEIVER && !l.socket.destroyed));
    const receiver = links.find((l) => l.bound === BIND_RECEIVER)!;
    expect(links[0]!.received.map((p) => p.commandId)).toEqual([BIND_TRANSCEIVER]);
    expect(links[0]!.socket.destroyed || links[0]!.socket.readyState === 'closed').toBe(true);

    const [result] = await channel.send([notice(1)]);
    await until(() => reports.length === 1);
    expect(result).toMatchObject({ accepted: true });
    expect(reports[0]).toMatchObject({ messageKey: 'notice-1', providerMessageId: result!.providerMessageId, state: 'delivered' });
    expect(submitted.map((l) => l.bound)).toEqual([BIND_TRANSMITTER]);
    expect(receiver.received.filter((p) => p.commandId === SUBMIT_SM)).toEqual([]);
    await until(() => receiver.received.some((p) => p.commandId === (DELIVER_SM | RESP) >>> 0));
    expect(receiver.received.find((p) => p.commandId === (DELIVER_SM | RESP) >>> 0)).toMatchObject({ status: 0 });
  });

  it('answers a deliver_sm it cannot decode with deliver_sm_resp ESME_RX_P_APPN, logs it with a stable code, and keeps the link', async () => {
    const warnings: Array<Record<string, unknown>> = [];
    const logger = { info: () => undefined, warn: (entry: object) => void warnings.push(entry as Record<string, unknown>) };
    const { channel, links, reports } = await rawSmsc({}, { logger });
    // a message_state TLV without its value octet: `smpp` reads past the end of the PDU
    links[0]!.socket.write(receiptFrame(41, 'X9', 'DELIVRD', tlv(0x0427, Buffer.alloc(0))));
    await until(() => links[0]!.received.some((p) => p.commandId === (DELIVER_SM | RESP) >>> 0));
    expect(links[0]!.received.find((p) => p.commandId === (DELIVER_SM | RESP) >>> 0)).toMatchObject({ sequence: 41, status: 0x65 });
    expect(warnings).toContainEqual(expect.objectContaining({ code: 'SMPP_PDU_UNDECODABLE', command: 'deliver_sm', sequence: 41 }));

    // the same link carries on: a submit, and a receipt for it
    const [result] = await channel.send([notice(1)]);
    links[0]!.socket.write(receiptFrame(42, result!.providerMessageId!, 'DELIVRD'));
    await until(() => reports.length === 1);
    expect(reports[0]).toMatchObject({ messageKey: 'notice-1', state: 'delivered' });
    expect([channel.bindCount, links.length, links[0]!.socket.destroyed]).toEqual([1, 1, false]);
  });
});
