import type { Command } from 'commander';
import { withContext } from '../../cli/context.ts';
import { startFrontend } from './server.ts';

const untilSignal = () =>
  new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });

/** `zerotouch frontend`: the concentrator front-end, until Ctrl-C. */
export function registerFrontendCommands(program: Command): void {
  program
    .command('frontend')
    .description('run the Q/GDW 1376.1 front-end: concentrators log in over TCP, daily frozen readings are collected after midnight')
    .option('--port <n>', 'TCP port', (v) => Number(v), 9001)
    .option('--host <h>', 'listen address', '0.0.0.0')
    .option('--as-of <date>', 'pin business time (default: system clock)')
    .option('--collect <day>', 'collect this day from every concentrator online after --wait seconds, then keep serving')
    .option('--wait <s>', 'seconds to wait for logins before --collect', (v) => Number(v), 10)
    .option('--timeout-ms <n>', 'per-request reply timeout', (v) => Number(v), 10_000)
    .option('--retries <n>', 'remote re-read rounds for points that did not answer', (v) => Number(v), 2)
    .action(async (o: { port: number; host: string; asOf?: string; collect?: string; wait: number; timeoutMs: number; retries: number }) => {
      await withContext({ asOf: o.asOf }, async (ctx) => {
        const fe = await startFrontend(ctx, { port: o.port, host: o.host, collect: { requestTimeoutMs: o.timeoutMs, retries: o.retries } });
        process.stderr.write(`front-end listening on ${o.host}:${fe.port}\n`);
        const report = setInterval(() => {
          const s = fe.status();
          process.stderr.write(`  online ${s.online}/${s.connections}, frames in ${s.framesIn} out ${s.framesOut}, bad ${JSON.stringify(s.frameErrors)}, readings stored ${s.readingsStored}\n`);
        }, 10_000);
        if (o.collect) {
          await new Promise((r) => setTimeout(r, o.wait * 1000));
          const r = await fe.collectDay(o.collect);
          process.stdout.write(`collected ${r.day}: ${r.read}/${r.meters} meters from ${r.concentrators} concentrators, ${r.missing} missing, ${(r.ms / 1000).toFixed(1)} s\n`);
        }
        await untilSignal();
        clearInterval(report);
        await fe.stop();
      });
    });
}
