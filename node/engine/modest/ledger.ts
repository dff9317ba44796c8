/**
 * Per-round bookkeeping of a MoDeST peer: one RoundSummary per round it took part in, whatever its roles.
 * "Round r" covers training round r (trainer) and the aggregation of sample index r + 1 (aggregator), which
 * averages round r's models (ALGORITHMS.md §3.2 off-by-one). A role opens when it starts and closes when its
 * sends settled; the summary goes out once no role of the round is open, so a peer that trains and then
 * aggregates the same round reports once, with both roles and all its bytes.
 *
 * Summaries go out in increasing round order, each round once: the store commits rounds in increasing order
 * only (a daemon logged "cannot commit round 3 … the last committed round is 4"). Roles do not end in round
 * order — a trainer still pinging a dead aggregator of round r while round r + 1 aggregated, a hand-off
 * repeated by the watchdog after a later round was reported, a restarted peer aggregating a round below the
 * one it resumed — so a finished round waits for the lower rounds still open, and work on a round at or
 * below the last one reported (or the resumed one) is late: it is done, but reported with no round of its own.
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

export interface RoundLedgerInit {
  /** Persists and publishes one round; emissions run one at a time, in increasing round order. */
  emit: (account: RoundAccount) => Promise<void>;
  onError: (err: unknown) => void;
  /** The round the peer resumed (or adopted) before its engine started: already reported, never again. */
  reported: number;
  /** A round's work that ended after the round (or a later one) was reported. */
  onLate?: (account: RoundAccount, reported: number) => void;
}

export class RoundLedger {
  private readonly rounds = new Map<number, Entry>();
  private chain: Promise<void> = Promise.resolve();
  private readonly emit: RoundLedgerInit['emit'];
  private readonly onError: RoundLedgerInit['onError'];
  private readonly onLate: NonNullable<RoundLedgerInit['onLate']>;
  /** The highest round emitted (or resumed). */
  private reported: number;

  constructor(init: RoundLedgerInit) {
    this.emit = init.emit;
    this.onError = init.onError;
    this.reported = init.reported;
    this.onLate = init.onLate ?? (() => {});
  }

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
   * `role` finished in `round`; the round is emitted when nothing of it and of no lower round is open any
   * more. Resolves once the round was emitted (or found to have nothing to report, or to be late).
   */
  close(round: number, role: ModestRole): Promise<void> {
    const e = this.rounds.get(round);
    if (e === undefined) return Promise.resolve();
    e.open.delete(role);
    this.flush();
    return e.settled;
  }

  /** `role` ended without result (superseded, aborted, too few models): it is not reported. */
  drop(round: number, role: ModestRole): void {
    const e = this.rounds.get(round);
    if (e === undefined) return;
    e.open.delete(role);
    e.account.roles.delete(role);
    this.flush();
  }

  /**
   * Emit the finished rounds above the last reported one, lowest first, up to the first one still open;
   * settle finished late ones (at or below it) without emitting. Late rounds never hold later ones back.
   */
  private flush(): void {
    for (const round of [...this.rounds.keys()].sort((a, b) => a - b)) {
      const e = this.rounds.get(round)!;
      const late = round <= this.reported;
      if (e.open.size > 0) {
        if (late) continue;
        return;
      }
      this.rounds.delete(round);
      if (e.account.roles.size === 0) { e.settle(); continue; }
      if (late) { this.onLate(e.account, this.reported); e.settle(); continue; }
      this.reported = round;
      this.chain = this.chain.then(() => this.emit(e.account)).catch(this.onError).finally(e.settle);
    }
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
