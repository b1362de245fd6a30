/**
 * The running province: the API and web app, the channel simulators with a notice dispatcher, and
 * (for the live demo) the collection front-end with simulated concentrators talking Q/GDW 1376.1
 * over TCP. `npm start` and `zerotouch simulate` both run on it.
 */
import type { FastifyInstance } from 'fastify';
import { keepStatistics, type AppContext } from '../platform/index.ts';
import { buildApp } from '../http/app.ts';
import { channelsFor, startChannelSimulatorsWorker, startDispatcher, type ChannelSimulatorsWorker, type Dispatcher } from '../dunning/index.ts';
import { startFrontend, type Frontend } from '../metering/frontend/index.ts';
import { BOUNCING_EMAIL_DOMAIN, UNREACHABLE_MOBILE_PREFIX } from './province.ts';
import { startConcentratorSimulator, type ConcentratorSimulator } from './concentrators.ts';
import { loadFleet } from './concentrator-fleet.ts';
import { parseFaultRates, randomFaults } from './concentrator-faults.ts';

export interface RuntimeOptions {
  port: number;
  host?: string;
  seed: number;
  /** Start the TCP front-end and concentrator simulators (the live demo); headless runs ingest files instead. */
  field?: { frontendPort: number; faults: string; startDay: string };
  dispatcherBatch?: number;
}

export interface Runtime {
  app: FastifyInstance;
  url: string;
  sims: ChannelSimulatorsWorker;
  dispatcher: Dispatcher;
  frontend?: Frontend;
  concentrators?: ConcentratorSimulator;
  /** How long each part took to start (ms), for the start-up figures. */
  startMs: Record<string, number>;
  stop(): Promise<void>;
}

/**
 * The channel simulators with the demo's faults (unassigned mobiles, bouncing mailboxes, unanswered
 * calls), on a thread of their own as the providers' systems would be.
 */
export async function startChannelsForDemo(seed: number): Promise<ChannelSimulatorsWorker> {
  return startChannelSimulatorsWorker({
    smsc: { unassignedPrefixes: [UNREACHABLE_MOBILE_PREFIX], unassignedMode: 'undeliverable', receiptDelayMs: 20 },
    smtp: { rejectDomains: [BOUNCING_EMAIL_DOMAIN] },
    ivr: { seed, callbackDelayMs: 30, rules: { byPrefix: [{ prefix: UNREACHABLE_MOBILE_PREFIX, outcome: 'failed' }], ratios: { answered: 0.75, no_answer: 0.18, busy: 0.07 } } },
    catv: { seed, callbackDelayMs: 30, rules: { ratios: { delivered: 0.95, failed: 0.05 } } },
  });
}

export async function startRuntime(ctx: AppContext, opts: RuntimeOptions): Promise<Runtime> {
  const startMs: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    startMs[name] = Math.round(performance.now() - t);
    t = performance.now();
  };
  const app = await buildApp(ctx);
  await app.listen({ port: opts.port, host: opts.host ?? '0.0.0.0' });
  lap('http');
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const url = `http://127.0.0.1:${port}`;
  const sims = await startChannelsForDemo(opts.seed);
  const channels = channelsFor(sims, `${url}/api/v1/channels/callbacks`, { now: () => ctx.clock.now() });
  const statistics = keepStatistics(ctx.db, { onError: (err) => ctx.log.warn({ err }, 'statistics not refreshed') });
  const dispatcher = startDispatcher(ctx, { channels: channels.all, name: 'demo-dispatcher', batchSize: opts.dispatcherBatch ?? 500 });
  lap('channels');

  let frontend: Frontend | undefined;
  let concentrators: ConcentratorSimulator | undefined;
  if (opts.field) {
    // collection is driven by the day-end schedule (collectDay), so the front-end's own timer is off
    frontend = await startFrontend(ctx, { port: opts.field.frontendPort, host: '127.0.0.1', scheduleEveryMs: 0 });
    lap('frontend');
    const fleet = await loadFleet(ctx.db);
    const faults = randomFaults(fleet, parseFaultRates(opts.field.faults), opts.seed, opts.field.startDay);
    lap('fleet');
    concentrators = startConcentratorSimulator({ host: '127.0.0.1', port: frontend.port, concentrators: fleet, faults, seed: opts.seed, clock: ctx.clock, log: ctx.log, reconnectMs: 2000 });
    await concentrators.ready;
    lap('concentratorsOnline');
  }

  return {
    app, url, sims, dispatcher, frontend, concentrators, startMs,
    async stop() {
      await concentrators?.stop();
      await frontend?.stop();
      await dispatcher.stop();
      await channels.close();
      await sims.close();
      await app.close();
      await statistics.stop();
    },
  };
}
