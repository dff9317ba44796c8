/**
 * aggregation/: pure math on flat parameter vectors (DESIGN.md seam 1): no I/O, no libp2p, no TF.js.
 * Re-exports only.
 */
export * from './layout.js';
export * from './errors.js';
export * from './mean.js';
export * from './mixing.js';
export * from './gossip-age.js';
export * from './variance-corrected.js';
export * from './robust.js';
export * from './bristle.js';
export * from './frl.js';
