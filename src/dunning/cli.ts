import type { Command } from 'commander';

/** The dunning commands of the zerotouch CLI. */
export function registerDunningCommands(_program: Command): void {}
