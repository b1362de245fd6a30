import type { Command } from 'commander';
import { addDays, isIsoDate, today } from '../platform/index.ts';
import { output, withContext } from '../cli/context.ts';
import { computeKpis, type KpiRunResult } from './store/kpi-rollup.ts';

/** The monitoring commands of the zerotouch CLI. */
export function registerMonitoringCommands(program: Command): void {
  program
    .command('kpi')
    .description('roll the KPIs up over the hierarchy and the teams for a business day (default: yesterday)')
    .option('--as-of <date>', 'business day to compute (and business time)')
    .option('--days <n>', 'also recompute the n-1 days before it', (v) => Number(v), 1)
    .option('--json', 'print the result as JSON')
    .action(async (o: { asOf?: string; days: number; json?: boolean }) => {
      if (o.asOf && !isIsoDate(o.asOf)) {
        process.stderr.write(`--as-of: not a date YYYY-MM-DD: ${o.asOf}\n`);
        process.exitCode = 2;
        return;
      }
      await withContext({ asOf: o.asOf }, async (ctx) => {
        const last = o.asOf ?? addDays(today(ctx.clock), -1);
        const results: KpiRunResult[] = [];
        for (let i = Math.max(1, o.days) - 1; i >= 0; i--) {
          const r = await computeKpis(ctx, addDays(last, -i));
          results.push(r);
          if (!o.json) process.stderr.write(`  ${r.day}: ${r.rowsWritten} rows in ${r.ms} ms\n`);
        }
        output(o.json, results, () => results.map((r) =>
          `${r.day}: ${r.rowsWritten} KPI rows (${r.families.join(', ')})${r.skipped.length ? `; skipped until their tables exist: ${r.skipped.join(', ')}` : ''}`).join('\n'));
      });
    });
}
