/** Subcommands besides `train`. */
import type { Command } from 'commander';
import { registerAlgorithmsCommand } from './algorithms.js';
import { registerDaemonCommands } from './daemon.js';
import { registerInspectCommands } from './inspect.js';
import { registerReportCommand } from './report.js';
import { registerSimCommand, registerSimMergeCommand } from './sim.js';

export function registerCommands(program: Command): void {
  registerDaemonCommands(program);
  registerInspectCommands(program);
  registerReportCommand(program);
  registerSimCommand(program);
  registerSimMergeCommand(program);
  registerAlgorithmsCommand(program);
}
