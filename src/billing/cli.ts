import type { Command } from 'commander';
import { output, withContext } from '../cli/context.ts';
import { requireChunkSize, runBilling, runToDto } from './runs.ts';

/** The billing commands of the zerotouch CLI. */
export function registerBillingCommands(program: Command): void {
  program
    .command('bill')
    .description('run (or resume) the billing run of a cycle and period: rate, review and release bills')
    .requiredOption('--cycle <code>', 'billing cycle (C01, C11, C21)')
    .requiredOption('--period <YYYY-MM>', 'bill period; it ends on the cycle reading day of that month')
    .option('--as-of <date>', 'pin business time (issue date, due date)')
    .option('--chunk <n>', 'customers per committed chunk', (v) => requireChunkSize(v))
    .option('--json', 'print the run as JSON')
    .action(async (o: { cycle: string; period: string; asOf?: string; chunk?: number; json?: boolean }) => {
      await withContext({ asOf: o.asOf }, async (ctx) => {
        const run = await runBilling(ctx, {
          cycle: o.cycle, period: o.period, chunkSize: o.chunk, startedBy: 'cli',
          onProgress: (r) => !o.json && process.stderr.write(`  ${r.status}: ${r.chunks_done} chunk(s), ${r.bills_created} bills, ${r.bills_held} held\n`),
        });
        const d = runToDto(run);
        output(o.json, d, () =>
          `run ${d.id} ${d.cycle} ${d.period} ${d.status}: ${d.customersTotal} customers, ${d.billsCreated} bills, ${d.billsHeld} held, ` +
          `${d.billsReleased} released, ${d.customersSkipped} skipped (no reading, meter or tariff)`);
      });
    });
}
