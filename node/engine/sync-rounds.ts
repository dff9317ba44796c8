/**
 * Synchronous rounds (DESIGN.md "node/engine"): train, then Q gossip steps; each step pushes the current
 * model to every neighbour and waits for theirs (or the timeout), then aggregates the frames sorted by
 * sender id, so a simulation with one seed is bit-identical whatever the delivery order.
 */
import { withModelHash } from '../model-hash.js';
import type { EngineContext, NeighbourProgress, RoundSummary } from './context.js';
import { aggregateInput, evaluateIfDue, pushModel, trainLocal } from './steps.js';

export type { NeighbourProgress } from './context.js';

/**
 * Run rounds until maxRounds or until `signal` aborts (then the AbortError propagates). A peer that fell
 * behind (late join, restart, slow device) jumps to `progress.swarmRound()` instead of sending frames its
 * neighbours already closed ('stale') and waiting for frames they sent long ago; and a round waits only for
 * neighbours active in it (`awaitedSenders`), so one that fell behind does not drag the others.
 */
export async function runSyncRounds(ctx: EngineContext, signal: AbortSignal, progress?: NeighbourProgress): Promise<void> {
  while (!signal.aborted && ctx.state.round < ctx.rounds.maxRounds) {
    const round = Math.max(ctx.state.round + 1, Math.min(progress?.swarmRound() ?? 0, ctx.rounds.maxRounds));
    const started = ctx.clock.now();
    if (!ctx.isOnline(round)) {
      // Offline for this round (churn): no training, no messages; neighbours leave it out of their waits.
      ctx.state.round = round;
      continue;
    }
    await runRound(ctx, round, signal, progress);
    const rest = ctx.rounds.minRoundMs - (ctx.clock.now() - started);
    if (rest > 0 && ctx.state.round < ctx.rounds.maxRounds) await ctx.clock.sleep(rest, { signal });
  }
}

async function runRound(ctx: EngineContext, round: number, signal: AbortSignal, progress: NeighbourProgress | undefined): Promise<void> {
  const t0 = ctx.clock.now();
  ctx.setPhase('training');
  const trained = await trainLocal(ctx, round, signal);
  const t1 = ctx.clock.now();
  let received = 0, expected = 0, timedOut = false, sendFailures = 0, bytesOut = 0, aggregateMs = 0;
  for (let step = 0; step < ctx.algorithm.gossipSteps; step++) {
    ctx.setPhase('exchanging');
    const neighbours = ctx.neighbours(round);
    const plan = exchangePlan(ctx, neighbours, round);
    const { targets } = plan;
    const senders = progress ? awaitedSenders(plan.senders, round, progress) : plan.senders;
    // One signal ends the collect: the round timeout, the peer's stop, or (endWhenSettled) nothing more to
    // wait for. Released after the collect, so neither its timer nor a listener on `signal` outlives the round.
    const deadline = ctx.clock.deadline(ctx.rounds.timeoutMs, signal);
    const stopWatching = progress ? endWhenSettled(ctx, senders, round, progress, () => deadline.abort()) : null;
    progress?.waiting?.(senders);
    const [sent, frames] = await Promise.all([
      pushModel(ctx, targets, round, step, neighbours.length, signal),
      ctx.network.collect(round, step, senders, { signal: deadline.signal }),
    ]).finally(() => { stopWatching?.(); deadline.release(); progress?.waiting?.([]); });
    signal.throwIfAborted();
    if (isTimeout(deadline.signal)) warnTimedOut(ctx, round, step, senders, frames);
    sendFailures += sent.failures; bytesOut += sent.bytes;
    // Frames of senders we did not wait for (a neighbour list that lags) are aggregated but not counted:
    // received/expected says whether the peers this round waited for delivered.
    const arrived = frames.filter((f) => senders.includes(f.from)).length;
    received += arrived; expected += senders.length;
    if (arrived < senders.length) timedOut = true;
    ctx.setPhase('aggregating');
    const a0 = ctx.clock.now();
    const out = await ctx.algorithm.aggregate(aggregateInput(ctx, frames, round, step, neighbours.length, `aggregate-${step}`, signal, trained.fresh));
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
  const summary: RoundSummary = withModelHash({
    round, time: ctx.clock.now(), age: ctx.state.age,
    trainLoss: Number.isFinite(trained.loss) ? trained.loss : null, samples: trained.samples, evaluation,
    received, expected, timedOut, sendFailures, bytesOut,
    phaseMs: { train: t1 - t0, exchange: t2 - t1 - aggregateMs, aggregate: aggregateMs, evaluate: ctx.clock.now() - t2 },
  }, ctx.state.vector);
  ctx.setPhase('committing');
  await ctx.finishRound(summary);
  ctx.setPhase('idle');
}

/** Whether `signal` ended by its timer (a TimeoutError), not by release or stop. */
const isTimeout = (signal: AbortSignal): boolean => signal.aborted && (signal.reason as { name?: unknown } | null)?.name === 'TimeoutError';

/** A round that waited out its timeout says so, naming the neighbours whose frames did not come. */
function warnTimedOut(ctx: EngineContext, round: number, step: number, senders: readonly string[], frames: readonly { from: string }[]): void {
  const arrived = new Set(frames.map((f) => f.from));
  const missing = senders.filter((s) => !arrived.has(s));
  if (missing.length > 0) ctx.logger.warn({ round, step, waitingFor: missing, timeoutMs: ctx.rounds.timeoutMs }, 'round waited past its timeout for neighbours; going on without them');
}

/** Whom to send to and whom to wait for: every neighbour, or the push-gossip schedule. */
function exchangePlan(ctx: EngineContext, neighbours: string[], round: number): { targets: string[]; senders: string[] } {
  if (ctx.algorithm.targets !== 'one-random') return { targets: neighbours, senders: neighbours };
  if (ctx.pushSchedule) return { targets: ctx.pushSchedule.targets(round), senders: ctx.pushSchedule.senders(round) };
  const rng = ctx.rng(round, 'target');
  return { targets: neighbours.length ? [neighbours[rng.int(neighbours.length)]!] : [], senders: neighbours };
}

/**
 * The senders a round waits for: not those more than one round behind (their announced finished round + 1
 * < round − 1: they jump to the swarm's round and catch up instead), nor those that already finished this
 * round (their frame, if they sent one, came before their announcement; if not, it never will). A
 * neighbour that never announced is awaited (nothing says it is elsewhere).
 */
export function awaitedSenders(senders: readonly string[], round: number, progress: Pick<NeighbourProgress, 'finished'>): string[] {
  return senders.filter((s) => {
    const finished = progress.finished(s);
    return finished === undefined || (finished + 1 >= round - 1 && finished < round);
  });
}

/**
 * Ends the collect of `round` (calls `end`) once waiting can bring nothing more: every awaited sender has
 * announced this round finished, or left the neighbour list (disconnected). Without it a round whose
 * neighbour finished without us (it did not count us as its neighbour yet) waits out its whole timeout.
 * Returns the unsubscribe (null when there is no one to wait for: the collect ends at once anyway).
 */
function endWhenSettled(ctx: EngineContext, senders: readonly string[], round: number, progress: NeighbourProgress, end: () => void): (() => void) | null {
  if (senders.length === 0) return null;
  return progress.onAnnouncement(() => {
    const present = new Set(ctx.neighbours(round));
    if (senders.every((s) => !present.has(s) || (progress.finished(s) ?? -1) >= round)) end();
  });
}
