import type { Command } from 'commander';

/** The monitoring commands of the zerotouch CLI. */
export function registerMonitoringCommands(_program: Command): void {}
