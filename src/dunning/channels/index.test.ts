import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHANNEL_ROUTES_PREFIX,
  channelCallbackRoutes,
  channelsFor,
  renderNotice,
  startChannelSimulators,
  type ChannelSet,
  type ChannelSimulators,
  type DeliveryReport,
  type OutboundMessage,
} from './index.ts';

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('every channel against its simulator, wired by startChannelSimulators + channelsFor', () => {
  let sims: ChannelSimulators;
  let channels: ChannelSet | undefined;
  const app = Fastify();
  const reports: DeliveryReport[] = [];

  beforeAll(async () => {
    await app.register(channelCallbackRoutes((kind) => channels?.callbackChannels.find((c) => c.kind === kind)), {
      prefix: CHANNEL_ROUTES_PREFIX,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };

    sims = await startChannelSimulators({ ivr: { rules: { byNumber: { '13900000009': 'no_answer' } } } });
    channels = channelsFor(sims, `http://127.0.0.1:${port}${CHANNEL_ROUTES_PREFIX}/callbacks`);
    for (const channel of channels.all) channel.onReport((r) => reports.push(r));
  });

  afterAll(async () => {
    await channels?.close();
    await sims?.close();
    await app.close();
  });

  it('sends one overdue notice on each channel and gets each outcome back', async () => {
    const notice = renderNotice('overdue_1', {
      customerNumber: '2100123489',
      customerName: '张三明',
      amount: 12_345n,
      dueDate: '2024-07-15',
      lateFee: '1.00',
      payChannels: ['wechat', 'alipay'],
      billUrl: 'https://pay.example/b/42',
    });
    const base = { subject: notice.subject, text: notice.text };
    const messages: OutboundMessage[] = [
      { ...base, messageKey: 'n-sms', channel: 'sms', to: '13800000001' },
      { ...base, messageKey: 'n-email', channel: 'email', to: 'zhang@mail.example', html: notice.html },
      { ...base, messageKey: 'n-voice', channel: 'voice', to: '13900000009', text: notice.speech },
      { ...base, messageKey: 'n-catv', channel: 'catv', to: 'STB0001', text: notice.speech },
    ];

    const results = await Promise.all(messages.map((m) => channels!.byKind(m.channel).send([m])));
    await until(() => reports.length >= 4);

    expect(results.flat().map((r) => r.accepted)).toEqual([true, true, true, true]);
    const byKey = Object.fromEntries(reports.map((r) => [r.messageKey, `${r.channel}:${r.state}`]));
    expect(byKey).toEqual({ 'n-sms': 'sms:delivered', 'n-email': 'email:delivered', 'n-voice': 'voice:no_answer', 'n-catv': 'catv:delivered' });
    expect(sims.smsc.messages[0]!.text).toBe(notice.text);
    expect(sims.smtp.received[0]!.html).toContain('<strong>124.45 元</strong>');
    expect(sims.ivr.requests[0]!.body.script).toBe(notice.speech);
  });

  it('reports a bounced email through the webhook the simulators were wired with', async () => {
    const [result] = await channels!.email.send([{ messageKey: 'n-bounce', channel: 'email', to: 'gone@bounce.example', subject: 's', text: 't' }]);
    await until(() => reports.some((r) => r.messageKey === 'n-bounce' && r.state === 'failed'));

    expect(result!.accepted).toBe(true);
    // 'delivered' (accepted by the receiving server) may precede the bounce; 'failed' is last.
    expect(reports.filter((r) => r.messageKey === 'n-bounce').at(-1)).toMatchObject({
      providerMessageId: result!.providerMessageId,
      state: 'failed',
    });
  });
});
