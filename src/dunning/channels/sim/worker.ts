/**
 * The channel simulators in a worker thread: the providers' side of every channel (the SMSC decoding
 * submits and issuing receipts, the mail server, the IVR and cable-TV platforms calling back) runs on
 * its own thread, as a real provider runs on its own machines, so the dispatcher's thread does only
 * the dispatcher's work. Same options as startChannelSimulators; the counters are read on request.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { moduleWorker } from '../../../platform/worker.ts';
import { simulatorCounters, startChannelSimulators, type ChannelEndpoints, type ChannelSimulatorOptions, type SimulatorCounters } from './index.ts';
import type { SmtpWebhook } from './smtp.ts';

export interface ChannelSimulatorsWorker extends ChannelEndpoints {
  snapshot(): Promise<SimulatorCounters>;
  close(): Promise<void>;
}

type Ask = { kind: 'snapshot' } | { kind: 'webhook'; webhook: SmtpWebhook } | { kind: 'close' };
type Request = Ask & { id: number };
type FromWorker =
  | { kind: 'ready'; endpoints: Omit<ChannelEndpoints, 'smtp'> & { smtp: { host: string; port: number } } }
  | { kind: 'answer'; id: number; counters?: SimulatorCounters }
  | { kind: 'failed'; message: string };

export function startChannelSimulatorsWorker(options: ChannelSimulatorOptions = {}): Promise<ChannelSimulatorsWorker> {
  const worker = moduleWorker(import.meta.url, { channelSimulators: options });
  type Answer = Extract<FromWorker, { kind: 'answer' }>;
  const waiting = new Map<number, { resolve: (m: Answer) => void; reject: (e: Error) => void }>();
  let stopped: Error | undefined;
  let nextId = 1;
  const ask = (req: Ask) =>
    new Promise<Answer>((resolve, reject) => {
      if (stopped) return reject(stopped);
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      worker.postMessage({ ...req, id });
    });
  // a worker that dies fails what waits on it, so nobody waits for ever (a stop would hang)
  const stop = (e: Error) => {
    stopped ??= e;
    for (const w of waiting.values()) w.reject(stopped);
    waiting.clear();
  };
  worker.on('exit', (code) => stop(new Error(`channel simulators worker exited (${code})`)));
  return new Promise((resolve, reject) => {
    worker.on('error', (e) => {
      stop(e);
      reject(e);
    });
    worker.on('message', (m: FromWorker) => {
      if (m.kind === 'failed') return reject(new Error(`channel simulators worker: ${m.message}`));
      if (m.kind === 'answer') {
        waiting.get(m.id)?.resolve(m);
        waiting.delete(m.id);
        return;
      }
      const { smtp, ...rest } = m.endpoints;
      resolve({
        ...rest,
        // the webhook message reaches the worker before any mail the caller sends after this call
        smtp: { ...smtp, configure: ({ webhook }) => void ask({ kind: 'webhook', webhook }).catch(() => undefined) },
        snapshot: async () => (await ask({ kind: 'snapshot' })).counters!,
        close: async () => {
          if (!stopped) await ask({ kind: 'close' }).catch(() => undefined);
          await worker.terminate();
        },
      });
    });
  });
}

if (!isMainThread && parentPort && (workerData as { channelSimulators?: ChannelSimulatorOptions } | undefined)?.channelSimulators) {
  const port = parentPort;
  startChannelSimulators((workerData as { channelSimulators: ChannelSimulatorOptions }).channelSimulators).then(
    (sims) => {
      port.on('message', (req: Request) => {
        const answer = (counters?: SimulatorCounters) => port.postMessage({ kind: 'answer', id: req.id, ...(counters ? { counters } : {}) } satisfies FromWorker);
        if (req.kind === 'snapshot') {
          answer(simulatorCounters(sims));
        } else if (req.kind === 'webhook') {
          sims.smtp.configure({ webhook: req.webhook });
          answer();
        } else void sims.close().then(() => answer(), () => answer());
      });
      const { smsc, smtp, ivr, catv, smtpWebhookSecret } = sims;
      port.postMessage({
        kind: 'ready',
        endpoints: {
          smsc: { host: smsc.host, port: smsc.port, systemId: smsc.systemId, password: smsc.password },
          smtp: { host: smtp.host, port: smtp.port },
          ivr: { url: ivr.url, secret: ivr.secret },
          catv: { url: catv.url, secret: catv.secret },
          smtpWebhookSecret,
        },
      } satisfies FromWorker);
    },
    (e: unknown) => port.postMessage({ kind: 'failed', message: String(e) } satisfies FromWorker),
  );
}
