/** Subcommands besides `train`. */
import type { Command } from 'commander';
import { registerDaemonCommands } from './daemon.js';
import { registerInspectCommands } from './inspect.js';

export function registerCommands(program: Command): void {
  registerDaemonCommands(program);
  registerInspectCommands(program);
}
