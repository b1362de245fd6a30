import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import type { AppContext } from '../../platform/index.ts';
import { objectToStage, unparseableStage, type StageRow } from '../domain/raw-reading.ts';
import { ingestStaged, type IngestResult } from './ingest.ts';

export const READINGS_TOPIC = 'zerotouch/readings/#';

export interface MqttIngestOptions {
  url: string;
  topic?: string;
  /** Messages arriving within this window are ingested as one batch. */
  batchMs?: number;
  /**
   * The subscriber's session at the broker (default "zerotouch-ingest"). The session is kept while
   * the subscriber is away, so the head-end's QoS 1 readings of that time are delivered when it is
   * back; one ingest service per client id (a second one with the same id takes the session over).
   */
  clientId?: string;
  /** How long the broker keeps the session of a subscriber that is away (seconds; default: for good). */
  sessionExpirySeconds?: number;
  /**
   * QoS 1 messages the broker may have delivered and not yet seen acknowledged (MQTT 5 Receive Maximum,
   * default 4096). A message is acknowledged once its batch is stored, so this bounds the messages held
   * here; a batch is closed at half of it, so the broker goes on sending while a batch is stored.
   */
  receiveMaximum?: number;
  onBatch?: (result: IngestResult) => void;
}

/** The rows of one message: a JSON object, an array of them, or `{ readings: [...] }`. */
export function messageRows(payload: Buffer): unknown[] | { unparseable: string; text: string } {
  const text = payload.toString('utf8');
  try {
    const v = JSON.parse(text) as unknown;
    if (Array.isArray(v)) return v;
    if (v && typeof v === 'object' && Array.isArray((v as { readings?: unknown }).readings)) return (v as { readings: unknown[] }).readings;
    return [v];
  } catch (e) {
    return { unparseable: (e as Error).message, text };
  }
}

/** A QoS 1 message taken into a batch, acknowledged on the connection it came by once the batch is stored. */
interface Delivery {
  stream: MqttClient['stream'];
  messageId: number;
}

interface Batch {
  rows: StageRow[];
  deliveries: Delivery[];
}

// a failed batch is stored again after 1 s, then 2, 4 … at most 30 s apart, until it goes in or the subscriber stops
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

/** Told to the client library for a message taken into a batch: it sends no PUBACK for it (see below). */
class AcknowledgedAfterStore extends Error {}

/**
 * Subscribe to head-end readings on the broker and ingest them in small batches, one batch at a time.
 * A message that is not JSON is quarantined as unparseable; nothing stops the subscriber but stop().
 *
 * A QoS 1 message is acknowledged (PUBACK) only once the batch holding it is stored: until then the broker
 * keeps it in the subscriber's session, so a crash, a lost connection or a failed store loses no reading (the
 * broker delivers it again, and storing it again changes nothing). mqtt.js handles incoming packets one at
 * a time and sends the PUBACK when the handler's callback returns, before reading the next packet; waiting
 * there for the store would take one message per database round trip (customHandleAcks, MQTT 5, runs in the
 * same place). So the handler takes the message into the batch and answers with an error, for which mqtt.js
 * sends no PUBACK and goes on reading (its answer to a handler that could not take a message); the PUBACKs
 * of a batch are written after its store, in the order the messages came (MQTT-4.6.0-2). MQTT 5's Receive
 * Maximum tells the broker how many may wait: over MQTT 3.1.1 the broker's own limit holds (Mosquitto: 20),
 * and it would stop sending while each batch waits for its timer.
 */
export async function startMqttIngest(ctx: AppContext, opts: MqttIngestOptions): Promise<{ stop(): Promise<void> }> {
  const receiveMaximum = opts.receiveMaximum ?? 4096;
  // the broker hands over what it kept for the session right after accepting it: handle messages before that
  const client = mqtt.connect(opts.url, {
    clientId: opts.clientId ?? 'zerotouch-ingest', clean: false, reconnectPeriod: 1000, protocolVersion: 5,
    properties: { sessionExpiryInterval: opts.sessionExpirySeconds ?? 0xffffffff, receiveMaximum },
  });
  const batchMs = opts.batchMs ?? 50;
  const batchMessages = Math.max(1, Math.floor(receiveMaximum / 2));
  let batch: Batch = { rows: [], deliveries: [] };
  let timer: NodeJS.Timeout | null = null;
  let chain: Promise<void> = Promise.resolve();
  let stopping = false;
  let wakeRetry: (() => void) | null = null;

  const store = async (b: Batch) => {
    for (let wait = RETRY_FIRST_MS; ; wait = Math.min(2 * wait, RETRY_MAX_MS)) {
      try {
        const result = b.rows.length ? await ingestStaged(ctx, 'mqtt', b.rows, { origin: 'mqtt' }) : null;
        acknowledge(b.deliveries);
        if (result) opts.onBatch?.(result);
        return;
      } catch (err) {
        ctx.log.error({ err, messages: b.deliveries.length }, 'mqtt readings batch failed; not acknowledged, stored again later');
      }
      // a stopped subscriber leaves the batch to the broker, which delivers it to the next one
      if (stopping) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, wait);
        wakeRetry = () => (clearTimeout(t), resolve());
      });
      wakeRetry = null;
      if (stopping) return;
    }
  };
  // a PUBACK of a message that came by an earlier connection stays unsent: the broker delivers the message again
  // on the new one, and that copy is acknowledged
  const acknowledge = (deliveries: Delivery[]) => {
    for (const d of deliveries) {
      if (!client.connected || client.stream !== d.stream || d.stream.destroyed) continue;
      // PUBACK with Remaining Length 2: the packet identifier, reason Success, no properties (MQTT 5 3.4.2.1; MQTT 3.1.1 too)
      d.stream.write(Buffer.from([0x40, 0x02, d.messageId >> 8, d.messageId & 0xff]));
    }
  };
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    const b = batch;
    batch = { rows: [], deliveries: [] };
    if (!b.rows.length && !b.deliveries.length) return;
    chain = chain.then(() => store(b));
  };

  // QoS 0 has no acknowledgement; the subscription's QoS 1 is the most the broker delivers at, so no QoS 2 flow comes here
  client.handleMessage = (packet: IPublishPacket, callback) => {
    const later = packet.qos === 1 && packet.messageId !== undefined;
    // after stop() a message is not taken: unacknowledged, it stays with the broker for the next subscriber
    if (stopping) return callback(later ? new AcknowledgedAfterStore('the subscriber is stopping') : undefined);
    const got = messageRows(Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
    const rows = batch.rows;
    if (Array.isArray(got)) for (const r of got) rows.push(objectToStage(rows.length + 1, r));
    else rows.push(unparseableStage(rows.length + 1, got.text, `${packet.topic}: ${got.unparseable}`));
    if (later) batch.deliveries.push({ stream: client.stream, messageId: packet.messageId! });
    if (batch.deliveries.length >= batchMessages) flush();
    else timer ??= setTimeout(flush, batchMs);
    callback(later ? new AcknowledgedAfterStore('acknowledged once stored') : undefined);
  };
  client.on('error', (err) => ctx.log.warn({ err }, 'mqtt readings subscriber error'));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
  await client.subscribeAsync(opts.topic ?? READINGS_TOPIC, { qos: 1 });

  return {
    async stop() {
      stopping = true;
      flush();
      wakeRetry?.();
      await chain;
      await client.endAsync();
    },
  };
}
