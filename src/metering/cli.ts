import type { Command } from 'commander';

/** The metering commands of the zerotouch CLI. */
export function registerMeteringCommands(_program: Command): void {}
