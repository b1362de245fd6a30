import type { Command } from 'commander';
import { AppError, requireIsoDate } from '../platform/index.ts';
import { output, withContext } from '../cli/context.ts';
import { runDunning } from '../flows/dunning-run.ts';
import { reconnectAfterPayment } from '../flows/dunning-suspension.ts';
import { findCustomerByNumber } from '../customers/index.ts';
import { customerNotices } from './store/queries.repository.ts';

/** The dunning commands of the zerotouch CLI. */
export function registerDunningCommands(program: Command): void {
  program
    .command('dun')
    .description('daily dunning run: bill notices, the chase step due for every account, escalations (idempotent per day)')
    .requiredOption('--as-of <date>', 'business date YYYY-MM-DD (Asia/Shanghai)')
    .option('--json', 'print the result as JSON')
    .action(async (o: { asOf: string; json?: boolean }) => {
      requireIsoDate('DUNNING_DATE_INVALID', '--as-of', o.asOf);
      await withContext({ asOf: o.asOf }, async (ctx) => {
        const r = await runDunning(ctx, o.asOf);
        output(o.json, r, () => [
          `dunning run ${r.asOf} in ${(r.ms / 1000).toFixed(1)} s`,
          ...r.notices.map((n) => `  ${n.step.padEnd(18)} ${n.status.padEnd(11)} ${n.n}`),
          `  cancelled (paid)   ${r.cancelled}`,
          `  manual collection  ${r.manualCollection}`,
          `  suspended          remote ${r.suspended.remote}, field ${r.suspended.field}`,
          `  reconnect          ${r.reconnected}`,
          `  contact checks     ${r.contactVerification}`,
        ].join('\n'));
      });
    });

  program
    .command('dun-reconnect')
    .description('reconnect (复电) the suspended customers whose debt is paid, between daily runs: a few ms, safe to schedule every few minutes')
    .option('--json', 'print the result as JSON')
    .action(async (o: { json?: boolean }) => {
      await withContext({}, async (ctx) => {
        const reconnected = await reconnectAfterPayment(ctx);
        output(o.json, { reconnected }, () => `reconnect requested for ${reconnected} suspended customer(s)`);
      });
    });

  program
    .command('dun-notices')
    .description("a customer's notices with every delivery attempt")
    .argument('<number>', 'customer number')
    .option('--json', 'print as JSON')
    .action(async (number: string, o: { json?: boolean }) => {
      await withContext({}, async (ctx) => {
        const c = await findCustomerByNumber(ctx.db, number);
        if (!c) throw new AppError('CUSTOMER_UNKNOWN', `no customer ${number}`, 404);
        const items = await customerNotices(ctx.db, Number(c.id));
        output(o.json, items, () => items.map((n) =>
          `${n.createdOn} ${n.step.padEnd(18)} ${n.status.padEnd(10)} ${n.amount.padStart(10)}  ${n.attempts.map((a) => `${a.channel}:${a.status}`).join(' ') || '-'}`,
        ).join('\n') || 'no notices');
      });
    });
}
