/**
 * The SMSC simulator in a worker thread: the operator's side of the SMPP link (decoding submits,
 * issuing receipts) runs on its own thread, as a real SMSC runs on its own hardware, so a benchmark
 * of the dispatcher measures the dispatcher. Same options as startSmsc; the counters and the
 * duplicate check are read from the worker on request.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { startSmsc, type SmscOptions, type SmscSimulator } from './smsc.ts';

type Request = { kind: 'stats' } | { kind: 'close' };
type FromWorker =
  | { kind: 'ready'; host: string; port: number; systemId: string; password: string }
  | { kind: 'stats'; stats: SmscSimulator['stats']; duplicateKeys: string[] }
  | { kind: 'closed' }
  | { kind: 'failed'; message: string };

export interface SmscWorker {
  host: string;
  port: number;
  systemId: string;
  password: string;
  /** The simulator's counters and the idempotency keys it received more than once. */
  snapshot(): Promise<{ stats: SmscSimulator['stats']; duplicateKeys: string[] }>;
  close(): Promise<void>;
}

export function startSmscWorker(options: SmscOptions = {}): Promise<SmscWorker> {
  // run as TypeScript under tsx: the worker thread registers tsx's loader before importing this module
  const worker = import.meta.url.endsWith('.ts')
    ? new Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(import.meta.url)}); })`, {
        eval: true,
        workerData: { smsc: options },
      })
    : new Worker(new URL(import.meta.url), { workerData: { smsc: options } });
  const waiting: Array<(m: FromWorker) => void> = [];
  return new Promise((resolve, reject) => {
    worker.on('error', reject);
    worker.on('message', (m: FromWorker) => {
      if (m.kind === 'failed') return reject(new Error(`SMSC simulator worker: ${m.message}`));
      if (m.kind !== 'ready') return waiting.shift()?.(m);
      const ask = <K extends FromWorker['kind']>(req: Request): Promise<Extract<FromWorker, { kind: K }>> =>
        new Promise((res) => {
          waiting.push(res as (m: FromWorker) => void);
          worker.postMessage(req);
        });
      resolve({
        host: m.host,
        port: m.port,
        systemId: m.systemId,
        password: m.password,
        snapshot: async () => {
          const s = await ask<'stats'>({ kind: 'stats' });
          return { stats: s.stats, duplicateKeys: s.duplicateKeys };
        },
        close: async () => {
          await ask<'closed'>({ kind: 'close' });
          await worker.terminate();
        },
      });
    });
  });
}

if (!isMainThread && parentPort && (workerData as { smsc?: SmscOptions } | undefined)?.smsc) {
  const port = parentPort;
  startSmsc((workerData as { smsc: SmscOptions }).smsc).then(
    (sim) => {
      port.on('message', (req: Request) => {
        if (req.kind === 'stats') port.postMessage({ kind: 'stats', stats: { ...sim.stats }, duplicateKeys: sim.duplicateKeys() } satisfies FromWorker);
        else void sim.close().then(() => port.postMessage({ kind: 'closed' } satisfies FromWorker));
      });
      port.postMessage({ kind: 'ready', host: sim.host, port: sim.port, systemId: sim.systemId, password: sim.password } satisfies FromWorker);
    },
    (e: unknown) => port.postMessage({ kind: 'failed', message: String(e) } satisfies FromWorker),
  );
}
