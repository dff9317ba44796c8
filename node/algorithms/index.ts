export { AlgorithmRegistry, type ResolvedAlgorithm } from './registry.js';
export type * from './types.js';
export { defaultRegistry } from './defaults.js';
