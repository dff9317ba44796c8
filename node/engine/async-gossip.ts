/**
 * Asynchronous gossip (ALGORITHMS.md §0.1): every period Δ the peer pushes its model to one random neighbour
 * (or to all, for rules that say so) and, if the rule trains on a timer, trains first; every received model
 * is merged as it arrives and, for classic gossip learning, followed by local training. Model updates are
 * serialised through one chain, so a merge never interleaves with a training step. A "round" here is one
 * period: history, evaluation and commits happen once per period.
 *
 * In a live swarm (neighbours announce their rounds; simulations announce nothing and are unaffected) the
 * period count follows the swarm, so rounds mean the same on every peer: a peer behind the round its
 * neighbours finished jumps to it (a slow device, a restart, a period that ends late),
 * and a peer more than one round ahead holds its next period back up to one period more (announcements wake it). Frames that wait for the update chain are
 * coalesced (the newest per sender, merged in one turn, one training after them): a peer slower than its
 * senders used to queue a merge and a training per frame without bound (a soak's 3-epoch peer: 18 merges
 * queued, 53 s between rounds).
 */
import { anySignal } from '../deadline.js';
import { withModelHash } from '../model-hash.js';
import type { ReceivedFrame } from '../network.js';
import type { EngineContext } from './context.js';
import { aggregateInput, evaluateIfDue, pushModel, trainLocal } from './steps.js';

export interface AsyncOptions {
  /** Train once per period before pushing (variance-corrected gossip); classic GL trains after merging. */
  trainEachPeriod: boolean;
  trainAfterMerge: boolean;
  /** Push to every neighbour instead of one random one. */
  pushToAll: boolean;
}

/** Run periods until maxRounds or until `signal` aborts. */
export async function runAsyncGossip(ctx: EngineContext, signal: AbortSignal, opts: AsyncOptions): Promise<void> {
  let chain: Promise<void> = Promise.resolve();
  let merged = 0, trainLoss = 0, trainSteps = 0, samples = 0, mergeMs = 0, trainMs = 0;
  const serialise = (task: () => Promise<void>): Promise<void> => {
    chain = chain.then(task).catch((err: unknown) => {
      if (!signal.aborted) ctx.logger.warn({ err }, 'model update failed');
    });
    return chain;
  };
  const train = async (round: number): Promise<void> => {
    const t = ctx.clock.now();
    const r = await trainLocal(ctx, round, signal);
    trainMs += ctx.clock.now() - t;
    if (Number.isFinite(r.loss)) { trainLoss += r.loss; trainSteps++; }
    samples += r.samples;
  };
  // Frames not yet merged, the newest per sender (a sender's newer model supersedes its older one).
  const waiting = new Map<string, ReceivedFrame>();
  let drainQueued = false;
  const drain = async (): Promise<void> => {
    drainQueued = false;
    const frames = [...waiting.values()].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
    waiting.clear();
    if (signal.aborted) return;
    const round = ctx.state.round + 1;
    let any = false;
    for (const f of frames) {
      const t = ctx.clock.now();
      const out = await ctx.algorithm.aggregate(aggregateInput(ctx, [f], round, 0, ctx.neighbours().length, `merge-${f.from}-${f.round}`, signal));
      mergeMs += ctx.clock.now() - t;
      if (!out) continue;
      ctx.state.vector = ctx.algorithm.insert(ctx.state.vector, out.vector);
      ctx.state.age = out.age;
      merged++;
      any = true;
    }
    if (any && opts.trainAfterMerge) await train(round);
  };
  const onFrame = (f: ReceivedFrame): void => {
    waiting.set(f.from, f);
    if (drainQueued) return;
    drainQueued = true;
    void serialise(drain);
  };
  const unsubscribe = ctx.network.onFrame(onFrame);
  try {
    while (!signal.aborted && ctx.state.round < ctx.rounds.maxRounds) {
      await ctx.clock.sleep(ctx.rounds.periodMs, { signal });
      await holdIfAhead(ctx, signal);
      const round = atSwarmFinished(ctx, ctx.state.round + 1);
      const t0 = ctx.clock.now();
      let pushed = { failures: 0, bytes: 0 };
      const neighbours = ctx.neighbours();
      await serialise(async () => {
        if (opts.trainEachPeriod) { ctx.setPhase('training'); await train(round); }
        ctx.setPhase('exchanging');
        const rng = ctx.rng(round, 'target');
        const targets = opts.pushToAll ? neighbours : neighbours.length ? [neighbours[rng.int(neighbours.length)]!] : [];
        pushed = await pushModel(ctx, targets, round, 0, neighbours.length, signal);
      });
      signal.throwIfAborted();
      ctx.setPhase('evaluating');
      const e0 = ctx.clock.now();
      const evaluation = await evaluateIfDue(ctx, round, signal);
      const finished = atSwarmFinished(ctx, round);
      ctx.state.round = finished;
      await ctx.finishRound(withModelHash({
        round: finished, time: ctx.clock.now(), age: ctx.state.age,
        trainLoss: trainSteps ? trainLoss / trainSteps : null, samples, evaluation,
        received: merged, expected: 0, timedOut: false, sendFailures: pushed.failures, bytesOut: pushed.bytes,
        phaseMs: { train: trainMs, exchange: ctx.clock.now() - t0 - trainMs - mergeMs, aggregate: mergeMs, evaluate: ctx.clock.now() - e0 },
      }, ctx.state.vector));
      merged = 0; trainLoss = 0; trainSteps = 0; samples = 0; mergeMs = 0; trainMs = 0;
      ctx.setPhase('idle');
    }
  } finally {
    unsubscribe();
    await chain;
  }
}

/**
 * `round`, or the round the neighbours last finished if that is later (capped at maxRounds): the label of a
 * period when it starts and again when it ends. A peer behind (a restart, a slow device, a period that took
 * long) comes level with the neighbours, not ahead of them: labelling its period with the round they are in
 * (R + 1 once most finished R) claimed a round nobody had done, and the next finishers jumped past it in
 * turn. That ratchet ran the labels ahead of the periods (a soak: 969 rounds in 10 minutes of 1 s periods),
 * so a peer a few seconds stale was twice as many rounds behind (end spread 6 under load).
 */
function atSwarmFinished(ctx: EngineContext, round: number): number {
  return Math.max(round, Math.min(ctx.progress.swarmRound() - 1, ctx.rounds.maxRounds));
}

/**
 * Hold the next period back while it would run more than one round ahead of the round the neighbours are in
 * (progress.swarmRound(); 0: unknown, no hold), at most one period: announcements wake it, and a swarm that
 * stopped announcing cannot stop the peer.
 */
async function holdIfAhead(ctx: EngineContext, signal: AbortSignal): Promise<void> {
  const ahead = (): boolean => {
    const swarm = ctx.progress.swarmRound();
    return swarm > 0 && ctx.state.round + 1 > swarm + 1;
  };
  if (!ahead()) return;
  const wake = new AbortController();
  const off = ctx.progress.onAnnouncement(() => { if (!ahead()) wake.abort(); });
  try {
    await ctx.clock.sleep(ctx.rounds.periodMs, { signal: anySignal(signal, wake.signal) }).catch((err: unknown) => { if (signal.aborted) throw err; });
  } finally { off(); }
}
