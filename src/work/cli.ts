import type { Command } from 'commander';

/** The work commands of the zerotouch CLI. */
export function registerWorkCommands(_program: Command): void {}
