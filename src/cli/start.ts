import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KyselyPlugin } from 'kysely';
import { addDays, AppError, setState, getState, type AppContext, type Database, type Logger, type Session } from '../platform/index.ts';
import { countCustomers } from '../customers/index.ts';
import { addMonths, cyclesReadOn } from '../billing/index.ts';
import { seedProvince } from '../sim/seed.ts';
import { startRuntime, type Runtime } from '../sim/runtime.ts';
import { LiveClock } from '../sim/live-clock.ts';
import { DEFAULT_FAULTS } from '../sim/month.ts';
import { crewsSwitchSupply, customersPay, gridManagersWork, teamsReRead } from '../sim/behaviour.ts';
import { runBusinessDay } from '../flows/business-day.ts';
import { sendRemoteSwitches } from '../flows/dunning-remote-switch.ts';
import { reconnectAfterPayment } from '../flows/dunning-suspension.ts';
import { openContext } from './context.ts';

export const DEMO_CUSTOMERS = 20_000;

/**
 * Ctrl-C / SIGTERM, listened to from the first moment of the main job: a signal during start-up lets
 * the current step finish and then stops cleanly instead of killing the process half-way through a write.
 * Repeated signals (a terminal sends Ctrl-C to every process of the group, impatient users press it
 * again) never cut the clean stop short.
 */
function stopSignal(log: () => Logger | undefined): { requested: () => boolean; wait: Promise<string> } {
  let signal: string | undefined;
  let resolve!: (s: string) => void;
  const wait = new Promise<string>((r) => (resolve = r));
  const on = (s: NodeJS.Signals) => {
    if (signal) {
      log()?.info(`${s} again: still stopping (the day in progress finishes first)…`);
      return;
    }
    signal = s;
    // written at once, so the user sees the stop begin even while the last day-end is still running
    log()?.info({ signal: s }, 'stopping…');
    resolve(s);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return { requested: () => signal !== undefined, wait };
}

const since = (t: number) => Math.round(performance.now() - t);

/**
 * The database as the simulated day's work sees it: once `cut()` is called every further query, COPY,
 * script or session of that work fails (STOPPING), so a day-end left behind by Ctrl-C ends at its next
 * statement instead of holding the database while the services stop. Its transaction rolls back and
 * the next start runs the day again.
 */
function cuttable(database: Database): { database: Database; cut: () => void } {
  let cut = false;
  const check = () => {
    if (cut) throw new AppError('STOPPING', 'the live demo is stopping');
  };
  const plugin: KyselyPlugin = {
    transformQuery: (a) => {
      check();
      return a.node;
    },
    transformResult: async (a) => a.result,
  };
  const session = (s: Session): Session => ({
    db: s.db.withPlugin(plugin),
    copyFrom: async (t, c, r) => {
      check();
      return s.copyFrom(t, c, r);
    },
  });
  return {
    database: {
      ...database,
      ...session(database),
      exec: async (script) => {
        check();
        return database.exec(script);
      },
      session: async (fn) => {
        check();
        return database.session((s) => fn(session(s)));
      },
    },
    cut: () => void (cut = true),
  };
}

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');

/**
 * The web app is built by `npm install` (the prepare script), never at start: a build takes longer than
 * the whole start-up. Without it the server shows a status page, so say what to do.
 */
function checkWebApp(log: Logger): void {
  const index = path.join(WEB, 'dist/index.html');
  if (!fs.existsSync(index)) {
    log.warn('the web app is not built (web/dist is missing): run `npm run build:web`; until then http://localhost shows a status page');
    return;
  }
  const newest = (dir: string): number => fs.readdirSync(dir, { withFileTypes: true })
    .reduce((m, e) => Math.max(m, e.isDirectory() ? newest(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).mtimeMs), 0);
  if (fs.existsSync(path.join(WEB, 'src')) && newest(path.join(WEB, 'src')) > fs.statSync(index).mtimeMs) {
    log.warn('web/dist is older than web/src: run `npm run build:web` to serve the current web app');
  }
}

/**
 * A cycle's first bill in a new demo runs from its reading day of the month before the demo started,
 * which no live day has read: the day to fetch from the concentrators' history (their frozen registers
 * go back months) before the day-end of `day`, or none.
 */
async function historyFor(ctx: AppContext, day: string, firstDay: string): Promise<string | undefined> {
  const endOfPreviousMonth = addDays(`${day.slice(0, 7)}-01`, -1);
  const sameDay = `${addMonths(day.slice(0, 7), -1)}${day.slice(7)}`;
  const previousReading = sameDay < endOfPreviousMonth ? sameDay : endOfPreviousMonth;
  if (previousReading >= firstDay || !(await cyclesReadOn(ctx.db, Number(day.slice(8, 10)))).length) return undefined;
  return previousReading;
}

/**
 * The main job: migrate, seed the demo province when the database is empty, then run the live province
 * on a simulated clock (a day every `secondsPerDay`): the API and web app, the Q/GDW 1376.1 front-end with
 * simulated concentrators, the channel simulators with the dispatcher, the day-end schedule, and the
 * simulated customers, teams and community managers. Ctrl-C stops it; the next start resumes.
 */
export async function start(opts: { customers: number; seed: number; secondsPerDay: number; startDate: string }): Promise<void> {
  const t0 = performance.now();
  let boot: AppContext | undefined;
  const stop = stopSignal(() => boot?.log);
  boot = await openContext();
  const log = boot.log;
  checkWebApp(log);
  const phases: Record<string, number> = { openAndMigrateMs: since(t0) };
  let runtime: Runtime | undefined;
  let live: LiveClock | undefined;
  const gate = cuttable(boot.database);
  try {
    if (!stop.requested() && (await countCustomers(boot.db)) === 0) {
      const t = performance.now();
      log.info(`seeding the demo province (${opts.customers} customers)…`);
      const r = await seedProvince(boot.database, { customers: opts.customers, seed: opts.seed, since: '2025-01-01' });
      phases.seedMs = since(t);
      log.info({ customers: r.customers, ms: r.ms }, `seeded ${r.customers} customers in ${r.ms} ms`);
    }
    if (stop.requested()) return;

    let tickCount = 0;
    let ctx: AppContext = boot;
    // the simulated day's work (day-end, people) on a database it can be cut off from at stop
    let work: AppContext = { ...boot, database: gate.database, db: gate.database.db };
    const firstDay = (await getState<string>(boot.db, 'live_start_day')) ?? opts.startDate;
    const clock = await LiveClock.resume(boot.db, log, { secondsPerDay: opts.secondsPerDay, startDate: opts.startDate }, {
      onDayEnd: async (day) => {
        const history = runtime?.frontend && (await historyFor(work, day, firstDay));
        if (history) {
          await runtime!.frontend!.collectDay(history);
          log.info({ day: history }, `read ${history} from the concentrators' history: the first bills of the cycles read on ${day} start there`);
        }
        await runtime?.frontend?.collectDay(day);
        const r = await runBusinessDay(work, day);
        // the relay orders the dunning run queued for cost-control meters go out through their concentrators
        const switches = runtime?.frontend ? await sendRemoteSwitches(work, runtime.frontend) : null;
        log.info({ day, ms: r.ms, bills: r.billing, readSuccessRows: r.metering.rollupRows, switches }, 'day closed');
      },
      onTick: async () => {
        // supply comes back within 24 h of payment, whenever and through whichever channel it was paid:
        // every tick (one index read when nothing is suspended), its relay orders sent at once
        if ((await reconnectAfterPayment(work)) && runtime?.frontend) await sendRemoteSwitches(work, runtime.frontend);
        // the people act every few simulated hours, not on every tick
        if (++tickCount % 4) return;
        await customersPay(work, opts.seed);
        await teamsReRead(work, opts.seed, opts.seed);
        await gridManagersWork(work, opts.seed);
        await crewsSwitchSupply(work, opts.seed, opts.seed);
      },
    });
    live = clock;
    ctx = { ...boot, clock: clock.clock };
    work = { ...work, clock: clock.clock };
    await setState(boot.db, 'live_start_day', firstDay);
    log.info({ now: clock.clock.now().toISOString(), lastDayDone: clock.lastDayDone }, clock.resumed ? `resuming the live clock after ${clock.lastDayDone}` : `a new live clock from ${opts.startDate}`);

    const t = performance.now();
    runtime = await startRuntime(ctx, {
      port: ctx.config.port, host: ctx.config.host, seed: opts.seed,
      field: { frontendPort: Number(process.env.FRONTEND_PORT ?? 9001), faults: DEFAULT_FAULTS, startDay: firstDay },
    });
    phases.servicesMs = since(t);
    log.info({ ...runtime.startMs }, `services up in ${phases.servicesMs} ms`);
    if (stop.requested()) return;
    clock.start();
    log.info({ ...phases, readyMs: since(t0), engine: boot.database.engine },
      `ZeroTouch live demo on http://localhost:${ctx.config.port} — a simulated day every ${opts.secondsPerDay} s (Ctrl-C stops; the next start resumes)`);
    await stop.wait;
  } finally {
    const t = performance.now();
    const steps: Record<string, number> = {};
    const step = async (name: string, fn: () => Promise<void>) => {
      const s = performance.now();
      try {
        await fn();
      } catch (err) {
        log.error({ err }, `stop: ${name} failed`);
      }
      steps[name] = since(s);
    };
    if (live) {
      await step('clockMs', async () => {
        const { leftBehind, abandonedDay } = await live!.stop();
        if (leftBehind) gate.cut();
        if (abandonedDay) log.info({ day: abandonedDay }, `the day-end of ${abandonedDay} is still running: left behind, the next start runs that day again`);
      });
    }
    if (runtime) await step('servicesMs', () => runtime!.stop());
    await step('databaseMs', () => boot!.database.close());
    log.info({ ...steps, ms: since(t), lastDayDone: live?.lastDayDone }, live ? `stopped after ${live.lastDayDone}; the next start resumes from there` : 'stopped');
  }
}
