/**
 * The concentrator simulator in a worker thread: the field's side of the link (meter model, frame
 * encoding) runs on its own thread, as real concentrators run on their own hardware, so a benchmark
 * of the front-end measures the front-end. Same options as startConcentratorSimulator, except the
 * business clock (a snapshot: the worker's clock starts at `now` and does not follow the caller's).
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { moduleWorker, SimulatedClock } from '../platform/index.ts';
import { startConcentratorSimulator, type ConcentratorSimulatorOptions, type ConcentratorSimulatorStats } from './concentrators.ts';

type WorkerOptions = Omit<ConcentratorSimulatorOptions, 'clock' | 'log'> & { now: string };

type FromWorker = { kind: 'ready' } | { kind: 'stopped'; stats: ConcentratorSimulatorStats } | { kind: 'failed'; message: string };

export interface ConcentratorSimulatorWorker {
  /** Resolves once every concentrator that is meant to connect has had its login answered. */
  ready: Promise<void>;
  /** Log every terminal out, end the worker and give its final counters. */
  stop(): Promise<ConcentratorSimulatorStats>;
}

export function startConcentratorSimulatorWorker(opts: WorkerOptions): ConcentratorSimulatorWorker {
  const worker = moduleWorker(import.meta.url, opts);
  let stopped: ((s: ConcentratorSimulatorStats) => void) | null = null;
  let failed: (e: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    failed = reject;
    worker.on('message', (m: FromWorker) => {
      if (m.kind === 'ready') resolve();
      else if (m.kind === 'stopped') stopped?.(m.stats);
      else reject(new Error(`concentrator simulator worker: ${m.message}`));
    });
  });
  worker.on('error', (e) => failed(e));
  return {
    ready,
    stop: () =>
      new Promise<ConcentratorSimulatorStats>((resolve, reject) => {
        stopped = (stats) => {
          void worker.terminate().then(() => resolve(stats), reject);
        };
        worker.postMessage('stop');
      }),
  };
}

if (!isMainThread && parentPort && (workerData as WorkerOptions | undefined)?.now) {
  const port = parentPort;
  const { now, ...options } = workerData as WorkerOptions;
  const sim = startConcentratorSimulator({ ...options, clock: new SimulatedClock(now) });
  sim.ready.then(
    () => port.postMessage({ kind: 'ready' } satisfies FromWorker),
    (e: unknown) => port.postMessage({ kind: 'failed', message: String(e) } satisfies FromWorker),
  );
  port.on('message', () => {
    void sim.stop().then(() => port.postMessage({ kind: 'stopped', stats: sim.stats() } satisfies FromWorker));
  });
}
