/** The registry the daemon and the simulator share. */
import { bristle } from './bristle.js';
import { dfedsam, dfedsamMgs } from './dfedsam.js';
import { dpsgd } from './dpsgd.js';
import { frl } from './frl.js';
import { gossipLearning } from './gossip-learning.js';
import { modest } from './modest.js';
import { AlgorithmRegistry } from './registry.js';
import { centeredClippingRule, krumRule, meanRule, medianRule, trimmedMeanRule } from './robust.js';
import { varianceCorrected } from './variance-corrected.js';

/** A fresh registry holding every built-in algorithm. */
export function defaultRegistry(): AlgorithmRegistry {
  return new AlgorithmRegistry()
    .register(dpsgd)
    .register(gossipLearning)
    .register(varianceCorrected)
    .register(dfedsam)
    .register(dfedsamMgs)
    .register(meanRule)
    .register(medianRule)
    .register(trimmedMeanRule)
    .register(krumRule)
    .register(centeredClippingRule)
    .register(bristle)
    .register(frl)
    .register(modest);
}
