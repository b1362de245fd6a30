import { afterEach, describe, expect, it } from 'vitest';
import { createSmppChannel } from '../sms-smpp.ts';
import type { DeliveryReport } from '../types.ts';
import { startSmscWorker } from './smsc-worker.ts';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const resource of open.splice(0).reverse()) await resource.close();
});

describe('SMSC simulator in a worker thread', () => {
  it('accepts a bind and submits, sends the receipts, and reports its counters to the caller', async () => {
    const smsc = await startSmscWorker({ password: 'pw123456', receiptDelayMs: 1 });
    open.push(smsc);
    const sms = createSmppChannel({ host: smsc.host, port: smsc.port, systemId: smsc.systemId, password: smsc.password, sourceAddr: '95598' });
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
    const seen = await smsc.snapshot();
    expect(seen.stats.submits).toBe(2);
    expect(seen.stats.receiptsSent).toBeGreaterThanOrEqual(3);
    expect(seen.duplicateKeys).toEqual([]);
  });
});
