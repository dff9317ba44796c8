/** Subcommands besides `train`. */
import type { Command } from 'commander';
import { registerAlgorithmsCommand } from './algorithms.js';
import { registerDaemonCommands } from './daemon.js';
import { registerInspectCommands } from './inspect.js';
import { registerReportCommand } from './report.js';

/**
 * The simulator's commands. Their module loads the simulator, TF.js included (~60 MB in the main thread),
 * which a daemon or an inspect command must not carry: it is imported only when one of them runs, or for
 * the help; otherwise they are listed by name (for help and "did you mean") and never run.
 */
const SIM_COMMANDS: ReadonlyArray<readonly [string, string]> = [
  ['sim', 'simulate a swarm from an experiment file (JSON or YAML) and write a report'],
  ['sim-merge', 'merge the partial records of a multi-machine swarm into one report'],
];

/** Register every subcommand; `argv` (default: this process's) decides whether the simulator is loaded. */
export async function registerCommands(program: Command, argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  registerDaemonCommands(program);
  registerInspectCommands(program);
  registerReportCommand(program);
  const invoked = argv.find((a) => !a.startsWith('-'));
  if (invoked === undefined || invoked === 'help' || SIM_COMMANDS.some(([name]) => name === invoked)) {
    const { registerSimCommand, registerSimMergeCommand } = await import('./sim.js');
    registerSimCommand(program);
    registerSimMergeCommand(program);
  } else {
    for (const [name, description] of SIM_COMMANDS) program.command(name).description(description);
  }
  registerAlgorithmsCommand(program);
}
