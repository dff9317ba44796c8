/** Building blocks shared by both round engines: local training, evaluation and one push to targets. */
import type { AggregateInput, Contribution } from '../algorithms/types.js';
import type { Evaluation } from '../learner/evaluate.js';
import type { OutgoingFrame, ReceivedFrame } from '../network.js';
import type { EngineContext } from './context.js';

/**
 * Train the current model on the local data; returns the loss, the sample count and the new state vector when it
 * is the pool's fresh output (no one else holds it yet: aggregateInput may offer it to the rule as writable).
 */
export async function trainLocal(ctx: EngineContext, round: number, signal: AbortSignal): Promise<{ loss: number; samples: number; fresh?: Float32Array }> {
  if (ctx.trainIndices.length === 0) return { loss: NaN, samples: 0 };
  const before = ctx.state.vector;
  const out = await ctx.pool.train({
    spec: ctx.spec, weights: ctx.state.vector, dataset: ctx.dataset, indices: ctx.trainIndices,
    options: { ...ctx.train, ...ctx.algorithm.trainer, ...ctx.algorithm.trainerForRound?.(round), seed: `${String(ctx.seed)}/${ctx.selfId}/${round}` },
  }, { signal, priority: round }); // earlier rounds first: a straggler does not queue behind peers ahead of it (pool.ts)
  const after = ctx.algorithm.afterTrain
    ? ctx.algorithm.afterTrain(ctx.state.vector, out.weights, ctx.trainIndices, ctx.labels)
    : out.weights;
  ctx.state.vector = after;
  ctx.state.age += out.result.samples;
  return { loss: out.result.loss, samples: out.result.samples, fresh: after !== before && after === out.weights ? after : undefined };
}

/** Test accuracy and loss of the current model, or null when evaluation is off for this round. */
export async function evaluateIfDue(ctx: EngineContext, round: number, signal: AbortSignal): Promise<{ accuracy: number; loss: number } | null> {
  const every = ctx.rounds.evalEvery;
  if (!every || ctx.testIndices.length === 0 || round % every !== 0) return null;
  const ev = await ctx.pool.evaluate({ spec: ctx.spec, weights: ctx.state.vector, dataset: ctx.dataset, indices: ctx.testIndices, kernel: ctx.train.kernel }, { signal });
  return { accuracy: ev.accuracy, loss: ev.loss };
}

/** The travelling part of the model as one frame (the network encodes it once for all its targets). */
export function modelFrame(ctx: EngineContext, round: number, step: number, degree: number): OutgoingFrame {
  const meta = { round, step, degree, age: ctx.state.age };
  return ctx.algorithm.payload === 'ranking'
    ? { ...meta, kind: 'ranking', rankings: ctx.algorithm.rank!(ctx.state.vector) }
    : { ...meta, kind: 'model', values: ctx.algorithm.extract(ctx.state.vector), encoding: ctx.algorithm.encoding };
}

/** Error codes of a frame the wire format cannot carry (non-finite values, a wrong length, a bad view): our bug, not the network's. */
const UNSENDABLE = new Set(['ERR_FRAME_REJECTED', 'ERR_BAD_VIEW']);

/** Whether a send failed because the frame itself cannot be encoded (rethrow it: it fails for every target). */
export const isUnsendable = (err: unknown): boolean => UNSENDABLE.has((err as { code?: string } | null)?.code ?? '');

/**
 * Send one frame to every target; failures are counted, not thrown, except an UNSENDABLE frame.
 * `onDelivered` runs for each target that accepted it, in target order.
 */
export async function sendToAll(ctx: EngineContext, frame: OutgoingFrame, targets: readonly string[], signal: AbortSignal, onDelivered?: (target: string) => void): Promise<{ failures: number; bytes: number }> {
  // One deadline for all targets (they start together), released once all settled: no timer or listener on
  // `signal` outlives the push. None when the network bounds every send no later (the virtual network).
  const own = ctx.network.sendTimeoutMs;
  const deadline = own !== undefined && own <= ctx.rounds.sendTimeoutMs ? null : ctx.clock.deadline(ctx.rounds.sendTimeoutMs, signal);
  const options = { signal: deadline?.signal ?? signal };
  const results = await Promise.allSettled(targets.map((t) => ctx.network.send(t, frame, options)));
  deadline?.release();
  let failures = 0;
  let bytes = 0;
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') { bytes += r.value; onDelivered?.(targets[i]!); return; }
    if (isUnsendable(r.reason)) throw r.reason;
    failures++;
    ctx.logger.debug({ peer: targets[i], round: frame.round, step: frame.step, err: (r.reason as Error)?.message }, 'send failed');
  });
  return { failures, bytes };
}

/** Push the travelling part of the model to every target; failures are counted, not thrown. */
export async function pushModel(ctx: EngineContext, targets: readonly string[], round: number, step: number, degree: number, signal: AbortSignal): Promise<{ failures: number; bytes: number }> {
  if (targets.length === 0) return { failures: 0, bytes: 0 };
  return sendToAll(ctx, modelFrame(ctx, round, step, degree), targets, signal);
}

/**
 * Network frames → algorithm contributions (dense payloads of the exchange layout). A top-k frame carries
 * only some coordinates; the others take the receiver's own values, so a sparse model only moves the
 * coordinates it carries (the subsampling merge of ALGORITHMS.md §0.3).
 */
export function toContributions(frames: readonly ReceivedFrame[], own: Float32Array): Contribution[] {
  return frames.map((f) => ({
    from: f.from,
    values: f.values ?? densify(f.sparse, own),
    rankings: f.rankings,
    degree: f.degree,
    age: f.age,
  }));
}

function densify(sparse: { indices: Uint32Array; values: Float32Array } | null, own: Float32Array): Float32Array | null {
  if (!sparse) return null;
  const v = own.slice();
  for (let i = 0; i < sparse.indices.length; i++) v[sparse.indices[i]!] = sparse.values[i]!;
  return v;
}

/**
 * The aggregator's view of one gossip step (or one received model in asynchronous mode). `fresh`: the round's
 * training output (trainLocal); while the state vector is that very array, `own` is offered as writable.
 */
export function aggregateInput(ctx: EngineContext, frames: readonly ReceivedFrame[], round: number, step: number, degree: number, purpose: string, signal: AbortSignal, fresh?: Float32Array): AggregateInput {
  const own = ctx.algorithm.extract(ctx.state.vector);
  return {
    own, ownAge: ctx.state.age, degree, ownWritable: fresh !== undefined && own === fresh && ctx.state.vector === fresh, received: toContributions(frames, own), round, step, rng: ctx.rng(round, purpose),
    full: ctx.state.vector, trainIndices: ctx.trainIndices, labels: ctx.labels,
    evaluate: (full: Float32Array, indices: Uint32Array): Promise<Evaluation> =>
      ctx.pool.evaluate({ spec: ctx.spec, weights: full, dataset: ctx.dataset, indices, kernel: ctx.train.kernel }, { signal }),
  };
}
