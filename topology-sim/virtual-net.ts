/**
 * The deterministic virtual network (DESIGN.md "topology-sim", seams 2 and 5): the same Peer code, behind
 * node/network.ts's `Network`, on a virtual clock, with per-link latency and bandwidth and message loss.
 * This file is the front door; the parts live in topology-sim/virtual/:
 * - scheduler.ts: `VirtualScheduler` (event queue ordered by (time, owner, sequence), the driver loop, and
 *   per-peer `Clock`s);
 * - links.ts: latency, bandwidth and drop models, validated when built;
 * - pool.ts: `VirtualPool`, a peer's learner pool whose results arrive on virtual time;
 * - net.ts: `VirtualNet`, the shared medium (membership, online state, connections, link models);
 * - network.ts: `VirtualNetwork`, one peer's `Network`, and the delivery semantics.
 * topology-sim/virtual-swarm.ts assembles them into a swarm shaped like the libp2p one.
 *
 * @example
 * const scheduler = new VirtualScheduler();
 * const net = new VirtualNet({ scheduler, latency: uniformLatency(5, 20, seed), drop: dropProbability(0.01, seed) });
 * const a = net.join('v0000', { swarm, layout }); const b = net.join('v0001', { swarm, layout });
 * await a.start(); await b.start();
 * const sent = a.send('v0001', frame);
 * await scheduler.run(() => settled);   // fires the delivery at its virtual time
 */
export { LinkModelError, SimulationStalledError, VirtualPeerError } from './virtual/errors.js';
export {
  constantBandwidth, constantLatency, DEFAULT_LATENCY_MS, dropProbability, NO_DROP, sampleLatency, transferMs,
  uniformLatency, UNLIMITED_BANDWIDTH,
  type BandwidthModel, type DropModel, type LatencyModel, type Link, type LinkModels,
} from './virtual/links.js';
export { VirtualNet, type VirtualNetInit } from './virtual/net.js';
export { VirtualNetwork, type VirtualPeerInit } from './virtual/network.js';
export { plannedTrainSamples, resolveCostModel, VirtualPool, type CostModel, type ResolvedCostModel } from './virtual/pool.js';
export {
  DEFAULT_DRAIN_TURNS, VirtualClock, VirtualScheduler,
  type RunOptions, type Settled, type VirtualEvent, type VirtualSchedulerInit,
} from './virtual/scheduler.js';
