/** `murmur daemon` and `murmur export`. */
import type { Command } from 'commander';
import { packageVersion } from '../package-info.js';
import { loadDaemonConfig, setPath, backendFromEnv } from '../config.js';
import { ConfigError } from '../errors.js';
import { createLogger } from '../logger.js';
import { openStoreSnapshot } from '../store/read-only.js';
import { WorkerPool } from '../learner/pool.js';
import type { BackendName } from '../learner/backend-info.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

interface DaemonFlags {
  config?: string; dataDir?: string; listen?: string[]; bootstrap?: string[]; mdns?: boolean; swarm?: string; seed?: string;
  algorithm?: string; model?: string; hidden?: string; peers?: string; peerIndex?: string; rounds?: string; mode?: string;
  controlPort?: string; logLevel?: string; set?: string[]; relay?: boolean; announce?: string[]; upnp?: boolean;
}

/** Flags → a config fragment (the highest-precedence layer). */
export function flagsToConfig(f: DaemonFlags): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  const int = (name: string, v: string) => { const n = Number(v); if (!Number.isInteger(n)) throw new ConfigError(`--${name} ${v}: expected an integer`); return n; };
  if (f.dataDir) setPath(c, 'dataDir', JSON.stringify(f.dataDir));
  if (f.listen) setPath(c, 'network.listen', JSON.stringify(f.listen));
  if (f.bootstrap) setPath(c, 'network.bootstrap', JSON.stringify(f.bootstrap));
  if (f.mdns) setPath(c, 'network.mdns', 'true');
  if (f.relay) setPath(c, 'network.relay.serve', 'true');
  if (f.announce) setPath(c, 'network.announce', JSON.stringify(f.announce));
  if (f.upnp) setPath(c, 'network.upnp', 'true');
  if (f.swarm) setPath(c, 'swarm', JSON.stringify(f.swarm));
  if (f.seed) setPath(c, 'seed', f.seed);
  if (f.algorithm) setPath(c, 'algorithm.name', JSON.stringify(f.algorithm));
  if (f.model) setPath(c, 'model.arch', JSON.stringify(f.model));
  if (f.hidden) setPath(c, 'model.hidden', JSON.stringify(f.hidden.split(',').map((h) => int('hidden', h))));
  if (f.peers) setPath(c, 'data.peers', String(int('peers', f.peers)));
  if (f.peerIndex) setPath(c, 'data.peerIndex', String(int('peer-index', f.peerIndex)));
  if (f.rounds) setPath(c, 'rounds.max', String(int('rounds', f.rounds)));
  if (f.mode) setPath(c, 'rounds.mode', JSON.stringify(f.mode));
  if (f.controlPort) setPath(c, 'control.port', String(int('control-port', f.controlPort)));
  if (f.logLevel) setPath(c, 'log.level', JSON.stringify(f.logLevel));
  for (const kv of f.set ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--set ${kv}: expected key.path=value`);
    setPath(c, kv.slice(0, eq), kv.slice(eq + 1));
  }
  return c;
}

export function registerDaemonCommands(program: Command): void {
  program.command('daemon')
    .description('run a peer: train on local data, exchange models with neighbours, persist every round')
    .option('--config <file>', 'JSON or YAML configuration (flags override it)')
    .option('--data-dir <dir>', 'where the store, identity and control token live')
    .option('--listen <multiaddr>', 'listen address (repeatable)', collect)
    .option('--bootstrap <multiaddr>', 'bootstrap peer address with /p2p/<id> (repeatable)', collect)
    .option('--mdns', 'discover peers on the LAN with multicast DNS')
    .option('--relay', 'serve as a circuit relay for peers behind NAT (limits: --set network.relay.*)')
    .option('--announce <multiaddr>', 'public address to announce, e.g. /ip4/<public ip>/tcp/4001 (repeatable)', collect)
    .option('--upnp', 'map the listening port on the home router with UPnP')
    .option('--swarm <id>', 'swarm id (peers of different swarms ignore each other)')
    .option('--seed <s>', 'seed of this peer’s random streams')
    .option('--algorithm <name>', 'aggregation algorithm (see `murmur algorithms`)')
    .option('--model <arch>', 'logreg | mlp | cnn | layers')
    .option('--hidden <sizes>', 'mlp hidden sizes, comma-separated')
    .option('--peers <n>', 'split the built-in data into n shares…')
    .option('--peer-index <i>', '…and keep share i')
    .option('--rounds <n>', 'stop after n rounds (default: run until stopped)')
    .option('--mode <mode>', 'sync | async')
    .option('--control-port <port>', 'control API port on 127.0.0.1 (default: random)')
    .option('--log-level <level>', 'fatal | error | warn | info | debug | trace')
    .option('--set <key=value>', 'set any config key, e.g. --set train.lr=0.1 (repeatable)', collect)
    .action(async (flags: DaemonFlags) => {
      const cfg = await loadDaemonConfig({ file: flags.config, flags: flagsToConfig(flags) });
      const logger = createLogger({ level: cfg.log.level, pretty: cfg.log.pretty });
      // Imported on use: the other commands need neither libp2p nor the training stack.
      const { startDaemon } = await import('../daemon.js');
      const daemon = await startDaemon(cfg, logger, packageVersion());
      await new Promise<void>((resolve) => {
        const shutdown = (signal: string) => {
          logger.info({ signal }, 'shutting down');
          daemon.stop().then(() => { logger.info('stopped; store flushed'); resolve(); }, (err: unknown) => { logger.error({ err }, 'unclean shutdown'); process.exitCode = 1; resolve(); });
        };
        process.once('SIGINT', () => shutdown('SIGINT'));
        process.once('SIGTERM', () => shutdown('SIGTERM'));
        void daemon.peer.finished().then(() => {
          if (Number.isFinite(cfg.rounds.max ?? Infinity)) shutdown('max rounds reached');
        }, (err: unknown) => { logger.error({ err }, 'round engine failed'); shutdown('engine failure'); });
      });
    });

  program.command('export')
    .description('write a checkpoint as a TF.js Layers model (reads a copy of the store; the daemon may be running or not)')
    .requiredOption('--round <r>', 'checkpoint round (see `murmur history`), or "current"')
    .requiredOption('--out <dir>', 'output directory')
    .option('--data-dir <dir>', 'the daemon’s data dir', process.env.MURMUR_DATA_DIR ?? './.murmur')
    .action(async (o: { round: string; out: string; dataDir: string }) => {
      // A snapshot of the store: the data dir is only read, never created or locked (node/store/read-only.ts).
      const snapshot = await openStoreSnapshot(o.dataDir);
      const st = snapshot.store;
      try {
        const model = o.round === 'current' ? await st.current() : await st.checkpoint(Number(o.round));
        if (!model) {
          const have = (await st.checkpoints()).map((c) => c.round);
          throw new ConfigError(`no checkpoint for round ${o.round} in ${o.dataDir}; available rounds: ${have.join(', ') || 'none'}`);
        }
        const extra = await st.extra();
        const { validateAnyModelSpec } = await import('../learner/create-model.js');
        const spec = validateAnyModelSpec(extra?.model);
        const backend = backendFromEnv();
        const pool = new WorkerPool({ size: 1, prefer: backend ? [backend as BackendName] : undefined });
        await pool.start();
        try { await pool.exportModel(spec, model.vector, o.out); } finally { await pool.stop(); }
        console.log(`wrote round ${model.round} (model ${model.hash}) to ${o.out}/model.json`);
      } finally { await snapshot.close(); }
    });
}
