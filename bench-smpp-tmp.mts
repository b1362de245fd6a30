import { createSmppChannel } from './src/dunning/channels/sms-smpp.ts';
import { startSmsc } from './src/dunning/channels/sim/smsc.ts';
const smsc = await startSmsc({ receiptDelayMs: 0 });
const ch = createSmppChannel({ host: smsc.host, port: smsc.port, systemId: smsc.systemId, password: smsc.password, sourceAddr: '95598' });
await ch.waitUntilBound(5000);
let reports = 0; ch.onReport(() => reports++);
let k = 0;
for (const n of [1, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]) {
  reports = 0;
  const batch = Array.from({ length: n }, (_, i) => ({ messageKey: `k${k++}`, channel: 'sms' as const, to: `1380000${String(i % 10000).padStart(4, '0')}`, text: `【供电公司】您的电费账单已出，本期应缴 ${i}.50 元。` }));
  const t0 = performance.now();
  const res = await ch.send(batch);
  const t1 = performance.now();
  while (reports < n) await new Promise(r => setImmediate(r));
  const t2 = performance.now();
  console.log(n, 'submit', (t1 - t0).toFixed(0), 'ms; all receipts', (t2 - t0).toFixed(0), 'ms =>', Math.round(n / ((t2 - t0) / 1000)), '/s', res.every(r => r.accepted));
}
await ch.close(); await smsc.close();
