import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { AppError, requireIsoDate, today } from '../platform/index.ts';
import { findCustomerByNumber } from '../customers/index.ts';
import { output, withContext } from '../cli/context.ts';
import { csvText } from './domain/csv.ts';
import { importPayments } from './store/import.repository.ts';
import { reconcileSettlement } from './store/reconciliation.repository.ts';
import { arrearsByAge, statementFor } from './store/statement.repository.ts';
import { issueChannelToken } from './store/channel-token.ts';

const CLI_ACTOR = 'cli';

function readFile(file: string, what: string): string {
  if (!fs.existsSync(file)) throw new AppError('FILE_NOT_FOUND', `no such file: ${file}`);
  return csvText(fs.readFileSync(file, 'utf8'), what);
}

/** The payments commands of the zerotouch CLI. Exit code 2 when rows were rejected or discrepancies found. */
export function registerPaymentsCommands(program: Command): void {
  const payments = program.command('payments').description('payments: import, reconcile, arrears, channel tokens');

  payments.command('import')
    .description('post the payments of a CSV file (channel,reference,customer_number,amount,currency,paid_on); bad rows are reported, the rest posted')
    .argument('<file>')
    .option('--channel <channel>', 'channel for rows without one')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, o: { channel?: string; json?: boolean }) => {
      const csv = readFile(file, 'file');
      await withContext({}, async (ctx) => {
        const r = await importPayments(ctx.db, ctx.clock, csv, CLI_ACTOR, { channel: o.channel });
        output(o.json, r, () => [`${r.rows} rows: ${r.posted} posted, ${r.duplicates} already posted, ${r.rejected.length} rejected`,
          ...r.rejected.map((x) => `  line ${x.line}${x.reference ? ` (${x.reference})` : ''}: ${x.code} ${x.reason}`)].join('\n'));
        if (r.rejected.length) process.exitCode = 2;
      });
    });

  payments.command('reconcile')
    .description("reconcile a bank's daily settlement CSV (reference,customer_number,amount[,currency][,paid_on]) against posted payments; posts the missing ones")
    .argument('<file>')
    .requiredOption('--channel <channel>', 'the channel the file settles')
    .requiredOption('--date <date>', 'settlement date YYYY-MM-DD')
    .option('--json', 'print the report as JSON')
    .action(async (file: string, o: { channel: string; date: string; json?: boolean }) => {
      const csv = readFile(file, 'settlement file');
      await withContext({}, async (ctx) => {
        const r = await reconcileSettlement(ctx.db, ctx.clock, { channel: o.channel, date: o.date, fileName: path.basename(file), csv, actor: CLI_ACTOR, scopePath: '/' });
        const x = r.run;
        output(o.json, r, () => [
          `reconciliation ${x.id} ${x.channel} ${x.settlementDate}: ${x.fileRows} rows, ${x.matched} matched, ${x.missingInLedger} missing in ledger (${x.posted} posted), ${x.missingInFile} missing in file, ${x.mismatched} mismatched, ${x.rejected} rejected`,
          ...r.items.map((i) => `  ${i.kind} ${i.reference ?? ''} file=${i.fileAmount ?? '-'} ledger=${i.ledgerAmount ?? '-'}${i.posted ? ' posted' : ''}${i.code ? ` ${i.code}` : ''}`),
        ].join('\n'));
        if (r.items.length) process.exitCode = 2;
      });
    });

  payments.command('arrears')
    .description('arrears by age band as of a date (whole province)')
    .option('--as-of <date>', 'business date (default today)')
    .option('--json', 'print as JSON')
    .action(async (o: { asOf?: string; json?: boolean }) => {
      if (o.asOf) requireIsoDate('REQUEST_INVALID', '--as-of', o.asOf);
      await withContext({ asOf: o.asOf }, async (ctx) => {
        const r = await arrearsByAge(ctx.db, o.asOf ?? today(ctx.clock), '/');
        output(o.json, r, () => [`arrears as of ${r.asOf}: ${r.total.customers} customers, ${r.total.outstanding} outstanding, ${r.total.lateFee} late fees`,
          ...r.bands.map((b) => `  ${b.band.padEnd(8)} ${String(b.items).padStart(8)} bills ${b.outstanding.padStart(16)} ${b.lateFee.padStart(12)}`)].join('\n'));
      });
    });

  payments.command('channel-token')
    .description('issue an API token for a channel integration (role payment_channel)')
    .argument('<channel>')
    .action(async (channel: string) => {
      await withContext({}, async (ctx) => { process.stdout.write(`${await issueChannelToken(ctx.db, channel)}\n`); });
    });

  program.command('statement')
    .description("a customer's statement: open bills, days overdue, late fee, total due, prepaid balance")
    .argument('<number>', '10-digit customer number')
    .option('--as-of <date>', 'business date (default today)')
    .option('--json', 'print as JSON')
    .action(async (number: string, o: { asOf?: string; json?: boolean }) => {
      if (o.asOf) requireIsoDate('REQUEST_INVALID', '--as-of', o.asOf);
      await withContext({ asOf: o.asOf }, async (ctx) => {
        const c = await findCustomerByNumber(ctx.db, number);
        if (!c) throw new AppError('CUSTOMER_UNKNOWN', `no customer ${number}`);
        const s = await statementFor(ctx.db, Number(c.id), o.asOf ?? today(ctx.clock));
        output(o.json, { customerNumber: c.number, name: c.name, ...s }, () => [
          `${c.number} ${c.name} — statement as of ${s.asOf}`,
          ...s.lines.map((l) => `  ${l.billNo.padEnd(14)} ${String(l.period ?? '').padEnd(8)} due ${l.dueDate} ${String(l.daysOverdue).padStart(4)}d  ${l.outstanding.padStart(12)} + fee ${l.lateFee.padStart(9)} = ${l.totalDue.padStart(12)}`),
          `  total due ${s.totalDue} (outstanding ${s.outstanding}, late fee ${s.lateFee}); prepaid ${s.prepaid}`,
        ].join('\n'));
      });
    });
}
