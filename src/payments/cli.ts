import type { Command } from 'commander';

/** The payments commands of the zerotouch CLI. */
export function registerPaymentsCommands(_program: Command): void {}
