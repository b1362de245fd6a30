import type { Command } from 'commander';

/** The billing commands of the zerotouch CLI. */
export function registerBillingCommands(_program: Command): void {}
