import { createEmailChannel } from './src/dunning/channels/email-smtp.ts';
import { startSmtp } from './src/dunning/channels/sim/smtp.ts';
const smtp = await startSmtp();
for (const conns of [5, 20]) {
const email = createEmailChannel({ host: smtp.host, port: smtp.port, from: 'b@power.example', maxConnections: conns });
for (const n of [200, 500]) {
  const batch = Array.from({ length: n }, (_, i) => ({ messageKey: `c${conns}-${n}-${i}`, channel: 'email' as const, to: `u${i}@mail.example`, subject: '电费账单', text: 'x', html: '<p>x</p>' }));
  const t0 = performance.now();
  const r = await email.send(batch);
  console.log(conns, n, (performance.now() - t0).toFixed(0), 'ms', r.every(x => x.accepted));
}
await email.close();
}
await smtp.close();
