import mqtt from 'mqtt';
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

/**
 * Subscribe to head-end readings on the broker and ingest them in small batches, one batch at a time.
 * A message that is not JSON is quarantined as unparseable; nothing stops the subscriber but stop().
 */
export async function startMqttIngest(ctx: AppContext, opts: MqttIngestOptions): Promise<{ stop(): Promise<void> }> {
  // the broker hands over what it kept for the session right after accepting it: listen before that
  const client = mqtt.connect(opts.url, { clientId: opts.clientId ?? 'zerotouch-ingest', clean: false, reconnectPeriod: 1000 });
  const batchMs = opts.batchMs ?? 50;
  let pending: StageRow[] = [];
  let timer: NodeJS.Timeout | null = null;
  let chain: Promise<void> = Promise.resolve();
  const flush = () => {
    timer = null;
    const rows = pending;
    pending = [];
    if (!rows.length) return;
    chain = chain
      .then(() => ingestStaged(ctx, 'mqtt', rows, { origin: 'mqtt' }))
      .then((r) => opts.onBatch?.(r))
      .catch((err) => ctx.log.error({ err }, 'mqtt readings batch failed'));
  };

  client.on('message', (topic, payload) => {
    const got = messageRows(payload);
    if (Array.isArray(got)) for (const r of got) pending.push(objectToStage(pending.length + 1, r));
    else pending.push(unparseableStage(pending.length + 1, got.text, `${topic}: ${got.unparseable}`));
    timer ??= setTimeout(flush, batchMs);
  });
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
      await client.endAsync();
      if (timer) clearTimeout(timer);
      flush();
      await chain;
    },
  };
}
