#!/usr/bin/env node
/**
 * The `murmur` command line. The polyfill import must stay first: libp2p 3 needs Promise.withResolvers.
 */
import '../polyfill.js';
import { Command } from 'commander';
import { registerTrainCommand } from './train.js';
import { registerCommands } from './commands.js';
import { backendFromEnv } from '../config.js';
import { packageVersion } from '../package-info.js';

const program = new Command();
program.name('murmur').description('Murmuration: a fully decentralized gossip-learning peer (libp2p + TensorFlow.js)')
  .version(packageVersion(), '-V, --version', 'print the version of murmur')
  .showHelpAfterError();
registerTrainCommand(program, backendFromEnv());
registerCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  const json = process.argv.includes('--json');
  if (json) console.log(JSON.stringify({ success: false, code: e.code ?? 'ERR_UNEXPECTED', message: e.message ?? String(err) }));
  else console.error(`murmur: ${e.message ?? String(err)}`);
  process.exitCode = e.code === 'ERR_CONFIG' ? 2 : 1;
});
