import type { Command } from 'commander';
import { addDays, today, type Clock } from '../platform/index.ts';
import { output, withContext } from '../cli/context.ts';
import { ingestReadingsFile } from './ingest/file.ts';
import { startMqttIngest } from './ingest/mqtt.ts';
import { rollupReadSuccess } from './store/read-success.repository.ts';
import { loadMeteringPolicy } from './store/policy.repository.ts';
import { estimateCycleReadings, runVeeRules } from './store/vee.repository.ts';
import { runMeteringDay } from '../flows/metering-day.ts';
import { enterManualReading } from '../flows/metering-reread.ts';

/** `program.command(name)` unless another context already made that group (e.g. `ingest`). */
function group(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

/** The metering commands of the zerotouch CLI. */
export function registerMeteringCommands(program: Command): void {
  group(program, 'ingest', 'load data files from other systems')
    .command('readings')
    .description('ingest a head-end export of readings (CSV with header, or JSON lines; detected); bad rows are quarantined')
    .argument('<file>')
    .option('--as-of <date>', 'business time: rows dated that day or later are quarantined (a day\'s register freezes at midnight after it)')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, o: { asOf?: string; json?: boolean }) => {
      await withContext({ asOf: o.asOf }, async (ctx) => {
        const r = await ingestReadingsFile(ctx, file);
        output(o.json, r, () => [
          `${file} (${r.format}): stored ${r.stored}, quarantined ${r.quarantined}`,
          ...Object.entries(r.byReason).map(([k, n]) => `  ${k}: ${n}`),
        ].join('\n'));
      });
    });

  // the reading day a command works on: the one named, else yesterday (a day's registers freeze at midnight after it)
  const readingDay = (ctx: { clock: Clock }, asOf: string | undefined) => (asOf ? today(ctx.clock) : addDays(today(ctx.clock), -1));

  const metering = group(program, 'metering', 'collection monitoring, VEE and re-reads');
  metering
    .command('rollup')
    .description('daily read-success rollup per transformer area, concentrator, team and org unit')
    .option('--as-of <date>', 'business date (default today)')
    .option('--day <date>', 'reading day to roll up (default: the as-of date, or yesterday without one: today has not frozen yet)')
    .option('--json', 'print the result as JSON')
    .action(async (o: { asOf?: string; day?: string; json?: boolean }) => {
      await withContext({ asOf: o.asOf }, async (ctx) => {
        const day = o.day ?? readingDay(ctx, o.asOf);
        const started = performance.now();
        const rows = await rollupReadSuccess(ctx.db, day, ctx.clock.now());
        const ms = Math.round(performance.now() - started);
        output(o.json, { day, rows, ms }, () => `read success for ${day}: ${rows} scope rows in ${ms} ms`);
      });
    });

  metering
    .command('day')
    .description('the daily metering flow: rollup, VEE and estimates, re-read tasks')
    .option('--as-of <date>', 'business date = the reading day (default yesterday: the last day whose registers have frozen)')
    .option('--json', 'print the result as JSON')
    .action(async (o: { asOf?: string; json?: boolean }) => {
      await withContext({ asOf: o.asOf }, async (ctx) => {
        const r = await runMeteringDay(ctx, readingDay(ctx, o.asOf));
        output(o.json, r, () => JSON.stringify(r, null, 2));
      });
    });

  metering
    .command('mqtt')
    .description('subscribe to zerotouch/readings/# and ingest until interrupted')
    .option('--url <url>', 'broker', 'mqtt://127.0.0.1:1883')
    .option('--client-id <id>', 'the session the broker keeps for readings sent while this subscriber is away', 'zerotouch-ingest')
    .action(async (o: { url: string; clientId: string }) => {
      await withContext({}, async (ctx) => {
        const sub = await startMqttIngest(ctx, { url: o.url, clientId: o.clientId, onBatch: (r) => process.stdout.write(`stored ${r.stored}, quarantined ${r.quarantined}\n`) });
        process.stderr.write(`listening on ${o.url} zerotouch/readings/#\n`);
        await new Promise<void>((resolve) => process.once('SIGINT', resolve).once('SIGTERM', resolve));
        await sub.stop();
      });
    });

  program
    .command('vee')
    .description('validate a day of readings (reverse, spike, stuck, zero streak, tariff sum, clock) and estimate missing cycle readings')
    .option('--as-of <date>', 'the reading day (default yesterday: the last day whose registers have frozen)')
    .option('--json', 'print the result as JSON')
    .action(async (o: { asOf?: string; json?: boolean }) => {
      await withContext({ asOf: o.asOf }, async (ctx) => {
        const day = readingDay(ctx, o.asOf);
        const policy = await loadMeteringPolicy(ctx.db);
        const flags = await runVeeRules(ctx.db, day, ctx.clock.now(), policy);
        const estimated = await estimateCycleReadings(ctx.db, day, ctx.clock.now(), policy);
        output(o.json, { day, flags, estimated }, () =>
          `VEE ${day}: new flags ${Object.entries(flags).map(([k, n]) => `${k} ${n}`).join(', ')}; estimated ${estimated.interpolated} interpolated, ${estimated.extrapolated} extrapolated`);
      });
    });

  group(program, 'reread', 'on-site re-reads (补抄)')
    .command('enter')
    .description('enter an on-site reading: stored as re_read, closes the meter re-read task')
    .requiredOption('--meter <address>', 'DL/T 645 address (12 digits) or asset number')
    .requiredOption('--date <date>', 'reading date')
    .option('--total <kwh>').option('--sharp <kwh>').option('--peak <kwh>').option('--flat <kwh>').option('--valley <kwh>')
    .option('--by <who>', 'who read it', 'cli')
    .option('--as-of <date>', 'business time')
    .option('--json', 'print the result as JSON')
    .action(async (o: { meter: string; date: string; total?: string; sharp?: string; peak?: string; flat?: string; valley?: string; by: string; asOf?: string; json?: boolean }) => {
      await withContext({ asOf: o.asOf }, async (ctx) => {
        const r = await enterManualReading(ctx, {
          meter: o.meter, date: o.date, values: { total: o.total, sharp: o.sharp, peak: o.peak, flat: o.flat, valley: o.valley }, enteredBy: o.by,
        });
        output(o.json, r, () => `meter ${r.commAddress} ${r.date}: stored as re_read; ${r.tasksClosed} re-read task(s) closed`);
      });
    });
}
