import type { Command } from 'commander';
import { registerPlatformCommands } from './platform.commands.ts';

/** Every context adds its commands here. */
export function registerCommands(program: Command): void {
  registerPlatformCommands(program);
}
