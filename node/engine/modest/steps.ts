/** The MoDeST engine's hand-offs to the shared machinery: an aggregator's input, an announcement, a finished round's summary. */
import type { AggregateInput, Contribution } from '../../algorithms/types.js';
import { withModelHash } from '../../model-hash.js';
import type { MembershipAdvertisement } from '../../network.js';
import type { EngineContext } from '../context.js';
import { evaluateIfDue } from '../steps.js';
import type { RoundAccount } from './ledger.js';
import type { Membership } from './membership.js';
import type { ModestSettings } from './settings.js';

/** What the aggregator of sample index `index` averages: the trained models it holds, in sender order. */
export function aggregateInput(ctx: EngineContext, received: Contribution[], index: number, viewSize: number, signal: AbortSignal): AggregateInput {
  return {
    own: ctx.algorithm.extract(ctx.state.vector), ownAge: ctx.state.age, degree: viewSize, received, round: index, step: 0,
    rng: ctx.rng(index, 'aggregate'), full: ctx.state.vector, trainIndices: ctx.trainIndices, labels: ctx.labels,
    evaluate: (full, indices) => ctx.pool.evaluate({ spec: ctx.spec, weights: full, dataset: ctx.dataset, indices }, { signal }),
  };
}

/** Announce the round (a beacon: idle peers learn it), with a membership change when there is one (§3.3). */
export function announceRound(ctx: EngineContext, algorithm: string, round: number, viewSize: number, membership?: MembershipAdvertisement): Promise<void> {
  return ctx.network.announce({
    swarm: ctx.swarm, round, degree: Math.min(viewSize, 0xffff), age: ctx.state.age, algorithm,
    layoutHash: ctx.algorithm.exchangeLayout.hash, addresses: [], ...(membership !== undefined ? { membership } : {}),
  });
}

/**
 * A daemon paces itself (rounds.minRoundMs; 0 in simulations): a trainer hands its model on no sooner than
 * minRoundMs after it started the round, so a small model does not run rounds back to back and starve a
 * shared CPU (sync rounds pad their rounds the same way).
 */
export async function paceRound(ctx: EngineContext, startedAt: number, signal: AbortSignal): Promise<void> {
  const rest = ctx.rounds.minRoundMs - (ctx.clock.now() - startedAt);
  if (rest > 0) await ctx.clock.sleep(rest, { signal });
}

/** A join advertisement that could not be published (no gossipsub peer yet) is retried this often… */
const ADVERTISE_RETRY_MS = 1000;
/** …at most this many times in all. */
const ADVERTISE_ATTEMPTS = 5;

/** Publish a join advertisement, retrying while nobody is there to take it; gives up with a warning. */
export async function announceWithRetry(ctx: EngineContext, announce: () => Promise<void>, signal: AbortSignal): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await announce();
      return;
    } catch (err) {
      if (signal.aborted || attempt >= ADVERTISE_ATTEMPTS) { ctx.logger.warn({ err }, 'could not advertise the join'); return; }
      await ctx.clock.sleep(ADVERTISE_RETRY_MS, { signal });
    }
  }
}

/** Evaluate if due and publish one round's account (what this peer did as trainer and aggregator). */
export async function finishRound(ctx: EngineContext, a: RoundAccount, signal: AbortSignal): Promise<void> {
  const e0 = ctx.clock.now();
  const evaluation = await evaluateIfDue(ctx, a.round, signal);
  a.phaseMs.evaluate += ctx.clock.now() - e0;
  await ctx.finishRound(withModelHash({
    round: a.round, time: ctx.clock.now(), age: ctx.state.age, trainLoss: a.trainLoss,
    samples: a.samples, evaluation, received: a.received, expected: a.expected, timedOut: a.timedOut, sendFailures: a.sendFailures,
    bytesOut: a.bytesOut, phaseMs: { ...a.phaseMs }, roles: [...a.roles].sort(),
  }, ctx.state.vector));
}

/**
 * What `murmur status` shows of a MoDeST peer: view size, sample index (the round estimate), the trainers and
 * aggregators this view derives for it (no pings), our role there ('trainer', 'aggregator', both, 'none', or
 * 'dormant' / 'left'), and the joins held back until our next send.
 */
export function modestStatus(view: Membership | null, estimate: number, s: ModestSettings, self: string, phase: 'dormant' | 'active' | 'left'): Record<string, unknown> {
  if (view === null) return { viewSize: 0, sampleIndex: 0, sample: [], aggregators: [], role: 'starting', pendingJoins: 0 };
  const order = view.order(Math.max(1, estimate));
  const sample = order.slice(0, s.sampleSize), aggregators = order.slice(0, s.aggregators);
  const roles = [sample.includes(self) ? 'trainer' : '', aggregators.includes(self) ? 'aggregator' : ''].filter(Boolean);
  const role = phase !== 'active' ? phase : roles.join('+') || 'none';
  return { viewSize: view.size, sampleIndex: estimate, sample, aggregators, role, pendingJoins: view.pendingJoins };
}
