/**
 * Synchronous rounds (DESIGN.md "node/engine"): train, then Q gossip steps; each step pushes the current
 * model to every neighbour and waits for theirs (or the timeout), then aggregates the frames sorted by
 * sender id, so a simulation with one seed is bit-identical whatever the delivery order.
 */
import { modelHash } from '../model-hash.js';
import type { EngineContext, RoundSummary } from './context.js';
import { aggregateInput, evaluateIfDue, pushModel, trainLocal } from './steps.js';

/**
 * Run rounds until maxRounds or until `signal` aborts (then the AbortError propagates). `swarmRound` is the
 * round the neighbours are in now (0 when unknown): a peer that fell behind (late join, restart, slow
 * device) jumps to it instead of sending frames its neighbours already closed ('stale') and waiting for
 * frames they sent long ago.
 */
export async function runSyncRounds(ctx: EngineContext, signal: AbortSignal, swarmRound: () => number): Promise<void> {
  while (!signal.aborted && ctx.state.round < ctx.rounds.maxRounds) {
    const round = Math.max(ctx.state.round + 1, Math.min(swarmRound(), ctx.rounds.maxRounds));
    const started = ctx.clock.now();
    if (!ctx.isOnline(round)) {
      // Offline for this round (churn): no training, no messages; neighbours leave it out of their waits.
      ctx.state.round = round;
      continue;
    }
    await runRound(ctx, round, signal);
    const rest = ctx.rounds.minRoundMs - (ctx.clock.now() - started);
    if (rest > 0 && ctx.state.round < ctx.rounds.maxRounds) await ctx.clock.sleep(rest, { signal });
  }
}

async function runRound(ctx: EngineContext, round: number, signal: AbortSignal): Promise<void> {
  const t0 = ctx.clock.now();
  ctx.setPhase('training');
  const trained = await trainLocal(ctx, round, signal);
  const t1 = ctx.clock.now();
  let received = 0, expected = 0, timedOut = false, sendFailures = 0, bytesOut = 0, aggregateMs = 0;
  for (let step = 0; step < ctx.algorithm.gossipSteps; step++) {
    ctx.setPhase('exchanging');
    const neighbours = ctx.neighbours(round);
    const { targets, senders } = exchangePlan(ctx, neighbours, round);
    const deadline = ctx.clock.timeout(ctx.rounds.timeoutMs, signal);
    const [sent, frames] = await Promise.all([
      pushModel(ctx, targets, round, step, neighbours.length, signal),
      ctx.network.collect(round, step, senders, { signal: deadline }),
    ]);
    signal.throwIfAborted();
    sendFailures += sent.failures; bytesOut += sent.bytes;
    // Frames of senders we did not wait for (a neighbour list that lags) are aggregated but not counted:
    // received/expected says whether the peers this round waited for delivered.
    const arrived = frames.filter((f) => senders.includes(f.from)).length;
    received += arrived; expected += senders.length;
    if (arrived < senders.length) timedOut = true;
    ctx.setPhase('aggregating');
    const a0 = ctx.clock.now();
    const out = await ctx.algorithm.aggregate(aggregateInput(ctx, frames, round, step, neighbours.length, `aggregate-${step}`, signal));
    if (out) {
      ctx.state.vector = ctx.algorithm.insert(ctx.state.vector, out.vector);
      ctx.state.age = out.age;
    }
    aggregateMs += ctx.clock.now() - a0;
  }
  ctx.network.discardBefore(round + 1);
  const t2 = ctx.clock.now();
  ctx.setPhase('evaluating');
  const evaluation = await evaluateIfDue(ctx, round, signal);
  ctx.state.round = round;
  const summary: RoundSummary = {
    round, time: ctx.clock.now(), modelHash: modelHash(ctx.state.vector), age: ctx.state.age,
    trainLoss: Number.isFinite(trained.loss) ? trained.loss : null, samples: trained.samples, evaluation,
    received, expected, timedOut, sendFailures, bytesOut,
    phaseMs: { train: t1 - t0, exchange: t2 - t1 - aggregateMs, aggregate: aggregateMs, evaluate: ctx.clock.now() - t2 },
  };
  ctx.setPhase('committing');
  await ctx.finishRound(summary);
  ctx.setPhase('idle');
}

/** Whom to send to and whom to wait for: every neighbour, or the push-gossip schedule. */
function exchangePlan(ctx: EngineContext, neighbours: string[], round: number): { targets: string[]; senders: string[] } {
  if (ctx.algorithm.targets !== 'one-random') return { targets: neighbours, senders: neighbours };
  if (ctx.pushSchedule) return { targets: ctx.pushSchedule.targets(round), senders: ctx.pushSchedule.senders(round) };
  const rng = ctx.rng(round, 'target');
  return { targets: neighbours.length ? [neighbours[rng.int(neighbours.length)]!] : [], senders: neighbours };
}
