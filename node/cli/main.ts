#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=2
/**
 * The `murmur` command line. The polyfill import must stay first: libp2p 3 needs Promise.withResolvers.
 *
 * The first line sizes the process for a device (issue 13, "a small footprint"; scripts/bench-footprint.ts):
 * MALLOC_ARENA_MAX=2 stops glibc from keeping a malloc arena per thread (libuv, V8 and the training workers
 * each touched their own; ~35–60 MB resident), and 2 MB semi-spaces keep the main thread's young
 * generation small (V8's default grows it to 3 × 16 MB). Both must be set before the process starts, hence
 * the shebang (`env -S`: GNU coreutils ≥ 8.30, BSD, macOS); `node dist/node/cli/main.js` runs without them.
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
await registerCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  const json = process.argv.includes('--json');
  if (json) console.log(JSON.stringify({ success: false, code: e.code ?? 'ERR_UNEXPECTED', message: e.message ?? String(err) }));
  else console.error(`murmur: ${e.message ?? String(err)}`);
  process.exitCode = e.code === 'ERR_CONFIG' ? 2 : 1;
});
