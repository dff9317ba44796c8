/**
 * The MoDeST engine (de Vos et al., arXiv 2302.13837 v1; ALGORITHMS.md §3.2), the third engine beside
 * synchronous rounds and asynchronous gossip. Event-driven: frames and announcements move it on.
 *
 * - Trainer of round r, on the average of sample index r (or, in a fresh swarm, if it is in the first s of
 *   order(1): the shared initial model, no pings): trains, pings along order(r + 1) for a aggregators and
 *   sends them its model as kind 'model' with round = r + 1 (the off-by-one), piggybacking its view.
 * - Aggregator of sample index k: stores one model per sender; at ⌊s·sf⌋ models (or at the timeout, if it
 *   holds minModels) it averages, pings along order(k) for s trainers and sends them the average as kind
 *   'aggregate' with round = k, then announces round k (a beacon, so idle peers know the round and stop).
 * - Membership: views merge on every frame, joins wait until our next send, leaves apply at once (§3.3).
 *   A peer that `isOnline(round)` says is not there yet stays dormant, then advertises its join.
 * - Liveness (ours): a trainer or aggregator that sees no aggregation of the next index within
 *   progressTimeoutMs repeats its last hand-off to whoever answers now (ALGORITHMS.md §3.2 HEAD AggAck retry);
 *   while it waits it probes the peers it handed to (and those its view now puts first) every probeEveryMs, and
 *   repeats the hand-off at once when one is known gone or one ahead answers (watch.ts).
 * Model updates are serialised through one lock; timeouts use ctx.clock; sends are shuffled with ctx.rng.
 */
import type { Contribution } from '../../algorithms/types.js';
import { anySignal } from '../../deadline.js';
import type { Announcement, MembershipAdvertisement, OutgoingFrame, ReceivedFrame } from '../../network.js';
import type { EngineContext } from '../context.js';
import type { Engine } from '../engine.js';
import { sendToAll, toContributions, trainLocal } from '../steps.js';
import { newAggregation, onlyGoneMissing, type Aggregation } from './aggregation.js';
import { firstAvailable, PeerPings, probeMissing } from './availability.js';
import { ModestConfigError } from './errors.js';
import { RoundLedger } from './ledger.js';
import { heardLive, Membership, pruneSilent } from './membership.js';
import type { ModestSettings } from './settings.js';
import { aggregateInput, announceRound, announceWithRetry, finishRound, modestStatus, paceRound } from './steps.js';
import { EngineTasks } from './tasks.js';
import { aggregatedRound, aggregationQuorum, modelsNeeded, trainedModelIndex } from './view.js';
import { ProgressWatch, type HandOffProbe } from './watch.js';

/** Registry name MoDeST peers announce under; other algorithms' announcements are ignored. */
export const MODEST_ALGORITHM = 'modest';
/** A newcomer contacts this many known peers per sampled trainer (HEAD: min(10·s, |known|)). */
const JOIN_CONTACTS_PER_SAMPLE = 10;

export class ModestEngine implements Engine {
  private membership: Membership | null = null;
  private phase: 'dormant' | 'active' | 'left' = 'dormant';
  private signal: AbortSignal = new AbortController().signal;
  private trainEstimate = 0; private trainedUpTo = 0;
  private aggEstimate = 0; private aggregatedUpTo = 0; private announced = 0;
  private training: { index: number; controller: AbortController } | null = null;
  private agg: Aggregation | null = null;
  /** The last sample index whose aggregation was dropped for too few models. */
  private droppedIndex = -1;
  private tasks = new EngineTasks(this.signal, () => {});
  private watchdog: ProgressWatch | null = null; private pings: PeerPings | null = null;
  private readonly ledger: RoundLedger;
  private readonly s: ModestSettings;
  private readonly needed: number;

  constructor(private readonly ctx: EngineContext, settings: ModestSettings | undefined) {
    if (settings === undefined) throw new ModestConfigError('the MoDeST engine needs its settings as engine options (the registry entry node/algorithms/modest.ts gives them)');
    this.s = settings;
    this.needed = modelsNeeded(this.s.sampleSize, this.s.successFraction);
    // Engines start after the join phase: ctx.state.round is the round the peer resumed from its store.
    this.ledger = new RoundLedger({
      emit: (a) => finishRound(ctx, a, this.signal), onError: (err) => this.failed(err, 'round summary'), reported: ctx.state.round,
      onLate: (a, reported) => ctx.logger.debug({ round: a.round, roles: [...a.roles], reported }, 'late work on a round already reported; no summary of its own'),
    });
  }

  private get maxRounds(): number { return this.ctx.rounds.maxRounds; }
  private get view(): Membership { return this.membership!; }

  /** Run until the round estimate passes maxRounds with no work left, or until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { ctx } = this;
    this.signal = signal;
    this.tasks = new EngineTasks(signal, (err) => this.failed(err, 'task'), () => this.watchdog?.onChange());
    this.watchdog = new ProgressWatch({
      clock: ctx.clock, tasks: this.tasks, logger: ctx.logger, signal, baseMs: this.s.progressTimeoutMs,
      // An aggregation of index k happened once we heard its beacon, got its average, or did it.
      level: () => Math.max(this.announced, this.trainEstimate, this.aggregatedUpTo), active: () => this.phase === 'active',
      probeEveryMs: this.s.probeEveryMs,
    });
    this.membership = new Membership(ctx.selfId, ctx.neighbours(0), this.s.inactivityThreshold);
    this.pings = new PeerPings(ctx, this.s.pingTimeoutMs, signal, (peer) => this.view.touch(peer, this.estimate()));
    this.trainEstimate = this.trainedUpTo = ctx.state.round;
    // A fresh peer joining a running swarm knows its round from the join phase's announcements: no bootstrap.
    this.announced = Math.max(0, ctx.progress.swarmRound() - 1);
    const offFrame = ctx.network.onFrame((f) => this.onFrame(f));
    const offAnnouncement = ctx.network.onAnnouncement((from, m) => this.onAnnouncement(from, m));
    try {
      await this.tasks.until(() => ctx.isOnline(this.estimate()) || this.estimate() > this.maxRounds);
      if (this.estimate() <= this.maxRounds) {
        this.phase = 'active';
        this.tasks.track(this.advertiseJoin());
        // Bootstrap (§3.2): in a fresh swarm the first s of order(1) train the shared initial model, no pings.
        if (this.estimate() === 0 && this.view.derived(1, this.s.sampleSize).includes(ctx.selfId)) this.onAggregate(1, ctx.state.vector);
      }
      await this.tasks.until(() => this.isDone());
    } finally {
      offFrame();
      offAnnouncement();
      await this.tasks.drain();
    }
  }

  /** Graceful leave (§3.3): advertise LEAVE with the next membership index; the Peer stops afterwards. */
  async leave(): Promise<void> {
    if (this.membership === null || this.phase === 'left') return;
    const wasActive = this.phase === 'active';
    this.phase = 'left';
    const adv = this.view.advertise('leave');
    this.training?.controller.abort();
    if (wasActive) await this.announce(this.estimate(), adv).catch((err: unknown) => this.ctx.logger.warn({ err }, 'could not advertise the leave'));
    this.tasks.poke();
  }

  /** What `murmur status` shows (steps.ts modestStatus). */
  status(): Record<string, unknown> {
    return modestStatus(this.membership, this.estimate(), this.s, this.ctx.selfId, this.phase);
  }

  /** max(own train round, highest aggregation index, highest round in the view, announced rounds) (§3.3). */
  private estimate(): number {
    return Math.max(this.trainEstimate, this.aggEstimate, this.membership?.highestRound ?? 0, this.announced, this.ctx.state.round);
  }

  private isDone(): boolean {
    return this.estimate() > this.maxRounds && this.training === null && !(this.agg !== null && !this.agg.done) && !this.ledger.busy && this.tasks.size === 0;
  }

  private onFrame(f: ReceivedFrame): void {
    if (this.phase !== 'active') return;
    const h = f;
    if (h.kind === 'ranking') return;
    if (f.view === null) {
      this.ctx.logger.debug({ from: f.from, problem: f.viewProblem ?? 'no view' }, 'MoDeST frame with an invalid view ignored');
      return;
    }
    this.view.merge(f.view);
    this.heardFrom(f.from, Math.max(h.round, this.estimate()));
    this.view.touch(f.from, Math.max(h.round, this.estimate()));
    const c = toContributions([f], this.ctx.algorithm.extract(this.ctx.state.vector))[0]!;
    if (c.values !== null) {
      if (h.kind === 'model') this.onTrained(c, h.round);
      else this.onAggregate(h.round, this.ctx.algorithm.insert(this.ctx.state.vector, c.values));
    }
    this.tasks.poke();
  }

  private onAnnouncement(from: string, m: Announcement): void {
    if (m.swarm !== this.ctx.swarm || m.algorithm !== MODEST_ALGORITHM || m.layoutHash !== this.ctx.algorithm.exchangeLayout.hash) return;
    this.announced = Math.max(this.announced, m.round);
    if (m.membership?.change !== 'leave') this.heardFrom(from, m.round);
    if (m.membership !== undefined && this.phase !== 'left') this.view.onAdvertisement(from, m.membership, Math.max(m.round, this.estimate()));
    if (m.membership === undefined) this.supersede(m.round); // a beacon: index m.round was aggregated
    this.tasks.poke();
  }

  /** The average of sample index `index` (from an aggregator, or ourselves): train round `index` once. */
  private onAggregate(index: number, full: Float32Array): void {
    if (index < 1 || index > this.maxRounds) return;
    this.supersede(index);
    if (index > this.trainEstimate) {
      this.trainEstimate = index;
      if (this.training !== null && this.training.index < index) this.training.controller.abort();
    }
    if (index !== this.trainEstimate || this.trainedUpTo >= index) return;
    this.trainedUpTo = index;
    this.tasks.track(this.train(index, full));
  }

  private async train(round: number, start: Float32Array): Promise<void> {
    const { ctx } = this;
    const training = { index: round, controller: new AbortController() };
    this.training = training;
    this.ledger.open(round, 'trainer');
    const t0 = ctx.clock.now();
    let trained: Float32Array, loss: number, samples: number, trainMs: number;
    try {
      ({ trained, loss, samples } = await this.tasks.withLock(async () => {
        ctx.state.vector = start;
        ctx.setPhase('training');
        const r = await trainLocal(ctx, round, anySignal(this.signal, training.controller.signal));
        ctx.state.round = Math.max(ctx.state.round, round);
        return { trained: ctx.state.vector, ...r };
      }));
      trainMs = ctx.clock.now() - t0;
      await paceRound(ctx, t0, anySignal(this.signal, training.controller.signal));
    } catch (err) {
      this.ledger.drop(round, 'trainer');
      if (this.signal.aborted || !training.controller.signal.aborted) throw err;
      ctx.logger.debug({ round }, 'training superseded by a newer round');
      return;
    } finally {
      if (this.training === training) this.training = null;
    }
    this.view.touch(ctx.selfId, round);
    this.ledger.add(round, { trainLoss: Number.isFinite(loss) ? loss : null, samples, phaseMs: { train: trainMs } });
    const handOff = { peers: await this.sendTrained(round, trained, false) };
    this.ledger.close(round, 'trainer');
    // Watch both our model's aggregation and the next one: if the aggregator or the next trainers died, sending
    // our model again (to whoever answers now) restarts the chain; an aggregator known gone is replaced at once.
    this.watchdog!.watch(trainedModelIndex(round), Math.min(trainedModelIndex(round) + 1, this.maxRounds + 1),
      async () => { handOff.peers = await this.sendTrained(round, trained, true); }, this.probeOf(handOff, trainedModelIndex(round), this.s.aggregators));
  }

  /** Probes of a hand-off's peers (the latest, in `handOff`) and of the first `count` of our order(index) it missed (watch.ts "Ahead"). */
  private probeOf(handOff: { peers: readonly string[] }, index: number, count: number): HandOffProbe {
    const flush = this.view.flushCount; // the hand-off's own send flushed the joins it held back: not "ahead" (§3.3)
    const ahead = (): string[] => this.view.derived(index, count).filter((p) => p !== this.ctx.selfId && !handOff.peers.includes(p) && !this.view.joinedSinceFlush(p, flush));
    return { peers: () => handOff.peers, alive: (peer) => this.pings!.ping(peer), ahead };
  }

  /** A model trained in round r goes to the first a available peers of order(r + 1) (§3.2 off-by-one); returns them, ourselves excluded. */
  private async sendTrained(round: number, trained: Float32Array, again: boolean): Promise<string[]> {
    const { ctx } = this;
    const index = trainedModelIndex(round);
    if (again) this.ledger.open(round, 'trainer');
    const t0 = ctx.clock.now();
    const aggregators = await this.available(index, this.s.aggregators);
    if (aggregators.includes(ctx.selfId)) {
      this.onTrained({ from: ctx.selfId, values: ctx.algorithm.extract(trained), rankings: null, degree: this.view.size, age: ctx.state.age }, index);
    }
    const others = aggregators.filter((p) => p !== ctx.selfId);
    const sent = await this.sendTo(others, 'model', index, trained);
    this.ledger.add(round, { ...sent, phaseMs: { exchange: ctx.clock.now() - t0 } });
    if (again) this.ledger.close(round, 'trainer');
    return others;
  }

  /** A trained model of sample index `index`: one per sender; aggregate at ⌊s·sf⌋ (§3.2). */
  private onTrained(c: Contribution, index: number): void {
    if (index < 2 || index > this.maxRounds + 1 || index < this.aggEstimate) return;
    let agg = this.agg;
    if (agg === null || index > agg.index) {
      if (agg !== null && !agg.done) this.abandon(agg);
      agg = this.startAggregation(index);
    } else if (agg.done) return;
    if (!agg.models.has(c.from)) agg.models.set(c.from, c);
    // An index dropped once is late already: its second try goes on at minModels, without another timeout.
    if (agg.models.size >= (agg.index === this.droppedIndex ? this.quorum(agg.index).minimum : this.quorum(agg.index).expected)) this.tasks.track(this.complete(agg, false));
  }

  /** The aggregation quorum of `index` (view.ts aggregationQuorum: capped by our candidates for the round it averages). */
  private quorum(index: number): { expected: number; minimum: number } {
    return aggregationQuorum(this.needed, this.s.minModels, this.view.candidateCount(aggregatedRound(index)));
  }

  private startAggregation(index: number): Aggregation {
    const agg = newAggregation(index);
    this.agg = agg;
    this.aggEstimate = Math.max(this.aggEstimate, index);
    this.ledger.open(aggregatedRound(index), 'aggregator');
    const timer = anySignal(this.signal, agg.controller.signal);
    this.tasks.track(this.ctx.clock.sleep(this.s.aggregationTimeoutMs, { signal: timer }).then(() => this.onTimeout(agg), () => {}));
    if (this.s.probeEveryMs > 0) {
      const missing = (): string[] => this.view.derived(aggregatedRound(index), this.s.sampleSize).filter((p) => p !== this.ctx.selfId && !agg.models.has(p));
      this.tasks.track(probeMissing(this.ctx.clock, this.s.probeEveryMs, timer, missing, (p) => this.pings!.ping(p), (gone) => this.onGone(agg, gone)));
    }
    return agg;
  }

  /** Trainers known gone send nothing: wait for the others only, never below minModels before the timeout; after it, not for the gone (aggregation.ts). */
  private onGone(agg: Aggregation, gone: readonly string[]): void {
    for (const p of gone) agg.gone.add(p);
    const q = this.quorum(agg.index), lost = gone.filter((p) => !agg.models.has(p)).length;
    const late = agg.index === this.droppedIndex && agg.models.size > 0 && this.onlyGoneMissing(agg);
    if (agg.done || (!late && agg.models.size < Math.max(q.minimum, q.expected - lost))) return;
    this.ctx.logger.info({ index: agg.index, models: agg.models.size, gone, late }, 'sampled trainers gone; aggregating what arrived');
    this.tasks.track(this.complete(agg, late));
  }

  private onlyGoneMissing(agg: Aggregation): boolean { return onlyGoneMissing(agg, this.view.derived(aggregatedRound(agg.index), this.s.sampleSize)); }

  /** §3.2: at the timeout, aggregate if ≥ minModels arrived, else drop. Ours: see aggregation.ts (a second timeout, unless all missing are gone). */
  private async onTimeout(agg: Aggregation): Promise<void> {
    if (agg.done) return;
    if (agg.models.size >= this.quorum(agg.index).minimum || (agg.models.size > 0 && (agg.index === this.droppedIndex || this.onlyGoneMissing(agg)))) return this.complete(agg, true);
    this.ctx.logger.warn({ index: agg.index, models: agg.models.size, minModels: this.quorum(agg.index).minimum }, 'aggregation timed out with too few models; one more timeout, then it goes on with what arrived');
    this.droppedIndex = agg.index;
    const timer = anySignal(this.signal, agg.controller.signal);
    this.tasks.track(this.ctx.clock.sleep(this.s.aggregationTimeoutMs, { signal: timer }).then(() => this.onTimeout(agg), () => {}));
  }

  /** Index `index` was aggregated (its average or beacon reached us): our aggregation of it or before is stale (aggregation.ts). */
  private supersede(index: number): void {
    const agg = this.agg;
    if (agg === null || agg.done || agg.index > index) return;
    this.ctx.logger.info({ index: agg.index, models: agg.models.size, aggregated: index }, 'this index was aggregated elsewhere; our aggregation of it is dropped');
    this.abandon(agg);
  }

  private abandon(agg: Aggregation): void {
    agg.done = true;
    agg.controller.abort();
    this.ledger.drop(aggregatedRound(agg.index), 'aggregator');
  }

  private async complete(agg: Aggregation, timedOut: boolean): Promise<void> {
    if (agg.done) return;
    agg.done = true;
    agg.controller.abort();
    const { ctx } = this;
    const round = aggregatedRound(agg.index);
    const t0 = ctx.clock.now();
    const received = [...agg.models.values()].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
    const global = await this.tasks.withLock(async () => {
      ctx.setPhase('aggregating');
      const out = await ctx.algorithm.aggregate(aggregateInput(ctx, received, agg.index, this.view.size, this.signal));
      if (out === null) return null;
      ctx.state.vector = ctx.algorithm.insert(ctx.state.vector, out.vector);
      ctx.state.age = out.age;
      ctx.state.round = Math.max(ctx.state.round, round);
      return ctx.state.vector;
    });
    if (global === null) { this.ledger.drop(round, 'aggregator'); return; }
    this.aggregatedUpTo = Math.max(this.aggregatedUpTo, agg.index);
    this.view.touch(ctx.selfId, agg.index);
    this.ledger.add(round, { received: received.length, expected: this.quorum(agg.index).expected, timedOut, phaseMs: { aggregate: ctx.clock.now() - t0 } });
    const trainers = agg.index <= this.maxRounds ? await this.handOut(agg.index, global, round, false) : [];
    this.tasks.track(this.announce(agg.index).catch((err: unknown) => ctx.logger.debug({ err }, 'round beacon not published')));
    const emitted = this.ledger.close(round, 'aggregator');
    // Our trainers are probed: one known gone is replaced at once by the next available peer of the order.
    const handOff = { peers: trainers.filter((p) => p !== ctx.selfId) };
    if (agg.index <= this.maxRounds) {
      this.watchdog!.watch(agg.index + 1, agg.index + 1, async () => {
        handOff.peers = (await this.handOut(agg.index, global, round, true)).filter((p) => p !== ctx.selfId);
      }, this.probeOf(handOff, agg.index, this.s.sampleSize));
    }
    if (trainers.includes(ctx.selfId)) {
      // Our own summary of this round goes first, so it reports the average rather than the next training.
      await emitted;
      this.onAggregate(agg.index, global);
    }
  }

  /** The average of sample index k goes to the first s available peers of order(k). */
  private async handOut(index: number, global: Float32Array, round: number, again: boolean): Promise<string[]> {
    if (again) this.ledger.open(round, 'aggregator');
    const t0 = this.ctx.clock.now();
    const trainers = await this.available(index, this.s.sampleSize);
    const sent = await this.sendTo(trainers.filter((p) => p !== this.ctx.selfId), 'aggregate', index, global);
    this.ledger.add(round, { ...sent, phaseMs: { exchange: this.ctx.clock.now() - t0 } });
    if (again) {
      this.ledger.close(round, 'aggregator');
      if (trainers.includes(this.ctx.selfId)) this.onAggregate(index, global);
    }
    return trainers;
  }

  /** A live swarm (the daemon): a peer we hear from is a member, and silent ones are pruned (membership.ts heardLive). */
  private heardFrom(peer: string, round: number): void {
    if (this.phase !== 'left') heardLive(this.view, peer, round, this.ctx);
  }

  private available(index: number, count: number): Promise<string[]> {
    pruneSilent(this.view, this.ctx);
    return firstAvailable(this.view.order(index), count, this.ctx.selfId, (peer) => this.pings!.ping(peer));
  }

  /** Encode once (the view piggybacked in the extension), send to every target, then apply held-back joins. */
  private async sendTo(targets: readonly string[], kind: 'model' | 'aggregate', index: number, full: Float32Array): Promise<{ bytesOut: number; sendFailures: number }> {
    this.signal.throwIfAborted();
    if (targets.length === 0) { this.view.flushPending(); return { bytesOut: 0, sendFailures: 0 }; }
    const { ctx } = this;
    ctx.setPhase('exchanging');
    const frame: OutgoingFrame = {
      kind, round: index, step: 0, degree: Math.min(this.view.size, 0xffff), age: ctx.state.age,
      values: ctx.algorithm.extract(full), encoding: ctx.algorithm.encoding, view: this.view.entries(),
    };
    // Shuffled for load balancing as the authors do; seeded, so a simulation replays.
    const order = ctx.rng(index, `modest-${kind}`).shuffle([...targets]);
    const sent = await sendToAll(ctx, frame, order, this.signal, (peer) => this.view.touch(peer, this.estimate()));
    this.view.flushPending();
    ctx.setPhase('idle');
    return { bytesOut: sent.bytes, sendFailures: sent.failures };
  }

  /**
   * §3.3 Join: advertise JOIN on the swarm topic (receivers hold it until their next send). Joining a running swarm, first ping
   * min(10·s, known) random known peers (over libp2p that opens gossipsub's connections); fresh, all views hold everyone.
   */
  private async advertiseJoin(): Promise<void> {
    const { ctx } = this;
    const adv = this.view.advertise('join');
    if (this.estimate() > 0) {
      const known = this.view.order(this.estimate()).filter((p) => p !== ctx.selfId);
      const contacts = ctx.rng(this.estimate(), 'modest-join').sample(known, Math.min(JOIN_CONTACTS_PER_SAMPLE * this.s.sampleSize, known.length));
      await Promise.all(contacts.map((p) => this.pings!.ping(p)));
    }
    await announceWithRetry(ctx, () => this.announce(this.estimate(), adv), this.signal);
  }

  private announce(round: number, membership?: MembershipAdvertisement): Promise<void> {
    return announceRound(this.ctx, MODEST_ALGORITHM, round, this.view.size, membership);
  }

  private failed(err: unknown, what: string): void {
    if (!this.signal.aborted) this.ctx.logger.error({ err }, `MoDeST ${what} failed`);
  }
}
