import type { Command } from 'commander';
import { withContext } from '../cli/context.ts';
import { addDays, today } from '../platform/index.ts';
import { loadFleet } from './concentrator-fleet.ts';
import { parseFaultRates, randomFaults } from './concentrator-faults.ts';
import { startConcentratorSimulator } from './concentrators.ts';
import { startFrontend, type Frontend } from '../metering/frontend/index.ts';

/** `zerotouch sim …`: simulators that stand in for the field. */
export function registerSimCommands(program: Command): void {
  const sim = program.command('sim').description('simulators of the field (concentrators and meters)');
  sim
    .command('concentrators')
    .description('connect the seeded province\'s concentrators to the front-end over TCP and answer its reads from the meter model')
    .option('--count <n>', 'how many concentrators (first by id; default all)', (v) => Number(v), 0)
    .option('--host <h>', 'front-end host', '127.0.0.1')
    .option('--port <n>', 'front-end port', (v) => Number(v), 9001)
    .option('--seed <s>', 'meter model and fault seed', (v) => Number(v), 1)
    .option('--faults <spec>', 'e.g. unreachable=0.01:3 (1% of the meters unreachable on any day, in spells of 3 days),offline=0.005:3 (0.5% of the concentrators out of service on any day, repaired after 3 days),drop=0.001,mute=0.001 (shares of the concentrators),drift=0.001:30 (share of meters, minutes),backwards=0.001:50 (share of meters, kWh),corrupt=0.02 (share of reply frames)')
    .option('--heartbeat-ms <n>', 'heartbeat period', (v) => Number(v), 60_000)
    .option('--as-of <date>', 'pin business time (default: system clock)')
    .option('--with-frontend', 'also run the front-end in this process (the way to demo on embedded PGlite, which one process owns)')
    .option('--collect <day>', 'with --with-frontend: collect this day once every concentrator has logged in')
    .action(async (o: { count: number; host: string; port: number; seed: number; faults?: string; heartbeatMs: number; asOf?: string; withFrontend?: boolean; collect?: string }) => {
      await withContext({ asOf: o.asOf }, async (ctx) => {
        const fe: Frontend | null = o.withFrontend ? await startFrontend(ctx, { port: o.port, host: o.host }) : null;
        const fleet = await loadFleet(ctx.db, { count: o.count });
        const faults = randomFaults(fleet, parseFaultRates(o.faults), o.seed, addDays(today(ctx.clock), -1));
        const s = startConcentratorSimulator({ host: o.host, port: o.port, concentrators: fleet, seed: o.seed, faults, clock: ctx.clock, heartbeatMs: o.heartbeatMs, log: ctx.log });
        await s.ready;
        process.stderr.write(`${JSON.stringify(s.stats())}\n`);
        if (fe && o.collect) {
          const r = await fe.collectDay(o.collect);
          process.stdout.write(`collected ${r.day}: ${r.read}/${r.meters} meters from ${r.concentrators} concentrators, ${r.missing} missing, ${(r.ms / 1000).toFixed(1)} s\n`);
        }
        const report = setInterval(() => process.stderr.write(`${JSON.stringify(s.stats())}\n`), 10_000);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        });
        clearInterval(report);
        await s.stop();
        await fe?.stop();
      });
    });
}
