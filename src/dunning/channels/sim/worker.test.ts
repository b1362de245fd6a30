import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmailChannel } from '../email-smtp.ts';
import { createSmppChannel } from '../sms-smpp.ts';
import type { DeliveryReport } from '../types.ts';
import { startChannelSimulatorsWorker } from './worker.ts';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const resource of open.splice(0).reverse()) await resource.close();
});

describe('channel simulators in a worker thread', () => {
  it('accept a bind and submits, send the receipts, take mail, and report their counters to the caller', async () => {
    const sims = await startChannelSimulatorsWorker({ smsc: { password: 'pw123456', receiptDelayMs: 1 }, smtp: { rejectDomains: ['invalid.example'] } });
    open.push(sims);
    const sms = createSmppChannel({ host: sims.smsc.host, port: sims.smsc.port, systemId: sims.smsc.systemId, password: sims.smsc.password, sourceAddr: '95598' });
    open.push(sms);
    const reports: DeliveryReport[] = [];
    sms.onReport((r) => reports.push(r));
    expect(await sms.waitUntilBound(5_000)).toBe(true);
    const long = '尊敬的客户，您的电费账单已出，请及时缴纳。'.repeat(5);
    const results = await sms.send([
      { messageKey: 'w-1', channel: 'sms', to: '13800000001', text: 'Your bill is ready.' },
      { messageKey: 'w-2', channel: 'sms', to: '13800000002', text: long },
    ]);
    expect(results.map((r) => r.accepted)).toEqual([true, true]);
    const deadline = performance.now() + 10_000;
    while (reports.length < 2 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(reports.map((r) => [r.messageKey, r.state]).sort()).toEqual([['w-1', 'delivered'], ['w-2', 'delivered']]);

    const email = createEmailChannel({ host: sims.smtp.host, port: sims.smtp.port, from: 'billing@power.example' });
    open.push(email);
    const mails = await email.send([
      { messageKey: 'm-1', channel: 'email', to: 'u1@mail.example', subject: '电费通知', text: '请缴费' },
      { messageKey: 'm-2', channel: 'email', to: 'u2@invalid.example', subject: '电费通知', text: '请缴费' },
    ]);
    expect(mails.map((r) => [r.accepted, r.error?.code])).toEqual([[true, undefined], [false, 'SMTP_REJECTED']]);

    const seen = await sims.snapshot();
    expect(seen.smsc.submits).toBe(2);
    expect(seen.smsc.receiptsSent).toBeGreaterThanOrEqual(3);
    expect(seen.duplicateSmsKeys).toEqual([]);
    expect(seen.smtp).toMatchObject({ received: 1, rejectedRecipients: 1 });
    expect(seen.ivr.received).toBe(0);
  });

  it('start from any working directory (`zerotouch start` may run anywhere)', async () => {
    const cwd = process.cwd();
    process.chdir(os.tmpdir());
    try {
      const sims = await startChannelSimulatorsWorker();
      open.push(sims);
      expect((await sims.snapshot()).smsc.binds).toBe(0);
    } finally {
      process.chdir(cwd);
    }
  });
});
