import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSmppChannel, type SmppChannelOptions } from './sms-smpp.ts';
import { startSmsc, type SmscOptions } from './sim/smsc.ts';
import { createSmppServer, makePdu, type SmppPdu, type SmppSession } from './smpp-wire.ts';
import type { DeliveryReport, OutboundMessage } from './types.ts';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const resource of open.splice(0).reverse()) await resource.close();
});

async function setUp(simOptions: SmscOptions = {}, channelOptions: Partial<SmppChannelOptions> = {}) {
  const smsc = await startSmsc(simOptions);
  open.push(smsc);
  const sms = createSmppChannel({
    host: smsc.host,
    port: smsc.port,
    systemId: smsc.systemId,
    password: smsc.password,
    sourceAddr: '95598',
    reconnectMinMs: 50,
    reconnectMaxMs: 200,
    ...channelOptions,
  });
  open.push(sms);
  const reports: DeliveryReport[] = [];
  sms.onReport((r) => reports.push(r));
  return { smsc, sms, reports };
}

function sms(i: number, to: string, text: string): OutboundMessage {
  return { messageKey: `notice-${i}`, channel: 'sms', to, text };
}

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('SMS over SMPP 3.4 against the SMSC simulator', () => {
  it('binds, pipelines 1,000 submits and gets every receipt back', async () => {
    const { smsc, sms: channel, reports } = await setUp({ receiptDelayMs: 0 });
    expect(await channel.waitUntilBound(20_000)).toBe(true);
    const notices = (from: number, count: number) =>
      Array.from({ length: count }, (_, j) => {
        const i = from + j;
        return sms(i, `138${String(i).padStart(8, '0')}`, `【供电公司】您的电费账单已出，本期应缴 ${i}.50 元。`);
      });
    const timed = async (batch: OutboundMessage[]) => {
      const before = reports.length;
      const started = performance.now();
      const results = await channel.send(batch);
      await until(() => reports.length === before + batch.length, 60_000);
      return { results, perSecond: Math.round(batch.length / ((performance.now() - started) / 1_000)) };
    };

    const cold = await timed(notices(0, 1_000));
    const warm = await timed(notices(1_000, 5_000));
    console.log(`SMPP submit+receipt throughput: first 1,000 ${cold.perSecond} SMS/s; next 5,000 ${warm.perSecond} SMS/s`);

    const results = cold.results;
    expect(results.every((r) => r.accepted)).toBe(true);
    expect(new Set(results.map((r) => r.providerMessageId)).size).toBe(1_000);
    expect(smsc.stats.binds).toBe(1);
    expect(smsc.stats.submits).toBe(6_000);
    expect(smsc.duplicateKeys()).toEqual([]);
    expect(reports.every((r) => r.state === 'delivered' && r.channel === 'sms')).toBe(true);
    const byKey = new Map([...results, ...warm.results].map((r) => [r.messageKey, r.providerMessageId]));
    expect(reports.every((r) => byKey.get(r.messageKey!) === r.providerMessageId)).toBe(true);
    expect(smsc.submissions[7]).toMatchObject({ to: '13800000007', dataCoding: 8, text: '【供电公司】您的电费账单已出，本期应缴 7.50 元。' });
    // Target: 2,000/s. A shared test box can be loaded many times over, so the floor is opt-in
    // (ZT_SMPP_MIN_RATE=2000); pipelining itself is proven by the next test without timing.
    expect(warm.perSecond).toBeGreaterThanOrEqual(Number(process.env.ZT_SMPP_MIN_RATE ?? 0));
  });

  it('keeps hundreds of submits outstanding, so SMSC latency does not bound throughput', async () => {
    const { smsc, sms: channel, reports } = await setUp({ submitDelayMs: 50 }, { windowSize: 256 });
    expect(await channel.waitUntilBound(20_000)).toBe(true);
    const batch = Array.from({ length: 1_000 }, (_, i) => sms(i, `139${String(i).padStart(8, '0')}`, 'Your bill is ready'));

    const started = performance.now();
    const results = await channel.send(batch);
    const elapsedMs = performance.now() - started;
    await until(() => reports.length === 1_000, 60_000);

    expect(results.every((r) => r.accepted)).toBe(true);
    expect(smsc.stats.peakOutstanding).toBe(256);
    // One at a time this would take 1,000 × 50 ms = 50 s; four windows take about 200 ms.
    expect(elapsedMs).toBeLessThan(20_000);
  });

  it('splits a long Chinese notice into concatenated UCS2 parts and reports it delivered once', async () => {
    const { smsc, sms: channel, reports } = await setUp();
    const text = '尊敬的客户，您的电费已逾期。'.repeat(12);
    const [result] = await channel.send([sms(1, '13900001111', text)]);
    await until(() => reports.length === 1);
    await new Promise((r) => setTimeout(r, 50));

    expect(result).toMatchObject({ accepted: true });
    expect(smsc.submissions.map((s) => s.part?.sequence)).toEqual([1, 2, 3]);
    expect(smsc.messages).toHaveLength(1);
    expect(smsc.messages[0]).toMatchObject({ messageKey: 'notice-1', text });
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ providerMessageId: result!.providerMessageId, state: 'delivered', messageKey: 'notice-1' });
  });

  it('fails an unassigned number permanently at submit time', async () => {
    const { reports, sms: channel } = await setUp({ unassignedPrefixes: ['1700'] });
    const results = await channel.send([sms(1, '17000001234', 'hello'), sms(2, '13800001234', 'hello')]);

    expect(results[0]).toEqual({
      messageKey: 'notice-1',
      accepted: false,
      error: { code: 'SMPP_ESME_RINVDSTADR', message: 'SMSC rejected submit_sm with ESME_RINVDSTADR', permanent: true },
    });
    expect(results[1]!.accepted).toBe(true);
    await until(() => reports.length === 1);
    expect(reports[0]!.messageKey).toBe('notice-2');
  });

  it('reports an UNDELIV receipt for an unassigned number as failed', async () => {
    const { reports, sms: channel } = await setUp({ unassignedPrefixes: ['1700'], unassignedMode: 'undeliverable' });
    const [result] = await channel.send([sms(1, '17000001234', 'hello')]);
    await until(() => reports.length === 1);

    expect(result!.accepted).toBe(true);
    expect(reports[0]).toMatchObject({ state: 'failed', detail: 'stat:UNDELIV err:001', providerMessageId: result!.providerMessageId });
  });

  it.each(['text', 'tlv'] as const)('reads receipts carried only as %s', async (receiptStyle) => {
    const { reports, sms: channel } = await setUp({ receiptStyle });
    const [result] = await channel.send([sms(1, '13800001234', 'Your bill is ready')]);
    await until(() => reports.length === 1);
    expect(reports[0]).toMatchObject({ state: 'delivered', providerMessageId: result!.providerMessageId });
  });

  it('fails retryably while the SMSC is down and reconnects when it is back, without duplicates', async () => {
    const { smsc, sms: channel, reports } = await setUp({}, { bindWaitMs: 300 });
    expect(await channel.waitUntilBound(20_000)).toBe(true);
    await smsc.down();

    const whileDown = await channel.send([sms(1, '13800000001', 'a'), sms(2, '13800000002', 'b')]);
    expect(whileDown.map((r) => r.error?.code)).toEqual(['CHANNEL_UNAVAILABLE', 'CHANNEL_UNAVAILABLE']);
    expect(whileDown.every((r) => r.error?.permanent === false)).toBe(true);

    await smsc.up();
    expect(await channel.waitUntilBound(20_000)).toBe(true);
    expect(channel.bindCount).toBe(2);
    const retried = await channel.send([sms(1, '13800000001', 'a'), sms(2, '13800000002', 'b')]);
    expect(retried.every((r) => r.accepted)).toBe(true);
    await until(() => reports.length === 2);
    expect([smsc.countByKey('notice-1'), smsc.countByKey('notice-2')]).toEqual([1, 1]);
  });

  it('gets a receipt the SMSC held while the link was down once the link is back', async () => {
    const { smsc, sms: channel, reports } = await setUp({ receiptDelayMs: 500 });
    const [result] = await channel.send([sms(1, '13800000001', '您的电费账单已出')]);
    await smsc.down();
    await until(() => smsc.queuedReceiptCount === 1);
    expect(reports).toEqual([]);

    await smsc.up();
    await until(() => reports.length === 1);
    expect(reports[0]).toMatchObject({ providerMessageId: result!.providerMessageId, messageKey: 'notice-1', state: 'delivered' });
    expect(channel.bindCount).toBe(2);
  });

  it('keeps the bind alive with enquire_link', async () => {
    const { smsc, sms: channel } = await setUp({}, { enquireLinkMs: 40 });
    expect(await channel.waitUntilBound(20_000)).toBe(true);
    await until(() => smsc.stats.enquireLinks >= 3);
    expect(channel.isBound).toBe(true);
    expect(smsc.stats.binds).toBe(1);
  });

  it('never submits the same messageKey twice, even when a batch is sent again', async () => {
    const { smsc, sms: channel } = await setUp({ silentPrefixes: ['138'] });
    const batch = [sms(1, '13800000001', 'a'), sms(2, '13800000002', 'b'), sms(1, '13800000001', 'a')];
    const first = await channel.send(batch);
    const second = await channel.send(batch);

    expect(second).toEqual(first);
    expect(smsc.stats.submits).toBe(2);
    expect(smsc.countByKey('notice-1')).toBe(1);
  });

  it('refuses a wrong password with a retryable error and keeps trying to bind', async () => {
    const { smsc, sms: channel } = await setUp({}, { password: 'wrong', bindWaitMs: 300 });
    const [result] = await channel.send([sms(1, '13800000001', 'a')]);
    expect(result!.error).toMatchObject({ code: 'CHANNEL_UNAVAILABLE', permanent: false });
    await until(() => smsc.stats.bindFailures >= 2);
    expect(channel.isBound).toBe(false);
    expect(smsc.stats.submits).toBe(0);
  });

  it.each([
    ['generic_nack ESME_RINVCMDID', 'generic_nack'],
    ['bind_transceiver_resp ESME_RBINDFAIL', 0x0d],
    ['bind_transceiver_resp ESME_RINVCMDID', 0x03],
  ] as const)('binds a transmitter + receiver pair when the SMSC answers bind_transceiver with %s, and still records receipts', async (_answer, transceiver) => {
    const { smsc, sms: channel, reports } = await setUp({ transceiver });
    expect(await channel.waitUntilBound(20_000)).toBe(true);
    await until(() => channel.isReceiverBound);
    expect(channel.bindMode).toBe('transmitter-receiver');
    expect(smsc.boundAs().sort()).toEqual(['receiver', 'transmitter']);

    const results = await channel.send([sms(1, '13800001234', '您的电费账单已出'), sms(2, '13800005678', 'Your bill is ready')]);
    await until(() => reports.length === 2);
    expect(results.every((r) => r.accepted)).toBe(true);
    expect(reports.map((r) => [r.messageKey, r.providerMessageId, r.state]).sort()).toEqual([
      ['notice-1', results[0]!.providerMessageId, 'delivered'],
      ['notice-2', results[1]!.providerMessageId, 'delivered'],
    ]);
    expect(smsc.stats.submits).toBe(2);
  });

  it('binds only the mode it is told to, and keeps the transceiver while the SMSC takes it', async () => {
    const refusing = await setUp({ transceiver: 'generic_nack' }, { bindMode: 'transceiver', bindWaitMs: 300 });
    await until(() => refusing.smsc.stats.bindFailures >= 3);
    expect(refusing.sms.isBound).toBe(false);
    expect(refusing.smsc.boundAs()).toEqual([]);

    const pair = await setUp({}, { bindMode: 'transmitter-receiver' });
    expect(await pair.sms.waitUntilBound(20_000)).toBe(true);
    await until(() => pair.sms.isReceiverBound);
    expect(pair.smsc.boundAs().sort()).toEqual(['receiver', 'transmitter']);

    const auto = await setUp();
    expect(await auto.sms.waitUntilBound(20_000)).toBe(true);
    expect([auto.sms.bindMode, auto.smsc.boundAs()]).toEqual(['transceiver', ['transceiver']]);
  });

  it('rejects a malformed number without touching the link', async () => {
    const { smsc, sms: channel } = await setUp();
    const [result] = await channel.send([sms(1, 'call me', 'a')]);
    expect(result!.error).toMatchObject({ code: 'CHANNEL_INVALID_RECIPIENT', permanent: true });
    expect(smsc.stats.submits).toBe(0);
  });
});

/**
 * A scripted SMSC built on the `smpp` package's server: the test decides every answer, so it can
 * reproduce what real SMSCs do (early receipts, throttling, unknown PDUs, unbind).
 */
async function scriptedSmsc(
  onSubmit: (pdu: SmppPdu, session: SmppSession, n: number) => void,
  serverOptions: { allowHalfOpen?: boolean } = {},
  channelOptions: Partial<SmppChannelOptions> = {},
) {
  const received: SmppPdu[] = [];
  const sessions: SmppSession[] = [];
  let submits = 0;
  const server = createSmppServer((session) => {
    sessions.push(session);
    session.on('error', () => session.destroy());
    session.on('pdu', (pdu: SmppPdu) => received.push(pdu));
    session.on('bind_transceiver', (pdu: SmppPdu) => session.send(pdu.response({ system_id: 'PEER' })));
    session.on('enquire_link', (pdu: SmppPdu) => session.send(pdu.response()));
    session.on('unbind', (pdu: SmppPdu) => session.send(pdu.response()));
    session.on('submit_sm', (pdu: SmppPdu) => onSubmit(pdu, session, ++submits));
  }, serverOptions);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  open.push({
    close: () =>
      new Promise<void>((r) => {
        for (const s of server.sessions) s.destroy();
        server.close(() => r());
      }),
  });
  const channel = createSmppChannel({
    host: '127.0.0.1', port, systemId: 'zt', password: 'pw', sourceAddr: '95598',
    reconnectMinMs: 50, reconnectMaxMs: 200, throttleBackoffMinMs: 20, throttleBackoffMaxMs: 80, ...channelOptions,
  });
  open.push(channel);
  const reports: DeliveryReport[] = [];
  channel.onReport((r) => reports.push(r));
  expect(await channel.waitUntilBound(20_000)).toBe(true);
  return { channel, reports, received, sessions, submitCount: () => submits };
}

function receiptPdu(fields: { text?: string; id?: string; state?: number; payload?: string }): SmppPdu {
  return makePdu('deliver_sm', {
    source_addr: '13800001234',
    destination_addr: '95598',
    esm_class: 0x04,
    short_message: fields.payload === undefined ? Buffer.from(fields.text ?? '', 'ascii') : Buffer.alloc(0),
    ...(fields.payload === undefined ? {} : { message_payload: Buffer.from(fields.payload, 'ascii') }),
    ...(fields.id === undefined ? {} : { receipted_message_id: fields.id }),
    ...(fields.state === undefined ? {} : { message_state: fields.state }),
  });
}

const appendixB = (id: string, stat = 'DELIVRD') =>
  `id:${id} sub:001 dlvrd:001 submit date:2601050100 done date:2601050101 stat:${stat} err:000 text:hello`;

describe('SMS over SMPP 3.4 against a scripted SMSC', () => {
  it('binds declaring SMPP 3.4 (interface_version 0x34)', async () => {
    const { received } = await scriptedSmsc(() => undefined);
    const bind = received.find((p) => p.command === 'bind_transceiver')!;
    expect(bind.interface_version).toBe(0x34);
  });

  it('answers a command it does not know with generic_nack ESME_RINVCMDID and keeps the link', async () => {
    const { channel, received, sessions } = await scriptedSmsc((pdu, session) =>
      session.send(pdu.response({ message_id: 'M1' })),
    );
    const unknown = Buffer.alloc(16);
    unknown.writeUInt32BE(16, 0);
    unknown.writeUInt32BE(0x00000999, 4);
    unknown.writeUInt32BE(77, 12);
    sessions[0]!.socket.write(unknown);
    await until(() => received.some((p) => p.command === 'generic_nack'));
    expect(received.find((p) => p.command === 'generic_nack')).toMatchObject({ sequence_number: 77, command_status: 0x03 });
    const [result] = await channel.send([sms(1, '13800001234', 'hello')]);
    expect(result).toMatchObject({ accepted: true, providerMessageId: 'M1' });
  });

  it('answers a mobile-originated UCS2 deliver_sm with deliver_sm_resp and reports nothing', async () => {
    const { received, sessions, reports } = await scriptedSmsc(() => undefined);
    sessions[0]!.send(makePdu('deliver_sm', {
      source_addr: '13800001234', destination_addr: '95598', esm_class: 0, data_coding: 8,
      short_message: Buffer.from('已缴费', 'utf16le').swap16(),
    }));
    await until(() => received.some((p) => p.command === 'deliver_sm_resp'));
    expect(received.find((p) => p.command === 'deliver_sm_resp')!.command_status).toBe(0);
    expect(reports).toEqual([]);
  });

  it('matches a receipt that arrives before the submit_sm_resp', async () => {
    const { channel, reports } = await scriptedSmsc((pdu, session) => {
      session.send(receiptPdu({ text: appendixB('E1') }));
      setTimeout(() => session.send(pdu.response({ message_id: 'E1' })), 20);
    });
    const [result] = await channel.send([sms(1, '13800001234', 'hello')]);
    expect(result).toMatchObject({ accepted: true, providerMessageId: 'E1' });
    await until(() => reports.length === 1);
    expect(reports[0]).toMatchObject({ messageKey: 'notice-1', providerMessageId: 'E1', state: 'delivered' });
  });

  it('matches receipt ids written in another letter case or without leading zeros', async () => {
    const ids = ['00A1B2C3', 'abcdef12'];
    const receiptIds = ['a1b2c3', 'ABCDEF12'];
    const { channel, reports } = await scriptedSmsc((pdu, session, n) => {
      session.send(pdu.response({ message_id: ids[n - 1] }));
      session.send(n === 2 ? receiptPdu({ id: receiptIds[n - 1], state: 2 }) : receiptPdu({ text: appendixB(receiptIds[n - 1]!) }));
    });
    const results = await channel.send([sms(1, '13800000001', 'a'), sms(2, '13800000002', 'b')]);
    expect(results.every((r) => r.accepted)).toBe(true);
    await until(() => reports.length === 2);
    expect(reports.map((r) => [r.messageKey, r.providerMessageId]).sort()).toEqual([['notice-1', '00A1B2C3'], ['notice-2', 'abcdef12']]);
  });

  it('matches receipt ids in the other base only where the SMSC is configured so, and never guesses', async () => {
    // decimal receipts of hex ids: 0x10 is 16, and "10" must not find the message whose id is "10"
    const hexIds = ['10', '0A1B2C3'];
    const decimal = await scriptedSmsc((pdu, session, n) => {
      session.send(pdu.response({ message_id: hexIds[n - 1] }));
      if (n === 2) for (const id of ['16', String(0xa1b2c3)]) session.send(receiptPdu({ text: appendixB(id) }));
    }, {}, { receiptIds: 'decimal-of-hex' });
    await decimal.channel.send([sms(1, '13800000001', 'a'), sms(2, '13800000002', 'b')]);
    await until(() => decimal.reports.length === 2);
    expect(decimal.reports.map((r) => [r.messageKey, r.providerMessageId]).sort()).toEqual([['notice-1', '10'], ['notice-2', '0A1B2C3']]);

    const hex = await scriptedSmsc((pdu, session) => {
      session.send(pdu.response({ message_id: '123456789' }));
      session.send(receiptPdu({ text: appendixB((123456789).toString(16).toUpperCase()) }));
    }, {}, { receiptIds: 'hex-of-decimal' });
    await hex.channel.send([sms(3, '13800000003', 'c')]);
    await until(() => hex.reports.length === 1);
    expect(hex.reports[0]).toMatchObject({ messageKey: 'notice-3', providerMessageId: '123456789' });

    // as submitted (the default): a decimal receipt id is that id, not a hex one read in decimal
    const plain = await scriptedSmsc((pdu, session, n) => {
      session.send(pdu.response({ message_id: n === 1 ? '10' : '16' }));
      if (n === 2) session.send(receiptPdu({ text: appendixB('16') }));
    });
    await plain.channel.send([sms(4, '13800000004', 'd'), sms(5, '13800000005', 'e')]);
    await until(() => plain.reports.length === 1);
    expect(plain.reports[0]).toMatchObject({ messageKey: 'notice-5', providerMessageId: '16' });
  });

  it.each([
    ['the Appendix B text stat:ACCEPTD', { text: 'id:A1 sub:001 dlvrd:000 submit date:2601050100 done date:2601050101 stat:ACCEPTD err:000 text:hello' }],
    ['the message_state TLV ACCEPTED (6)', { id: 'A1', state: 6 }],
  ] as const)('takes a receipt with %s as final and delivered (SMPP 3.4 §5.2.28: accepted on the subscriber\'s behalf)', async (_form, receipt) => {
    const { channel, reports } = await scriptedSmsc((pdu, session) => {
      session.send(pdu.response({ message_id: 'A1' }));
      session.send(receiptPdu(receipt));
    });
    await channel.send([sms(1, '13800001234', 'hello')]);
    await until(() => reports.length === 1);
    expect(reports[0]).toMatchObject({ messageKey: 'notice-1', providerMessageId: 'A1', state: 'delivered', detail: 'stat:ACCEPTD' + ('text' in receipt ? ' err:000' : '') });
  });

  it('reads a receipt whose text comes in message_payload', async () => {
    const { channel, reports } = await scriptedSmsc((pdu, session) => {
      session.send(pdu.response({ message_id: 'P1' }));
      session.send(receiptPdu({ payload: appendixB('P1', 'UNDELIV') }));
    });
    await channel.send([sms(1, '13800001234', 'hello')]);
    await until(() => reports.length === 1);
    expect(reports[0]).toMatchObject({ messageKey: 'notice-1', state: 'failed', detail: 'stat:UNDELIV err:000' });
  });

  it('backs off and resubmits after ESME_RTHROTTLED and ESME_RMSGQFUL, then is accepted', async () => {
    const at: number[] = [];
    const sequences: number[] = [];
    const { channel } = await scriptedSmsc((pdu, session, n) => {
      at.push(performance.now());
      sequences.push(pdu.sequence_number);
      session.send(n === 1 ? pdu.response({ command_status: 0x58 }) : n === 2 ? pdu.response({ command_status: 0x14 }) : pdu.response({ message_id: 'T1' }));
    });
    const [result] = await channel.send([sms(1, '13800001234', 'hello')]);
    expect(result).toMatchObject({ accepted: true, providerMessageId: 'T1' });
    expect(at).toHaveLength(3);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(15);
    expect(new Set(sequences).size).toBe(3);
  });

  it('gives up on a lasting throttle with a retryable error, and never retries a permanent one', async () => {
    const { channel, submitCount } = await scriptedSmsc((pdu, session) => {
      const to = String(pdu.destination_addr);
      session.send(pdu.response({ command_status: to.startsWith('170') ? 0x0b : 0x58 }));
    });
    const [throttled] = await channel.send([sms(1, '13800001234', 'hello')]);
    expect(throttled!.error).toMatchObject({ code: 'SMPP_ESME_RTHROTTLED', permanent: false });
    const before = submitCount();
    const [bad] = await channel.send([sms(2, '17000001234', 'hello')]);
    expect(bad!.error).toMatchObject({ code: 'SMPP_ESME_RINVDSTADR', permanent: true });
    expect(submitCount() - before).toBe(1);
  });

  it('maps a generic_nack answering a submit_sm to an error', async () => {
    const { channel } = await scriptedSmsc((pdu, session) =>
      session.send(makePdu('generic_nack', { sequence_number: pdu.sequence_number, command_status: 0x58 })),
    );
    const [result] = await channel.send([sms(1, '13800001234', 'hello')]);
    expect(result!.error).toMatchObject({ code: 'SMPP_ESME_RTHROTTLED', permanent: false });
  });

  it('answers the SMSC unbind, submits nothing more on that link, and binds again', async () => {
    // Like a real SMSC, this one closes its side a little after our unbind_resp, not at once.
    const { channel, received, sessions } = await scriptedSmsc(
      (pdu, session) => session.send(pdu.response({ message_id: `U${sessions.indexOf(session)}` })),
      { allowHalfOpen: true },
    );
    const first = sessions[0]!;
    first.socket.on('end', () => setTimeout(() => first.socket.end(), 100));
    first.send(makePdu('unbind'));
    await until(() => received.some((p) => p.command === 'unbind_resp'));
    const [result] = await channel.send([sms(1, '13800001234', 'hello')]);
    expect(result).toMatchObject({ accepted: true, providerMessageId: 'U1' });
    expect(channel.bindCount).toBe(2);
  });

  it('wraps the sequence number from 0x7FFFFFFF back to 1', async () => {
    const sequences: number[] = [];
    const { channel } = await scriptedSmsc((pdu, session) => {
      sequences.push(pdu.sequence_number);
      session.send(pdu.response({ message_id: `S${pdu.sequence_number}` }));
    });
    (channel as unknown as { session: { sequence: number } }).session.sequence = 0x7ffffffe;
    await channel.send([sms(1, '13800000001', 'a')]);
    await channel.send([sms(2, '13800000002', 'b')]);
    expect(sequences).toEqual([0x7fffffff, 1]);
  });
});
