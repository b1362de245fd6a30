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

const burstClientId = `${clientId}-burst`;

beforeAll(async () => {
  ctx = await testContext({ customers: 300, now: '2026-01-10T10:00:00+08:00' });
  meters = await meterRefs(ctx, 300);
  sub = await startMqttIngest(ctx, { url: BROKER, clientId });
});
afterAll(async () => {
  await sub?.stop();
  // the broker keeps the subscribers' sessions: end them, or it would queue readings for nobody
  for (const id of [clientId, burstClientId]) await (await mqtt.connectAsync(BROKER, { clientId: id, clean: true })).endAsync();
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

/**
 * The database refuses to store the readings of `meter` (an outage, as the ingest sees it) until `allow()`;
 * `attempts()` counts the stores it refused (a sequence: it counts across the rolled-back transactions).
 */
async function refuseReadingsOf(meter: MeterRef): Promise<{ attempts(): Promise<number>; allow(): Promise<void> }> {
  const name = `refuse_${meter.id}`;
  await sql.raw(`
    CREATE SEQUENCE ${name}_attempts;
    CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM nextval('${name}_attempts'); RAISE EXCEPTION 'the database is not taking readings'; END $$;
    CREATE TRIGGER ${name} BEFORE INSERT OR UPDATE ON meter_reading FOR EACH ROW WHEN (NEW.meter_id = ${meter.id}) EXECUTE FUNCTION ${name}();`).execute(ctx.db);
  return {
    attempts: async () => (await sql<{ n: number }>`SELECT CASE WHEN is_called THEN last_value ELSE 0 END::int AS n FROM ${sql.table(`${name}_attempts`)}`.execute(ctx.db)).rows[0]!.n,
    allow: async () => {
      await sql.raw(`DROP TRIGGER ${name} ON meter_reading; DROP FUNCTION ${name}(); DROP SEQUENCE ${name}_attempts;`).execute(ctx.db);
    },
  };
}

describe('MQTT ingest: a reading is acknowledged once stored', () => {
  it('a batch the database refused is not acknowledged and is stored once the database takes it', async () => {
    const m = meters[3]!;
    const refused = await refuseReadingsOf(m);
    try {
      const pub = await mqtt.connectAsync(BROKER);
      await pub.publishAsync('zerotouch/readings/headend-7', JSON.stringify({ meter: m.commAddress, date: '2026-01-09', total: 88 }), { qos: 1 });
      await pub.endAsync();
      await until(async () => ((await refused.attempts()) > 0 ? true : undefined));
      expect(await readingOf(ctx, m.id, '2026-01-09')).toBeUndefined();
    } finally {
      await refused.allow();
    }
    expect(await until(async () => readingOf(ctx, m.id, '2026-01-09'))).toMatchObject({ total_kwh: '88.0000', source: 'mqtt' });
  });

  it('a subscriber stopped before its batch was stored leaves the reading with the broker, which delivers it to the next one', async () => {
    const m = meters[4]!;
    const refused = await refuseReadingsOf(m);
    try {
      const pub = await mqtt.connectAsync(BROKER);
      await pub.publishAsync('zerotouch/readings/headend-7', JSON.stringify({ meter: m.commAddress, date: '2026-01-09', total: 99.5 }), { qos: 1 });
      await pub.endAsync();
      await until(async () => ((await refused.attempts()) > 0 ? true : undefined));
      // the consumer goes away with the reading received and not stored (as in a crash: nothing acknowledged it)
      await sub.stop();
    } finally {
      await refused.allow();
    }
    expect(await readingOf(ctx, m.id, '2026-01-09')).toBeUndefined();
    sub = await startMqttIngest(ctx, { url: BROKER, clientId });
    expect(await until(async () => readingOf(ctx, m.id, '2026-01-09'))).toMatchObject({ total_kwh: '99.5000', source: 'mqtt' });
  });

  it('acknowledging after the store keeps the batches: a burst of messages is stored a few batches at a time, not one by one', async () => {
    const topic = `zerotouch-test/${burstClientId}`;
    const batches: number[] = [];
    const burst = await startMqttIngest(ctx, { url: BROKER, clientId: burstClientId, topic: `${topic}/#`, onBatch: (r) => batches.push(r.stored) });
    try {
      const pub = await mqtt.connectAsync(BROKER);
      await Promise.all(meters.map((m, i) => pub.publishAsync(`${topic}/headend-${i % 4}`, JSON.stringify({ meter: m.commAddress, date: '2026-01-08', total: 10 + i }), { qos: 1 })));
      await pub.endAsync();
      const stored = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM meter_reading WHERE reading_date = '2026-01-08' AND source = 'mqtt'`.execute(ctx.db)).rows[0]!.n;
      await until(async () => (batches.reduce((a, b) => a + b, 0) === meters.length ? true : undefined));
      expect(await stored()).toBe(meters.length);
      expect(batches.length).toBeLessThan(meters.length / 10);
    } finally {
      await burst.stop();
    }
  });
});
