/**
 * For the tests of vectors reused across rounds (vector-reuse.test.ts, libp2p-swarm-reuse.test.ts): the round
 * collector's evaluations run in the main thread on the weights as they are when asked (the worker pool
 * stages them then) and answer once some peer reported two rounds later. The collector then still reads round
 * r's vectors while round r + 2 trains, which is when a vector given back too early is overwritten, and the
 * vectors it gives back are reused from round r + 3 on. Both follow the swarm's own reports, so they happen on
 * every machine; on the worker pool the answers come in real time, and on a loaded machine all of them came
 * after the last round: nothing was reused and the tests checked nothing (Node 24 CI).
 */
import { evaluateDenseJs } from '../../node/learner/dense-eval.js';
import type { WorkerPool } from '../../node/learner/pool.js';
import type { EvaluateTask } from '../../node/learner/tasks.js';
import { addModel, roundRecord, type RoundPartial } from '../../topology-sim/round-partial.js';
import type { Swarm } from '../../topology-sim/swarm.js';

export interface LateEvaluations {
  /** The round collector's pool: its evaluations answer late (see the module comment). */
  pool: WorkerPool;
  /** Each peer's vector copied when it reported, by round, then by peer. */
  copies: Map<number, Map<number, Float32Array>>;
}

/** Wraps `swarm.run` (call before it runs) to copy each report's vector and answer evaluations late; `rounds` is the run's last round. */
export function lateEvaluations(swarm: Pick<Swarm, 'run' | 'peerAt'>, rounds: number, data: Parameters<typeof evaluateDenseJs>[2]): LateEvaluations {
  const copies = new Map<number, Map<number, Float32Array>>();
  // An evaluation of round r waits until some peer reported round r + 2 (the last rounds': the final round).
  let reported = 0;
  const waiting: Array<{ round: number; answer: () => void }> = [];
  const answerDue = () => {
    for (const w of waiting.filter((x) => reported >= Math.min(x.round + 2, rounds))) { waiting.splice(waiting.indexOf(w), 1); w.answer(); }
  };
  const pool = {
    evaluate: (task: Omit<EvaluateTask, 'kind'>, options: { priority: number }) => {
      const result = evaluateDenseJs(task.spec, task.weights, data, task.indices);
      return new Promise<typeof result>((resolve) => { waiting.push({ round: options.priority, answer: () => resolve(result) }); answerDue(); });
    },
  } as unknown as WorkerPool;
  const realRun = swarm.run.bind(swarm);
  swarm.run = (onRound, options) => realRun((i, s) => {
    copies.set(s.round, (copies.get(s.round) ?? new Map<number, Float32Array>()).set(i, swarm.peerAt(i)!.vector()));
    onRound?.(i, s);
    if (s.round > reported) { reported = s.round; answerDue(); }
  }, options);
  return { pool, copies };
}

/** The copies of one round's vectors in peer order. */
export function copiesOf(copies: LateEvaluations['copies'], round: number): Float32Array[] {
  const byPeer = copies.get(round)!;
  return [...byPeer.keys()].sort((a, b) => a - b).map((i) => byPeer.get(i)!);
}

/** Consensus distance of `vectors` as the collector computes it (same order, same sums). */
export function consensusOf(vectors: Float32Array[]): number {
  const p: RoundPartial = {
    run: '', round: 1, time: 0, accuracies: [], losses: [], sum: new Float64Array(vectors[0]!.length), sumSq: 0, count: 0,
    bytesSentRound: 0, bytesReceivedTotal: 0, rejectedTotal: 0, wall: { train: 0, exchange: 0, aggregate: 0 }, last: false,
  };
  for (const v of vectors) addModel(p, v);
  return roundRecord(p, undefined).consensusDistance;
}
