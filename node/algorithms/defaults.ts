/** The registry the daemon and the simulator share. */
import { dpsgd } from './dpsgd.js';
import { gossipLearning } from './gossip-learning.js';
import { AlgorithmRegistry } from './registry.js';

/** A fresh registry holding every built-in algorithm. */
export function defaultRegistry(): AlgorithmRegistry {
  return new AlgorithmRegistry()
    .register(dpsgd)
    .register(gossipLearning);
}
