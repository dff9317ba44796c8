/**
 * Drives a registry entry through one synchronous round the way the engine does (node/engine/steps.ts and
 * sync-rounds.ts): initialize → train options (the peer's, then `trainer`, then `trainerForRound`) → afterTrain →
 * extract → aggregate → insert. The AggregateInput and the contributions are built here by hand, not with the
 * engine's helpers, so the golden tests survive engine refactors. Local training itself is replaced by the vector
 * it produced, which the test states, so every expected output can be computed by hand.
 */
import assert from 'node:assert/strict';
import { makeLayout, type Layout, type TensorEntry } from '../../../../aggregation/layout.js';
import { defaultRegistry } from '../../../../node/algorithms/defaults.js';
import type { AggregateInput, AggregateOutput, AlgorithmInstance, Contribution } from '../../../../node/algorithms/types.js';
import { deriveRng } from '../../../../node/data/rng.js';
import type { Evaluation } from '../../../../node/learner/evaluate.js';
import type { TrainTaskOptions } from '../../../../node/learner/tasks.js';

/** A one-kernel-plus-bias layout ("a handful of parameters"). */
export function smallLayout(kernel: readonly number[] = [2, 1], bias = kernel[kernel.length - 1]!): Layout {
  const entries: TensorEntry[] = [{ name: 'out/kernel', shape: kernel, role: 'kernel' }, { name: 'out/bias', shape: [bias], role: 'bias' }];
  return makeLayout(entries);
}

/** The registry entry `name` with `params`, instantiated as a peer of a synchronous swarm. */
export function instanceOf(name: string, params: Record<string, unknown>, layout: Layout, initial?: Float32Array): AlgorithmInstance {
  return defaultRegistry().resolve(name, params, { layout, mode: 'sync', ...(initial ? { initial } : {}) }).instance;
}

export interface Peer {
  readonly id: string;
  readonly inst: AlgorithmInstance;
  /** The peer's full trainable vector (the engine's state.vector). */
  vector: Float32Array;
  age: number;
  /** Its neighbour count this round (the frame header's degree and the aggregator's `degree`). */
  degree: number;
}

/** A peer starting from the swarm's initial vector, passed through `initialize` as node/peer.ts does. */
export function peer(id: string, inst: AlgorithmInstance, initial: ArrayLike<number>, degree: number, age = 0): Peer {
  const v = Float32Array.from(initial);
  return { id, inst, vector: inst.initialize?.(v.slice()) ?? v, age, degree };
}

/** The options a round's training runs with: the peer's train settings, then the algorithm's, then the round's. */
export function trainOptions(inst: AlgorithmInstance, peerTrain: Partial<TrainTaskOptions>, round: number): Partial<TrainTaskOptions> {
  return { ...peerTrain, ...inst.trainer, ...inst.trainerForRound?.(round) };
}

/** Local training produced `after` from `samples` examples: afterTrain, then the age grows as in trainLocal. */
export function trained(p: Peer, after: ArrayLike<number>, samples: number, trainIndices: Uint32Array = new Uint32Array(0), labels: Uint8Array = new Uint8Array(0)): void {
  const a = Float32Array.from(after);
  p.vector = p.inst.afterTrain ? p.inst.afterTrain(p.vector, a, trainIndices, labels) : a;
  p.age += samples;
}

/** What `sender`'s frame carries now (an f32 payload, or its rankings), decoded as a Contribution. */
export function frameOf(sender: Peer): Contribution {
  const ranking = sender.inst.payload === 'ranking';
  return {
    from: sender.id,
    values: ranking ? null : sender.inst.extract(sender.vector).slice(),
    rankings: ranking ? sender.inst.rank!(sender.vector) : null,
    degree: sender.degree,
    age: sender.age,
  };
}

export interface StepOptions {
  round?: number;
  step?: number;
  evaluate?: (full: Float32Array, indices: Uint32Array) => Promise<Evaluation>;
  trainIndices?: Uint32Array;
  labels?: Uint8Array;
}

/** Aggregate the frames (sorted by sender id, as the engine does) into `p`, then insert the result. */
export async function aggregateInto(p: Peer, frames: readonly Contribution[], o: StepOptions = {}): Promise<AggregateOutput> {
  const round = o.round ?? 1, step = o.step ?? 0;
  const input: AggregateInput = {
    own: p.inst.extract(p.vector), ownAge: p.age, degree: p.degree,
    received: [...frames].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0)),
    round, step, rng: deriveRng(1, p.id, round, `aggregate-${step}`), full: p.vector,
    evaluate: o.evaluate ?? (() => Promise.reject(new Error('this algorithm should not evaluate'))),
    trainIndices: o.trainIndices ?? new Uint32Array(0), labels: o.labels ?? new Uint8Array(0),
  };
  const out = await p.inst.aggregate(input);
  if (out) {
    p.vector = p.inst.insert(p.vector, out.vector);
    p.age = out.age;
  }
  return out;
}

/** One synchronous gossip step of a whole graph: every frame is taken before anyone aggregates. */
export async function syncStep(peers: readonly Peer[], graph: readonly (readonly number[])[], o: StepOptions = {}): Promise<void> {
  const frames = peers.map(frameOf);
  for (let i = 0; i < peers.length; i++) await aggregateInto(peers[i]!, graph[i]!.map((j) => frames[j]!), o);
}

/** Elementwise |actual − expected| ≤ tol (default 1e-6), with the index of the first miss in the message. */
export function assertClose(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-6, what = 'vector'): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `${what}[${i}] = ${actual[i]}, expected ${expected[i]} (±${tol}); got [${Array.from(actual).join(', ')}]`);
  }
}
