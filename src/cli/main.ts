#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { isAppError } from '../platform/index.ts';
import { registerCommands } from './commands.ts';

const program = new Command('zerotouch')
  .description('ZeroTouch: meter-to-cash for electricity utilities — no manual reading, no manual dunning')
  .showHelpAfterError()
  .exitOverride();

registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  if (isAppError(e)) {
    process.stderr.write(`error ${e.code}: ${e.message}\n`);
    process.exit(e.status >= 500 ? 3 : 2);
  }
  process.stderr.write(`error: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
}
