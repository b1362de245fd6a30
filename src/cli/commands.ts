import type { Command } from 'commander';
import { registerPlatformCommands } from './platform.commands.ts';
import { registerMeteringCommands } from '../metering/index.ts';
import { registerBillingCommands } from '../billing/index.ts';
import { registerPaymentsCommands } from '../payments/index.ts';
import { registerDunningCommands } from '../dunning/index.ts';
import { registerWorkCommands } from '../work/index.ts';
import { registerMonitoringCommands } from '../monitoring/index.ts';
import { registerFrontendCommands } from '../metering/index.ts';
import { registerSimCommands } from '../sim/cli.ts';
import { registerSimulateCommand } from '../sim/simulate.command.ts';

/** Every context adds its commands here. */
export function registerCommands(program: Command): void {
  registerPlatformCommands(program);
  registerMeteringCommands(program);
  registerBillingCommands(program);
  registerPaymentsCommands(program);
  registerDunningCommands(program);
  registerWorkCommands(program);
  registerMonitoringCommands(program);
  registerFrontendCommands(program);
  registerSimCommands(program);
  registerSimulateCommand(program);
}
