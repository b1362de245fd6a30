import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { testContext, type TestContext } from '../support/db.ts';
import { startMqttIngest } from '../../src/metering/index.ts';
import { meterRefs, readingOf, type MeterRef } from './support.ts';
import { sql } from 'kysely';

const BROKER = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';
let ctx: TestContext;
let meters: MeterRef[];
let sub: { stop(): Promise<void> };
const clientId = `zt-test-${process.pid}-${Date.now()}`;

beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: '2026-01-10T10:00:00+08:00' });
  meters = await meterRefs(ctx, 3);
  sub = await startMqttIngest(ctx, { url: BROKER, clientId });
});
afterAll(async () => {
  await sub?.stop();
  // the broker keeps the subscriber's session: end it, or it would queue readings for nobody
  await (await mqtt.connectAsync(BROKER, { clientId, clean: true })).endAsync();
  await ctx?.drop();
});

async function until<T>(probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out waiting for the MQTT reading');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('MQTT ingest', () => {
  it('a reading published on zerotouch/readings/# is stored; a bad payload is quarantined', async () => {
    const [a, b] = meters;
    const pub = await mqtt.connectAsync(BROKER);
    await pub.publishAsync('zerotouch/readings/headend-7', JSON.stringify({ meter: a!.commAddress, date: '2026-01-09', total: 321.25, peak: 100 }), { qos: 1 });
    await pub.publishAsync('zerotouch/readings/headend-7', JSON.stringify([{ meter: b!.commAddress, date: '2026-01-09', register: 'total', value: '42' }]), { qos: 1 });
    await pub.publishAsync('zerotouch/readings/headend-7', 'garbage{', { qos: 1 });
    await pub.endAsync();
    const stored = await until(async () => readingOf(ctx, b!.id, '2026-01-09'));
    expect(stored).toMatchObject({ total_kwh: '42.0000', source: 'mqtt' });
    expect(await readingOf(ctx, a!.id, '2026-01-09')).toMatchObject({ total_kwh: '321.2500', peak_kwh: '100.0000' });
    const q = await until(async () => (await sql<{ reason: string }>`SELECT reason FROM reading_quarantine WHERE source = 'mqtt'`.execute(ctx.db)).rows[0]);
    expect(q.reason).toBe('unparseable');
  });

  it('readings published while the subscriber is away are stored when it comes back', async () => {
    const c = meters[2]!;
    await sub.stop();
    const pub = await mqtt.connectAsync(BROKER);
    await pub.publishAsync('zerotouch/readings/headend-7', JSON.stringify({ meter: c.commAddress, date: '2026-01-09', total: 77 }), { qos: 1 });
    await pub.endAsync();
    expect(await readingOf(ctx, c.id, '2026-01-09')).toBeUndefined();
    sub = await startMqttIngest(ctx, { url: BROKER, clientId });
    expect(await until(async () => readingOf(ctx, c.id, '2026-01-09'))).toMatchObject({ total_kwh: '77.0000', source: 'mqtt' });
  });
});
