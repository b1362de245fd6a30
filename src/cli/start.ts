import { setState, getState, type AppContext } from '../platform/index.ts';
import { countCustomers } from '../customers/index.ts';
import { seedProvince } from '../sim/seed.ts';
import { startRuntime } from '../sim/runtime.ts';
import { LiveClock } from '../sim/live-clock.ts';
import { DEFAULT_FAULTS } from '../sim/month.ts';
import { customersPay, gridManagersWork, teamsReRead } from '../sim/behaviour.ts';
import { runBusinessDay } from '../flows/business-day.ts';
import { openContext } from './context.ts';

export const DEMO_CUSTOMERS = 20_000;

/**
 * The main job: migrate, seed the demo province when the database is empty, then run the live province
 * on a simulated clock (a day every `secondsPerDay`): the API and web app, the Q/GDW 1376.1 front-end with
 * simulated concentrators, the channel simulators with the dispatcher, the day-end schedule, and the
 * simulated customers, teams and community managers. Ctrl-C stops it; the next start resumes.
 */
export async function start(opts: { customers: number; seed: number; secondsPerDay: number; startDate: string }): Promise<void> {
  const boot = await openContext();
  if ((await countCustomers(boot.db)) === 0) {
    boot.log.info(`seeding the demo province (${opts.customers} customers)…`);
    const r = await seedProvince(boot.database, { customers: opts.customers, seed: opts.seed, since: '2025-01-01' });
    boot.log.info(`seeded ${r.customers} customers in ${r.ms} ms`);
  }
  let tickCount = 0;
  let ctx: AppContext = boot;
  const live = await LiveClock.resume(boot.db, boot.log, { secondsPerDay: opts.secondsPerDay, startDate: opts.startDate }, {
    onDayEnd: async (day) => {
      await runtime.frontend?.collectDay(day);
      const r = await runBusinessDay(ctx, day);
      boot.log.info({ day, ms: r.ms, bills: r.billing, readSuccessRows: r.metering.rollupRows }, 'day closed');
    },
    // the people act every few simulated hours, not on every tick
    onTick: async () => {
      if (++tickCount % 4) return;
      await customersPay(ctx, opts.seed);
      await teamsReRead(ctx, opts.seed, opts.seed);
      await gridManagersWork(ctx, opts.seed);
    },
  });
  ctx = { ...boot, clock: live.clock };
  const firstDay = (await getState<string>(boot.db, 'live_start_day')) ?? opts.startDate;
  await setState(boot.db, 'live_start_day', firstDay);
  const runtime = await startRuntime(ctx, {
    port: ctx.config.port, host: ctx.config.host, seed: opts.seed,
    field: { frontendPort: Number(process.env.FRONTEND_PORT ?? 9001), faults: DEFAULT_FAULTS, startDay: firstDay },
  });
  live.start();
  boot.log.info(`ZeroTouch live demo on http://localhost:${ctx.config.port} — a simulated day every ${opts.secondsPerDay} s (Ctrl-C stops; the next start resumes)`);
  await new Promise<void>((resolve) => {
    // Ctrl-C reaches both tsx and this process (and tsx relays it): later signals must not kill the clean stop
    process.on('SIGINT', () => resolve());
    process.on('SIGTERM', () => resolve());
  });
  boot.log.info('stopping…');
  await live.stop();
  await runtime.stop();
  await boot.database.close();
}
