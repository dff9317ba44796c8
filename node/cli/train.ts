/**
 * `murmur train`: centralized training on one machine, the reference point for every decentralized run
 * (e.g. `murmur train --model mlp --epochs 5` on the digits' 8,000/2,000 split).
 */
import type { Command } from 'commander';
import { loadDataSource, type DataSourceSpec } from '../data/source.js';
import { datasetParts } from '../data/dataset.js';
import { backendTip, describeBackend, type BackendName } from '../learner/backend-info.js';
import { WorkerPool } from '../learner/pool.js';
import type { AnyModelSpec } from '../learner/create-model.js';
import { ConfigError } from '../errors.js';

export interface TrainCommandOptions {
  model: string; hidden: string; epochs: string; lr: string; momentum: string; weightDecay: string; batchSize: string;
  samRho?: string; seed: string; data: string; csv?: string; testFraction?: string; json?: boolean; backend?: string;
}

function num(name: string, v: string, check: (n: number) => boolean): number {
  const n = Number(v);
  if (!Number.isFinite(n) || !check(n)) throw new ConfigError(`--${name} ${v} is not valid`);
  return n;
}

/** Register `murmur train`. `backendEnv` is MURMUR_BACKEND, read by the caller (config owns process.env). */
export function registerTrainCommand(program: Command, backendEnv?: string): void {
  program.command('train')
    .description('train one model centrally on the local data (the baseline decentralized runs compare against)')
    .option('--model <arch>', 'logreg | mlp | cnn | a path to a TF.js model.json', 'mlp')
    .option('--hidden <sizes>', 'hidden layer sizes of the mlp, comma-separated', '128')
    .option('--epochs <n>', 'passes over the training data', '5')
    .option('--lr <x>', 'learning rate', '0.1')
    .option('--momentum <x>', 'SGD momentum', '0')
    .option('--weight-decay <x>', 'weight decay', '0')
    .option('--batch-size <n>', 'mini-batch size', '32')
    .option('--sam-rho <x>', 'train with SAM of this radius')
    .option('--seed <s>', 'seed of the split, the initial weights and the batch order', '1')
    .option('--data <source>', 'digits | csv', 'digits')
    .option('--csv <path>', 'CSV file (features…, label) when --data csv')
    .option('--test-fraction <x>', 'held-out share for CSV data', '0.2')
    .option('--backend <name>', 'force a TF.js backend: tensorflow | wasm | cpu')
    .option('--json', 'print one JSON object per epoch')
    .action(async (o: TrainCommandOptions) => {
      const seed = o.seed;
      const source: DataSourceSpec = o.data === 'csv'
        ? { source: 'csv', path: o.csv ?? (() => { throw new ConfigError('--data csv needs --csv <path>'); })() }
        : o.data === 'digits' ? { source: 'digits' } : (() => { throw new ConfigError(`--data ${o.data}: known sources are digits, csv`); })();
      const data = await loadDataSource(source, { seed, testFraction: o.data === 'csv' ? Number(o.testFraction) : undefined });
      const ds = data.dataset;
      // Loaded here, not at the top: it brings TF.js, which no other command needs in this thread.
      const { validateAnyModelSpec } = await import('../learner/create-model.js');
      const spec: AnyModelSpec = o.model.endsWith('.json') || o.model.includes('/')
        ? { arch: 'layers', path: o.model }
        : validateAnyModelSpec({ arch: o.model, inputShape: o.model === 'cnn' ? [...ds.inputShape] : [ds.featureCount], classes: ds.classCount, seed,
          ...(o.model === 'mlp' ? { hidden: o.hidden.split(',').map(Number) } : {}) });
      const backend = o.backend ?? backendEnv;
      const prefer = backend ? [backend as BackendName] : undefined;
      const pool = new WorkerPool({ size: 1, prefer });
      await pool.start();
      try {
        const choice = pool.backend();
        if (!o.json) {
          console.log(`backend: ${describeBackend(choice)}`);
          const tip = backendTip(choice);
          if (tip !== null) console.error(tip);
          console.log(`data: ${ds.name}, ${data.train.length} train / ${data.test.length} test; model: ${JSON.stringify(spec)}`);
        }
        const dataset = { id: ds.name, parts: datasetParts(ds) };
        let { initial: weights } = await pool.describe(spec);
        const epochs = num('epochs', o.epochs, (n) => Number.isInteger(n) && n >= 1);
        const options = {
          lr: num('lr', o.lr, (n) => n > 0), momentum: num('momentum', o.momentum, (n) => n >= 0 && n < 1),
          weightDecay: num('weight-decay', o.weightDecay, (n) => n >= 0), batchSize: num('batch-size', o.batchSize, (n) => Number.isInteger(n) && n > 0),
          samRho: o.samRho === undefined ? undefined : num('sam-rho', o.samRho, (n) => n >= 0),
        };
        let final = 0;
        for (let epoch = 1; epoch <= epochs; epoch++) {
          const t0 = performance.now();
          // One call per epoch: the momentum buffer restarts each epoch, which is what per-round peers do too.
          const out = await pool.train({ spec, weights, dataset, indices: data.train, options: { ...options, epochs: 1, seed: `${seed}/epoch-${epoch}` } });
          weights = out.weights;
          const seconds = (performance.now() - t0) / 1000;
          const ev = await pool.evaluate({ spec, weights, dataset, indices: data.test });
          final = ev.accuracy;
          const row = { epoch, trainLoss: out.result.loss, testLoss: ev.loss, testAccuracy: ev.accuracy, seconds, samplesPerSecond: out.result.samples / seconds };
          if (o.json) console.log(JSON.stringify(row));
          else console.log(`epoch ${epoch}: train loss ${row.trainLoss.toFixed(4)}, test loss ${row.testLoss.toFixed(4)}, test accuracy ${(100 * ev.accuracy).toFixed(2)}% (${seconds.toFixed(1)} s, ${row.samplesPerSecond.toFixed(0)} samples/s)`);
        }
        if (!o.json) console.log(`final test accuracy: ${(100 * final).toFixed(2)}%`);
      } finally {
        await pool.stop();
      }
    });
}
