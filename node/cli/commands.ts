/** The other subcommands, registered as their modules land. */
import type { Command } from 'commander';

export function registerCommands(_program: Command): void {}
