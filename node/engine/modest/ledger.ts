/**
 * Per-round bookkeeping of a MoDeST peer: one RoundSummary per round it took part in, whatever its roles.
 * "Round r" covers training round r (trainer) and the aggregation of sample index r + 1 (aggregator), which
 * averages round r's models (ALGORITHMS.md §3.2 off-by-one). A role opens when it starts and closes when its
 * sends settled; the summary goes out once no role of the round is open, so a peer that trains and then
 * aggregates the same round reports once, with both roles and all its bytes.
 */
import type { RoundSummary } from '../context.js';

/** A role in a round. */
export type ModestRole = 'trainer' | 'aggregator';

/** What one round accumulated, handed to the emitter. */
export interface RoundAccount {
  readonly round: number;
  readonly roles: Set<ModestRole>;
  trainLoss: number | null;
  samples: number;
  /** Models aggregated and models waited for (aggregator). */
  received: number;
  expected: number;
  timedOut: boolean;
  sendFailures: number;
  bytesOut: number;
  phaseMs: RoundSummary['phaseMs'];
}

interface Entry {
  account: RoundAccount;
  open: Set<ModestRole>;
  settled: Promise<void>;
  settle: () => void;
}

export class RoundLedger {
  private readonly rounds = new Map<number, Entry>();
  private chain: Promise<void> = Promise.resolve();

  /** `emit` persists and publishes one round; emissions run one at a time, in closing order. */
  constructor(private readonly emit: (account: RoundAccount) => Promise<void>, private readonly onError: (err: unknown) => void) {}

  /** True while some role of some round is open. */
  get busy(): boolean {
    for (const e of this.rounds.values()) if (e.open.size > 0) return true;
    return false;
  }

  /** Start `role` in `round`. */
  open(round: number, role: ModestRole): void {
    const e = this.entry(round);
    e.open.add(role);
    e.account.roles.add(role);
  }

  /** Add figures to a round (numbers add up; trainLoss and timedOut are set). */
  add(round: number, patch: Partial<Omit<RoundAccount, 'round' | 'roles' | 'phaseMs'>> & { phaseMs?: Partial<RoundSummary['phaseMs']> }): void {
    const a = this.entry(round).account;
    if (patch.trainLoss !== undefined) a.trainLoss = patch.trainLoss;
    if (patch.timedOut) a.timedOut = true;
    a.samples += patch.samples ?? 0;
    a.received += patch.received ?? 0;
    a.expected += patch.expected ?? 0;
    a.sendFailures += patch.sendFailures ?? 0;
    a.bytesOut += patch.bytesOut ?? 0;
    for (const [k, v] of Object.entries(patch.phaseMs ?? {}) as Array<[keyof RoundSummary['phaseMs'], number]>) a.phaseMs[k] += v;
  }

  /**
   * `role` finished in `round`; the round is emitted when nothing of it is open any more. Resolves once the
   * round was emitted (or found to have nothing to report).
   */
  close(round: number, role: ModestRole): Promise<void> {
    const e = this.rounds.get(round);
    if (e === undefined) return Promise.resolve();
    e.open.delete(role);
    this.maybeEmit(round, e);
    return e.settled;
  }

  /** `role` ended without result (superseded, aborted, too few models): it is not reported. */
  drop(round: number, role: ModestRole): void {
    const e = this.rounds.get(round);
    if (e === undefined) return;
    e.open.delete(role);
    e.account.roles.delete(role);
    this.maybeEmit(round, e);
  }

  private maybeEmit(round: number, e: Entry): void {
    if (e.open.size > 0) return;
    this.rounds.delete(round);
    if (e.account.roles.size === 0) { e.settle(); return; }
    this.chain = this.chain.then(() => this.emit(e.account)).catch(this.onError).finally(e.settle);
  }

  private entry(round: number): Entry {
    let e = this.rounds.get(round);
    if (e === undefined) {
      let settle!: () => void;
      const settled = new Promise<void>((resolve) => { settle = resolve; });
      e = {
        account: {
          round, roles: new Set(), trainLoss: null, samples: 0, received: 0, expected: 0, timedOut: false, sendFailures: 0, bytesOut: 0,
          phaseMs: { train: 0, exchange: 0, aggregate: 0, evaluate: 0 },
        },
        open: new Set(), settled, settle,
      };
      this.rounds.set(round, e);
    }
    return e;
  }
}
