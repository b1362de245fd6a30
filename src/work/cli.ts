import type { Command } from 'commander';
import { output, withContext } from '../cli/context.ts';
import { escalateOverdueOrders } from './store/orders.repository.ts';
import { reassignForAbsences } from './store/task-flow.repository.ts';

/** The work commands of the zerotouch CLI: the periodic jobs of the task inbox and the 95598 desk. */
export function registerWorkCommands(program: Command): void {
  const work = program.command('work').description('task inbox, 95598 orders and new connections');
  work
    .command('escalate')
    .description('escalate every running 95598 order past its time limit (idempotent)')
    .option('--as-of <instant>', 'business time (default: now)')
    .option('--json', 'print the result as JSON')
    .action(async (o: { asOf?: string; json?: boolean }) => {
      await withContext({ asOf: o.asOf }, async (ctx) => {
        const n = await escalateOverdueOrders(ctx, ctx.clock.now());
        output(o.json, { escalated: n }, () => `${n} order(s) escalated`);
      });
    });
  work
    .command('reassign-absent')
    .description('move open tasks of staff absent today to their substitutes, and route those of staff no longer active again (idempotent)')
    .option('--as-of <instant>', 'business time (default: now)')
    .option('--json', 'print the result as JSON')
    .action(async (o: { asOf?: string; json?: boolean }) => {
      await withContext({ asOf: o.asOf }, async (ctx) => {
        const n = await reassignForAbsences(ctx.db, ctx.clock.now());
        output(o.json, { reassigned: n }, () => `${n} task(s) reassigned`);
      });
    });
}
