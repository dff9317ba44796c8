/**
 * Question: does /murmur/model cost little over a bare length-prefixed transfer, and do the compact
 * encodings pay for their encode/decode time? Targets (issue 3): a 10 MB model pushed through
 * /murmur/model over TCP+Noise+yamux reaches ≥ 90% of the throughput of a bare lpStream transfer of the
 * same bytes; f16 and q8 move ≥ 1.8× and ≥ 3× the parameters per second of f32.
 *
 * Two nodes in one process over TCP on 127.0.0.1, one connection. Variants:
 *   baseline  a raw protocol handler that lpStream-reads the f32 frame's bytes (contiguous, as a
 *             Float32Array) and acks one byte; timed from opening the stream to the ack.
 *   push f32  Network.send of the pre-encoded f32 frame: stream, frame, the receiver's full validation
 *             (codec.decodeFrame) and its ack.
 *   f32/f16/q8  encode on the sender (into a recycled frame buffer, as the swarms' peers do) +
 *             Network.send (so the receiver's decode is included). The receiver
 *             decodes f16/q8 values into vectors lent from a VectorBank, which its listener hands back (a peer
 *             whose consumer releases frames once read; receive-lender.ts as the receiver's `receiveBuffer`);
 *             f32 values are views.
 * Before the network runs, encode and decode alone are timed per encoding (the profile of the codec
 * share; it also brings them to optimised code, as in a long-running peer).
 *
 * How it is measured, and why (protocols/docs/exchange-tuning.md §14, §17). In this small process V8
 * starts a mark-compact every 120–250 ms of busy time, set off by external (ArrayBuffer) memory; every
 * variant allocates tens of MB per push, so whether one lands inside a given 40–300 ms timed run is close
 * to chance, and one such pause moves a single run by 10–45%. A comparison of one median run per variant
 * against another's then flips with where the pauses fell. So:
 * - Every timed run starts from the same settled heap: a forced full GC (`gc()`, exposed through
 *   v8.setFlagsFromString) and one event-loop turn, so each variant starts with the same external-memory
 *   headroom and no marking cycle in progress.
 * - Rounds: each round runs every variant once, back to back, in alternating order (forward in even rounds,
 *   reversed in odd ones), so a slow or fast stretch of the shared machine and the position after a
 *   given variant hit all variants alike. 1 warm-up round, then ROUNDS timed ones.
 * - The checks are medians of per-round ratios (paired samples: bare / push f32 time, f32 / f16 time,
 *   f32 / q8 time of the same round), not ratios of separate medians.
 * - Every sample is printed with the GC pauses that began inside it (ms, scavenges `s`, mark-compacts `m`;
 *   PerformanceObserver 'gc' entries, main thread), and the summary table gives per-variant medians.
 * "CPU ms" is the process's CPU time over a run, GC helper threads included. The workload (one 10 MB model
 * per push, these variants) and the targets are those of issue 3.
 * Usage: npm run bench -- bench-exchange [--json] [--rounds N]
 */
import '../node/polyfill.js';
import v8 from 'node:v8';
import vm from 'node:vm';
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { lpStream } from '@libp2p/utils';
import { makeLayout } from '../aggregation/layout.js';
import { rngFor } from '../node/data/rng.js';
import { RecyclingNetwork } from '../node/frame-buffers.js';
import { VectorBank } from '../node/vector-bank.js';
import { decodeFrame, encodeModelFrame } from '../protocols/codec.js';
import type { Encoding, FrameMeta } from '../protocols/codec.js';
import { createMurmurNode } from '../protocols/libp2p.js';
import { libp2pNetwork } from '../protocols/libp2p-network.js';
import { lendReceivedValues } from '../protocols/receive-lender.js';
import { frameMayBeQueued } from '../protocols/model-exchange.js';
import { jsonMode, printEnv, summarize, verdict } from './lib/bench.js';
import type { Check, Timing } from './lib/bench.js';

const SWARM = 'bench';
const RAW_PROTOCOL = '/murmur-bench/raw/1.0.0';
const roundsArg = process.argv.indexOf('--rounds');
/** Timed rounds (each runs every variant once); odd, so a median is one round's figure. */
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 11;
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`--rounds needs a positive integer, got ${process.argv[roundsArg + 1]}`);
/** Local codec timings: warm-up + repetitions. */
const REPS = 5;
const WARMUP = 1;
// 2500 × 999 + 2500 = 2,500,000 parameters = 10,000,000 bytes as f32.
const layout = makeLayout([{ name: 'dense/kernel', shape: [2500, 999], role: 'kernel' }, { name: 'dense/bias', shape: [2500], role: 'bias' }]);
const MAX_BYTES = 64 * 1024 * 1024;
const limits = { maxFrameBytes: MAX_BYTES, maxElements: layout.size, maxExtensionBytes: 0, maxRound: 10, maxStep: 10 };
const meta: FrameMeta = { kind: 'model', swarm: SWARM, round: 1, step: 0, degree: 1, age: 1 };

// Collect garbage before each timed run, so one variant's 10 MB buffers are not paid for by the next.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

// GC pauses by start time, to count those inside each timed run (entries arrive asynchronously, read after it).
const gcEntries: PerformanceEntry[] = [];
const gcObserver = new PerformanceObserver((list) => { gcEntries.push(...list.getEntries()); });
gcObserver.observe({ entryTypes: ['gc'] });
/** GC pauses that began in [t0, t1): total ms, scavenges, mark-compacts (Node's NODE_PERFORMANCE_GC_* kinds 1 and 4). */
function gcBetween(t0: number, t1: number): { ms: number; scavenges: number; markCompacts: number } {
  const inside = gcEntries.filter((e) => e.startTime >= t0 && e.startTime < t1);
  const kind = (e: PerformanceEntry): number => (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0;
  return { ms: inside.reduce((sum, e) => sum + e.duration, 0), scavenges: inside.filter((e) => kind(e) === 1).length, markCompacts: inside.filter((e) => kind(e) === 4).length };
}

const rng = rngFor('bench-exchange');
const values = new Float32Array(layout.size);
for (let i = 0; i < values.length; i++) values[i] = 0.05 * rng.normal();

// Local codec cost alone (same data, no network), measured first: it also brings the encoders and
// decoders to optimised code before the network runs, as in a long-running peer.
const local = (encoding: Encoding): { encode: Timing; decode: Timing; bytes: number } => {
  const enc: number[] = [];
  const dec: number[] = [];
  let frame = encodeModelFrame(meta, layout, values, { encoding });
  for (let rep = 0; rep < WARMUP + REPS; rep++) {
    gc();
    let t0 = performance.now();
    frame = encodeModelFrame(meta, layout, values, { encoding });
    if (rep >= WARMUP) enc.push(performance.now() - t0);
    gc();
    t0 = performance.now();
    const r = decodeFrame(frame, { layout, swarm: SWARM, limits });
    if (!r.ok) throw new Error(`decode failed: ${r.reason}`);
    if (rep >= WARMUP) dec.push(performance.now() - t0);
  }
  return { encode: summarize(enc), decode: summarize(dec), bytes: frame.byteLength };
};
const codec = { f32: local('f32'), f16: local('f16'), q8: local('q8') };

const a = await createMurmurNode({ transport: 'tcp', preset: 'swarm', seed: 'bench-exchange-a', listen: ['/ip4/127.0.0.1/tcp/0'] });
const b = await createMurmurNode({ transport: 'tcp', preset: 'swarm', seed: 'bench-exchange-b', listen: ['/ip4/127.0.0.1/tcp/0'] });
const netA = libp2pNetwork({ node: a, swarm: SWARM, layout, limits });
// The receiver lends f16/q8 values from a bank and its consumer hands them back (receive-lender.ts).
const receiveVectors = new VectorBank();
const netB = libp2pNetwork({ node: b, swarm: SWARM, layout, limits, receiveBuffer: lendReceivedValues(receiveVectors, layout.size) });
await netA.start();
await netB.start();
let delivered = 0;
// Asynchronous mode: frames go to this listener, which reads nothing and hands lent values back at once.
netB.onFrame((frame) => { delivered++; if (frame.values !== null) receiveVectors.release(frame.values); });

await b.handle(RAW_PROTOCOL, async (stream) => {
  const lp = lpStream(stream, { maxDataLength: MAX_BYTES, maxBufferSize: MAX_BYTES });
  let u8 = (await lp.read()).subarray();
  if (u8.byteOffset % 4 !== 0) u8 = Uint8Array.prototype.slice.call(u8);
  if (new Float32Array(u8.buffer, u8.byteOffset, u8.byteLength >> 2).length === 0) throw new Error('empty transfer');
  await lp.write(Uint8Array.of(0));
  await stream.close();
}, { maxInboundStreams: 4 });
await a.dial(b.getMultiaddrs()[0]!);

const f32Frame = encodeModelFrame(meta, layout, values);

async function bare(bytes: Uint8Array): Promise<void> {
  const stream = await a.dialProtocol(b.peerId, RAW_PROTOCOL);
  const lp = lpStream(stream, { maxDataLength: 1 });
  await lp.write(bytes);
  await lp.read();
  await stream.close();
}

// The sender encodes into recycled frame buffers as the swarms' peers do (node/frame-buffers.ts): one
// RecyclingNetwork per encoding, since a peer sends one encoding and a recycler reuses only its own size. A
// buffer is lent again once its send settled (the ack means the receiver read every byte; a failure that may
// leave bytes queued below the stream retires it: model-exchange.ts frameMayBeQueued).
const noReaders = { mayRead: () => false }; // over TCP no receiver reads the sender's buffer
const senders = { f32: new RecyclingNetwork(netA, noReaders, frameMayBeQueued), f16: new RecyclingNetwork(netA, noReaders, frameMayBeQueued), q8: new RecyclingNetwork(netA, noReaders, frameMayBeQueued) };

async function endToEnd(encoding: 'f32' | 'f16' | 'q8'): Promise<void> {
  // A new frame object per push, so the network encodes it every time (it caches by frame object).
  await senders[encoding].send(netB.selfId, { kind: 'model', round: meta.round, step: meta.step, degree: meta.degree, age: meta.age, values, encoding });
}

const variants: Record<string, () => Promise<void>> = {
  baseline: () => bare(f32Frame),
  'push f32': async () => { await netA.sendBytes(netB.selfId, f32Frame); },
  f32: () => endToEnd('f32'),
  f16: () => endToEnd('f16'),
  q8: () => endToEnd('q8'),
};
const names = Object.keys(variants);
interface Sample { ms: number; cpuMs: number; t0: number; t1: number }
/** rounds[r][name]: the timed run of `name` in round r. */
const rounds: Record<string, Sample>[] = [];
const orders: string[][] = [];
/** Settle the heap the same way before every timed run (see the module comment). */
const settle = async (): Promise<void> => { gc(); await new Promise((resolve) => setImmediate(resolve)); };
for (let round = -WARMUP; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? names : [...names].reverse();
  const got: Record<string, Sample> = {};
  for (const name of order) {
    await settle();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await variants[name]!();
    const t1 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    got[name] = { ms: t1 - t0, cpuMs: (cpu.user + cpu.system) / 1000, t0, t1 };
  }
  if (round >= 0) { rounds.push(got); orders.push(order); }
}
const expectedDeliveries = (WARMUP + ROUNDS) * 4;
if (delivered !== expectedDeliveries) throw new Error(`receiver got ${delivered} frames, expected ${expectedDeliveries}`);

await netA.stop();
await netB.stop();
await new Promise((resolve) => setTimeout(resolve, 50)); // let the last GC entries arrive
gcObserver.disconnect();
const gcOf = (sample: Sample) => gcBetween(sample.t0, sample.t1);
const gcTag = (g: { scavenges: number; markCompacts: number }): string => `${g.scavenges}s ${g.markCompacts}m`;

const bytesOf: Record<string, number> = {
  baseline: f32Frame.byteLength, 'push f32': f32Frame.byteLength,
  f32: codec.f32.bytes, f16: codec.f16.bytes, q8: codec.q8.bytes,
};
const rows = names.map((name) => {
  const t = summarize(rounds.map((r) => r[name]!.ms));
  const gcs = rounds.map((r) => gcOf(r[name]!));
  const gc = { ms: summarize(gcs.map((g) => g.ms)).median, scavenges: summarize(gcs.map((g) => g.scavenges)).median, markCompacts: summarize(gcs.map((g) => g.markCompacts)).median };
  return { name, bytes: bytesOf[name]!, ms: t, cpuMs: summarize(rounds.map((r) => r[name]!.cpuMs)).median, gc, mbPerS: bytesOf[name]! / 1e6 / (t.median / 1e3), mparamsPerS: layout.size / 1e6 / (t.median / 1e3) };
});
const row = (name: string) => rows.find((r) => r.name === name)!;
/** Per-round throughput ratios (paired: the two runs of one round); the checks take their medians. */
const perRound = rounds.map((r) => ({
  push: r.baseline!.ms / r['push f32']!.ms,
  f16: r.f32!.ms / r.f16!.ms,
  q8: r.f32!.ms / r.q8!.ms,
}));
const pushRatio = summarize(perRound.map((p) => p.push)).median;
const f16Ratio = summarize(perRound.map((p) => p.f16)).median;
const q8Ratio = summarize(perRound.map((p) => p.q8)).median;

printEnv({ model: `${layout.size} params, ${f32Frame.byteLength} bytes as f32`, transport: 'tcp+noise+yamux on 127.0.0.1, one process', rounds: `${WARMUP} warm-up + ${ROUNDS} timed, order alternating; forced full GC before every run` });
if (!jsonMode) {
  console.log('\nvariant     bytes        median ms  (min–max)          MB/s    Mparams/s   CPU ms (all threads)   GC ms  GCs');
  for (const r of rows) {
    console.log(`${r.name.padEnd(10)}  ${String(r.bytes).padStart(10)}  ${r.ms.median.toFixed(1).padStart(8)}  (${r.ms.min.toFixed(1)}–${r.ms.max.toFixed(1)})`.padEnd(56)
      + `${r.mbPerS.toFixed(0).padStart(6)}  ${r.mparamsPerS.toFixed(1).padStart(10)}  ${r.cpuMs.toFixed(1).padStart(7)}`
      + `${r.gc.ms.toFixed(1).padStart(22)}  ${r.gc.scavenges}s ${r.gc.markCompacts}m`);
  }
  console.log('\nevery timed run: ms [GC pauses inside it: ms, scavenges s, mark-compacts m]; per-round ratios');
  console.log(`round  ${names.map((n) => n.padEnd(22)).join('')}push/bare  f16/f32  q8/f32  order`);
  rounds.forEach((r, i) => {
    const cells = names.map((n) => { const g = gcOf(r[n]!); return `${r[n]!.ms.toFixed(1).padStart(6)} [${g.ms.toFixed(0).padStart(2)} ${gcTag(g)}]`.padEnd(22); }).join('');
    const p = perRound[i]!;
    console.log(`${String(i + 1).padStart(5)}  ${cells}${(100 * p.push).toFixed(0).padStart(8)}%  ${p.f16.toFixed(2).padStart(6)}×  ${p.q8.toFixed(2).padStart(5)}×  ${i % 2 === 0 ? 'forward' : 'reversed'}`);
  });
  const lent = receiveVectors.stats();
  const sent = Object.entries(senders).map(([e, n]) => `${e} ${n.stats().created} created, ${n.stats().reused} reused`).join('; ');
  console.log(`receive vectors (f16/q8 values): ${lent.created} created, ${lent.reused} reused; send buffers: ${sent}`);
  console.log('\nlocal codec cost (no network), median ms:');
  for (const [enc, c] of Object.entries(codec)) console.log(`  ${enc}: encode ${c.encode.median.toFixed(2)}, decode ${c.decode.median.toFixed(2)}, ${c.bytes} bytes`);
  console.log('');
}

if (!jsonMode) {
  console.log(`ratios of the per-variant medians (for reference): push/bare ${(100 * row('push f32').mbPerS / row('baseline').mbPerS).toFixed(0)}%, `
    + `f16/f32 ${(row('f16').mparamsPerS / row('f32').mparamsPerS).toFixed(2)}×, q8/f32 ${(row('q8').mparamsPerS / row('f32').mparamsPerS).toFixed(2)}×; the checks use the medians of the per-round ratios`);
  // On a loaded machine wall time is mostly waiting for a core; the CPU medians show what a quiet one would.
  console.log(`ratios of the median CPU times (for reference, not checked): push/bare ${(100 * row('baseline').cpuMs / row('push f32').cpuMs).toFixed(0)}%, `
    + `f16/f32 ${(row('f32').cpuMs / row('f16').cpuMs).toFixed(2)}×, q8/f32 ${(row('f32').cpuMs / row('q8').cpuMs).toFixed(2)}×`);
}
const checks: Check[] = [
  { name: 'push f32 / bare lpStream', pass: pushRatio >= 0.9, figure: `${(100 * pushRatio).toFixed(0)}%`, target: '≥ 90%' },
  { name: 'f16 params/s vs f32', pass: f16Ratio >= 1.8, figure: `${f16Ratio.toFixed(2)}×`, target: '≥ 1.8×' },
  { name: 'q8 params/s vs f32', pass: q8Ratio >= 3, figure: `${q8Ratio.toFixed(2)}×`, target: '≥ 3×' },
];
verdict(checks, { rows, codec, perRound, orders, pushRatio, f16Ratio, q8Ratio });
