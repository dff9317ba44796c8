/**
 * Question: does a live peer survive generated and mutated frames on /murmur/model/1.0.0, refuse every
 * invalid one for the reason its codec gives, and show each refusal in `murmur peers`? Targets (issue 7):
 * 10,000 frames, 0 crashes, 0 invalid frames accepted, every rejection counted by reason.
 *
 * Starts a real `murmur daemon` (mlp 784-16-10 on the built-in digits, loopback only), reads its layout and
 * swarm from the control API, dials it from an in-process libp2p node and pushes frames, 4 streams at a
 * time: valid ones, truncated, oversized (past the stream cap or by header), wrong lengths, another layout,
 * NaN/±Inf, unknown encodings/kinds/versions, another swarm, garbage bytes and random mutations (bit flips,
 * header fields, payload runs). Every frame is seeded by (seed, index). The oracle is the same codec run
 * locally: an invalid frame the daemon accepts, or a reason that differs, is a failure. Valid frames carry
 * round 0 or a far-future round, so they are checked and buffered but never merged into the daemon's model.
 * The test test/fuzz/live-peer.fuzz.test.ts runs 1,000 of the same frames in CI.
 * Usage: npm run bench -- fuzz-peer [--count 10000] [--seed 1] [--json]
 */
import '../node/polyfill.js';
import { deadline } from '../node/deadline.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { makeLayout, type Layout } from '../aggregation/layout.js';
import type { ModelInfo, PeerInfo, StatusInfo } from '../node/control/types.js';
import { rngFor, type Rng } from '../node/data/rng.js';
import { DEFAULT_FRAME_LIMITS, decodeFrame, encodeModelFrame, type Encoding, type FrameMeta } from '../protocols/codec.js';
import { createMurmurNode, type MurmurNode } from '../protocols/libp2p.js';
import { largestFrameBytes } from '../protocols/libp2p-network.js';
import { modelExchange, type ModelExchange } from '../protocols/model-exchange.js';
import { RemoteRejectedError } from '../protocols/errors.js';
import { cli, spawnDaemon, startedDaemon } from './lib/daemon-harness.js';
import { jsonMode, printEnv, verdict, type Check } from './lib/bench.js';
import { fixedReceiver } from '../protocols/receiver.js';

/** What a case was built to be; the expected outcome comes from the local codec, not from this label. */
export type FuzzKind = 'valid' | 'truncated' | 'oversized' | 'wrong-length' | 'foreign-layout' | 'non-finite'
  | 'unknown-encoding' | 'foreign-swarm' | 'garbage' | 'mutated';
/** Share of each kind among the cases, in percent (sums to 100). */
const KIND_WEIGHTS: ReadonlyArray<[FuzzKind, number]> = [
  ['valid', 10], ['truncated', 10], ['oversized', 6], ['wrong-length', 10], ['foreign-layout', 8], ['non-finite', 10],
  ['unknown-encoding', 8], ['foreign-swarm', 5], ['garbage', 13], ['mutated', 20],
];
/** Every kind, in the order of KIND_WEIGHTS. */
export const FUZZ_KINDS: readonly FuzzKind[] = KIND_WEIGHTS.map(([k]) => k);
/** Outcomes that mean the receiver's codec accepted the frame (the inbox may still refuse to keep it). */
const CODEC_ACCEPTED = new Set(['accepted', 'duplicate', 'stale', 'inbox-full']);
const FAR_FUTURE_ROUND = 2 ** 32 - 1;

/** The receiver under test: its layout and swarm, and where its stream read stops (largestFrameBytes). */
export interface FuzzTarget { readonly layout: Layout; readonly swarm: string; readonly maxFrameBytes: number }

/** One frame to send and what the receiver must answer: 'valid', or the codec's reject reason. */
export interface FuzzCase { readonly index: number; readonly kind: FuzzKind; readonly bytes: Uint8Array; readonly expected: string }

/** What the receiver should answer to `bytes`: the stream cap first, then the codec with its default limits. */
export function expectedOutcome(target: FuzzTarget, bytes: Uint8Array): string {
  if (bytes.length > target.maxFrameBytes) return 'oversized';
  const r = decodeFrame(bytes, { layout: target.layout, swarm: target.swarm, limits: DEFAULT_FRAME_LIMITS });
  return r.ok ? 'valid' : r.reason;
}

/** A builder of seeded cases for `target`: case i depends only on (seed, i). */
export function fuzzCases(target: FuzzTarget, seed: string | number): (index: number) => FuzzCase {
  const { layout, swarm } = target;
  const n = layout.size;
  const base = rngFor('fuzz-peer', seed, 'base');
  const values = Float32Array.from({ length: n }, () => 0.05 * base.normal());
  const meta: FrameMeta = { kind: 'model', swarm, round: 0, step: 0, degree: 1, age: 1 };
  const encodings: Encoding[] = ['f32', 'f16', 'q8', 'topk'];
  const bases = encodings.flatMap((encoding) => [
    { encoding, bytes: encodeModelFrame(meta, layout, values, { encoding, topkFraction: 0.25 }) },
    { encoding, bytes: encodeModelFrame({ ...meta, kind: 'aggregate', round: FAR_FUTURE_ROUND }, layout, values, { encoding, topkFraction: 0.5 }) },
  ]);
  // Same size, another description: a different layout hash.
  const otherLayout = makeLayout([{ name: 'other', shape: [n], role: 'kernel' }]);
  const pickBase = (rng: Rng, encoding?: Encoding) => {
    const pool = encoding === undefined ? bases : bases.filter((b) => b.encoding === encoding);
    const b = pool[rng.int(pool.length)]!;
    return { encoding: b.encoding, bytes: b.bytes.slice() };
  };
  const garbage = (rng: Rng, length: number): Uint8Array => {
    const words = new Uint32Array((length + 3) >> 2);
    for (let i = 0; i < words.length; i++) words[i] = rng.uint32();
    return new Uint8Array(words.buffer, 0, length);
  };
  const payloadStart = (f: Uint8Array): number => f.length - new DataView(f.buffer).getUint32(40, true);

  const build: Record<FuzzKind, (rng: Rng) => Uint8Array> = {
    valid: (rng) => {
      const { bytes } = pickBase(rng);
      const dv = new DataView(bytes.buffer);
      dv.setUint32(8, rng.next() < 0.5 ? 0 : FAR_FUTURE_ROUND - rng.int(1_000_000), true);
      dv.setUint16(12, rng.int(DEFAULT_FRAME_LIMITS.maxStep + 1), true);
      dv.setUint16(14, rng.int(65_536), true);
      dv.setFloat64(16, rng.next() * 1e6, true);
      return bytes;
    },
    truncated: (rng) => { const { bytes } = pickBase(rng); return bytes.slice(0, rng.int(bytes.length)); },
    oversized: (rng) => {
      const r = rng.next();
      if (r < 0.3) return new Uint8Array(target.maxFrameBytes + 1 + rng.int(4096)); // past the stream cap, never read
      const { bytes } = pickBase(rng, 'f32');
      const dv = new DataView(bytes.buffer);
      if (r < 0.55) dv.setUint32(32, DEFAULT_FRAME_LIMITS.maxElements + 1 + rng.int(1000), true);
      else if (r < 0.8) dv.setUint32(36, DEFAULT_FRAME_LIMITS.maxExtensionBytes + 1 + rng.int(1 << 20), true);
      else { dv.setUint32(32, DEFAULT_FRAME_LIMITS.maxElements, true); dv.setUint32(40, 4 * DEFAULT_FRAME_LIMITS.maxElements, true); }
      return bytes;
    },
    'wrong-length': (rng) => {
      const { encoding, bytes } = pickBase(rng);
      const r = rng.next();
      if (r < 0.4) { const tail = garbage(rng, 1 + rng.int(64)); const g = new Uint8Array(bytes.length + tail.length); g.set(bytes); g.set(tail, bytes.length); return g; }
      const dv = new DataView(bytes.buffer);
      const d = (1 + rng.int(5)) * (rng.next() < 0.5 ? -1 : 1);
      const count = dv.getUint32(32, true) + d;
      dv.setUint32(32, count, true);
      if (r < 0.8 && encoding !== 'q8') dv.setUint32(40, count * (encoding === 'f16' ? 2 : encoding === 'topk' ? 8 : 4), true);
      return bytes;
    },
    'foreign-layout': (rng) => {
      if (rng.next() < 0.5) return encodeModelFrame({ ...meta, round: FAR_FUTURE_ROUND }, otherLayout, values, { encoding: encodings[rng.int(encodings.length)] });
      const { bytes } = pickBase(rng);
      bytes[24 + rng.int(8)]! ^= 1 << rng.int(8);
      return bytes;
    },
    'non-finite': (rng) => {
      const bad = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY][rng.int(3)]!;
      const { encoding, bytes } = pickBase(rng);
      const dv = new DataView(bytes.buffer);
      const at = payloadStart(bytes);
      if (rng.next() < 0.15) dv.setFloat64(16, bad, true);
      else if (encoding === 'f32') dv.setFloat32(at + 4 * rng.int(n), bad, true);
      else if (encoding === 'f16') dv.setUint16(at + 2 * rng.int(n), [0x7e00, 0x7c00, 0xfc00][rng.int(3)]!, true);
      else if (encoding === 'q8') dv.setFloat32(at + 4 * rng.int(2 * layout.tensors.length), bad, true);
      else { const k = dv.getUint32(32, true); dv.setFloat32(at + 4 * k + 4 * rng.int(k), bad, true); }
      return bytes;
    },
    'unknown-encoding': (rng) => {
      const { bytes } = pickBase(rng);
      const r = rng.next();
      if (r < 0.6) bytes[6] = 4 + rng.int(252);
      else if (r < 0.8) bytes[5] = 3 + rng.int(253);
      else bytes[4] = 2 + rng.int(254);
      return bytes;
    },
    'foreign-swarm': (rng) => encodeModelFrame({ ...meta, swarm: `${swarm}-${rng.int(1000)}`, round: FAR_FUTURE_ROUND }, layout, values, { encoding: encodings[rng.int(encodings.length)] }),
    garbage: (rng) => {
      const g = garbage(rng, rng.int(2049));
      if (g.length >= 5 && rng.next() < 0.5) g.set([0x4d, 0x52, 0x4d, 0x46, 1]); // 'MRMF', version 1: gets past the magic
      return g;
    },
    mutated: (rng) => {
      const { bytes } = pickBase(rng);
      const r = rng.next();
      if (r < 0.5) {
        for (let i = 1 + rng.int(8); i > 0; i--) bytes[rng.int(bytes.length)]! ^= 1 << rng.int(8);
      } else if (r < 0.8) {
        const [offset, width] = ([[4, 1], [5, 1], [6, 1], [7, 1], [8, 4], [12, 2], [14, 2], [16, 8], [32, 4], [36, 4], [40, 4]] as const)[rng.int(11)]!;
        const dv = new DataView(bytes.buffer);
        if (width === 8) dv.setFloat64(offset, rng.next() < 0.5 ? -rng.next() : rng.normal() * 1e300, true);
        else if (width === 4) dv.setUint32(offset, rng.next() < 0.5 ? rng.uint32() : rng.int(1 << 20), true);
        else if (width === 2) dv.setUint16(offset, rng.int(65_536), true);
        else dv.setUint8(offset, rng.int(256));
      } else {
        const run = garbage(rng, 1 + rng.int(16));
        const at = rng.int(bytes.length);
        bytes.set(run.subarray(0, bytes.length - at), at);
      }
      return bytes;
    },
  };

  return (index) => {
    const rng = rngFor('fuzz-peer', seed, index);
    let pick = rng.int(100);
    const kind = KIND_WEIGHTS.find(([, w]) => (pick -= w) < 0)![0];
    const bytes = build[kind](rng);
    // Keep accepted frames out of the receiver's live rounds: a mutated round field could name one.
    if (bytes.length >= 12 && expectedOutcome(target, bytes) === 'valid') {
      const dv = new DataView(bytes.buffer, bytes.byteOffset);
      const round = dv.getUint32(8, true);
      if (round > 0 && round < 2 ** 31) dv.setUint32(8, 0, true);
    }
    return { index, kind, bytes, expected: expectedOutcome(target, bytes) };
  };
}

/** Outcomes of a fuzz run: by kind and outcome (accepted, a replied reason, or failure:<code>), plus the violations. */
export interface FuzzTally {
  cases: number;
  readonly byKind: Record<string, Record<string, number>>;
  readonly outcomes: Record<string, number>;
  /** Invalid frames the receiver's codec accepted (target 0). */
  invalidAccepted: number;
  /** Frames answered with another reason than the local codec gives, or valid frames refused (target 0). */
  mismatches: number;
  /** The first few mismatches, for the report. */
  readonly examples: Array<{ index: number; kind: FuzzKind; expected: string; got: string }>;
}

/**
 * Send cases 0..count−1 through `send` (resolves = accepted; RemoteRejectedError = the reason replied;
 * anything else = failure:<code>), `concurrency` at a time, and check each outcome against the local codec.
 */
export async function fuzzPeer(send: (bytes: Uint8Array) => Promise<void>, cases: (index: number) => FuzzCase,
  options: { count: number; concurrency?: number; signal?: AbortSignal; onProgress?: (done: number) => void }): Promise<FuzzTally> {
  const tally: FuzzTally = { cases: 0, byKind: {}, outcomes: {}, invalidAccepted: 0, mismatches: 0, examples: [] };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < options.count) {
      options.signal?.throwIfAborted();
      const c = cases(next++);
      let got: string;
      try {
        await send(c.bytes);
        got = 'accepted';
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        got = err instanceof RemoteRejectedError ? err.reason : `failure:${typeof code === 'string' ? code : (err as Error).name}`;
      }
      tally.cases++;
      tally.outcomes[got] = (tally.outcomes[got] ?? 0) + 1;
      const row = (tally.byKind[c.kind] ??= {});
      row[got] = (row[got] ?? 0) + 1;
      const codecAccepted = CODEC_ACCEPTED.has(got);
      if (c.expected !== 'valid' && codecAccepted) tally.invalidAccepted++;
      if (c.expected === 'valid' ? !codecAccepted : got !== c.expected) {
        tally.mismatches++;
        if (tally.examples.length < 10) tally.examples.push({ index: c.index, kind: c.kind, expected: c.expected, got });
      }
      if (tally.cases % 500 === 0) options.onProgress?.(tally.cases);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  return tally;
}

/** Differences between the sender's tally and the receiver's counters of the sender (`murmur peers`). */
export function compareWithReceiver(tally: FuzzTally, row: Pick<PeerInfo, 'framesIn' | 'rejections'> | undefined): string[] {
  if (row === undefined) return ['the receiver lists no row for the fuzzing peer'];
  const problems: string[] = [];
  if (row.framesIn !== (tally.outcomes.accepted ?? 0)) problems.push(`framesIn ${row.framesIn}, accepted replies ${tally.outcomes.accepted ?? 0}`);
  const reasons = new Set([...Object.keys(row.rejections), ...Object.keys(tally.outcomes).filter((o) => o !== 'accepted' && !o.startsWith('failure:'))]);
  for (const r of reasons) {
    if ((row.rejections[r] ?? 0) !== (tally.outcomes[r] ?? 0)) problems.push(`${r}: receiver counted ${row.rejections[r] ?? 0}, sender saw ${tally.outcomes[r] ?? 0}`);
  }
  return problems;
}

/**
 * A sender: an in-process node on loopback with a model-exchange client that accepts nothing. Its own
 * outbound stream cap is `maxOutboundStreams` (default 8, as a daemon's); raise it to push past a
 * receiver's inbound cap.
 */
export async function fuzzSender(seed: string | number, options: { maxOutboundStreams?: number; streamProtocol?: null } = {}): Promise<{ node: MurmurNode; exchange: ModelExchange; stop(): Promise<void> }> {
  const node = await createMurmurNode({ transport: 'tcp', preset: 'swarm', seed: `fuzz-peer-${seed}`, listen: ['/ip4/127.0.0.1/tcp/0'] });
  const exchange = modelExchange({
    receiver: fixedReceiver({ reason: 'bad-header', detail: 'the fuzzer accepts nothing' }), sendTimeoutMs: 30_000,
    ...(options.maxOutboundStreams === undefined ? {} : { maxOutboundStreams: options.maxOutboundStreams }),
    // null: a sender that speaks only /murmur/model/1.0.0, one stream (and one receiver slot) per frame.
    ...(options.streamProtocol === undefined ? {} : { streamProtocol: options.streamProtocol }),
  })({
    registrar: node, connectionManager: { openStream: (peer, protocol, options) => node.dialProtocol(peer, protocol, options) },
  });
  await exchange.start();
  return { node, exchange, stop: async () => { await exchange.stop(); await node.stop(); } };
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

/** Run the fuzz against a spawned daemon; returns the checks (cleanup done) for the verdict. */
async function run(): Promise<{ checks: Check[]; figures: Record<string, unknown> }> {
  const count = Number(arg('count', '10000'));
  const seed = arg('seed', '1');
  const expiry = deadline(15 * 60_000);
  const dataDir = await mkdtemp(join(tmpdir(), 'murmur-fuzz-'));
  const daemon = spawnDaemon(dataDir, [
    '--listen', '/ip4/127.0.0.1/tcp/0', '--swarm', 'fuzz', '--model', 'mlp', '--hidden', '16', '--set', 'workers=1',
    '--set', 'data.evalSize=200', '--set', 'rounds.minRoundMs=500', '--set', `network.inboxMaxBytes=${8 * 1024 * 1024}`, '--log-level', 'warn',
  ]);
  let crashed: string | null = null;
  let stopping = false;
  void daemon.exited.then((code) => { if (!stopping) crashed ??= `exited with code ${String(code)} during the run`; });
  let sender: Awaited<ReturnType<typeof fuzzSender>> | undefined;
  try {
    const { client, status: status0, layout } = await startedDaemon(daemon);
    const target: FuzzTarget = { layout, swarm: status0.swarm, maxFrameBytes: largestFrameBytes(layout) };
    sender = await fuzzSender(seed);
    const daemonId = peerIdFromString(status0.peerId);
    await sender.node.dial(multiaddr(status0.addresses.find((a) => a.includes('/tcp/'))!));

    const statusMs: number[] = [];
    let statusFailures = 0;
    const poll = setInterval(() => {
      const t0 = performance.now();
      client.get<StatusInfo>('/status').then(() => statusMs.push(performance.now() - t0), () => { statusFailures++; });
    }, 1000);
    const t0 = performance.now();
    const tally = await fuzzPeer((bytes) => sender!.exchange.send(daemonId, bytes), fuzzCases(target, seed), {
      count, signal: expiry, onProgress: (done) => { if (!jsonMode) process.stdout.write(`  ${done}/${count} frames\r`); },
    });
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(poll);

    const me = sender.node.peerId.toString();
    const rows = await client.get<PeerInfo[]>('/peers');
    const viaCli = (await cli<PeerInfo[]>(['peers', '--data-dir', dataDir])).find((p) => p.peer === me);
    const status1 = await client.get<StatusInfo>('/status');
    const model1 = await client.get<ModelInfo>('/model');
    const counterProblems = compareWithReceiver(tally, rows.find((p) => p.peer === me));
    const finiteModel = model1.tensors.every((t) => Number.isFinite(t.l2) && Number.isFinite(t.mean));
    await sender.stop();
    sender = undefined;
    stopping = true;
    daemon.child.kill('SIGTERM');
    const code = await daemon.exited;
    if (code !== 0) crashed ??= `exited with code ${String(code)} after SIGTERM`;

    printEnv({ daemon: `mlp 784-16-10 (${layout.size} params), stream cap ${target.maxFrameBytes} bytes`, frames: count, seed, seconds: seconds.toFixed(1) });
    if (!jsonMode) {
      console.log('\nkind               cases  outcomes');
      for (const kind of FUZZ_KINDS) {
        const row = tally.byKind[kind] ?? {};
        const total = Object.values(row).reduce((a, b) => a + b, 0);
        console.log(`${kind.padEnd(18)} ${String(total).padStart(6)}  ${Object.entries(row).sort().map(([o, c]) => `${o} ${c}`).join(', ')}`);
      }
      console.log(`\nby reason (sender = daemon's \`murmur peers\` row): ${Object.entries(viaCli?.rejections ?? {}).sort().map(([r, c]) => `${r} ${c}`).join(', ')}`);
      console.log(`daemon rounds ${status0.round} → ${status1.round} during the run; /status answered ${statusMs.length} polls, max ${Math.max(0, ...statusMs).toFixed(0)} ms`);
      for (const e of tally.examples) console.log(`  mismatch: case ${e.index} (${e.kind}) expected ${e.expected}, got ${e.got}`);
      for (const p of counterProblems) console.log(`  counter mismatch: ${p}`);
      console.log('');
    }
    return { figures: { tally, seconds, daemonRounds: [status0.round, status1.round], statusMs, counterProblems }, checks: [
      { name: 'frames sent', pass: tally.cases === count, figure: String(tally.cases), target: String(count) },
      { name: 'crashes', pass: crashed === null, figure: crashed === null ? '0' : `1 (${crashed})`, target: '0' },
      { name: 'invalid frames accepted', pass: tally.invalidAccepted === 0, figure: String(tally.invalidAccepted), target: '0' },
      { name: 'reasons differing from the codec', pass: tally.mismatches === 0, figure: String(tally.mismatches), target: '0' },
      { name: 'murmur peers vs sender tally', pass: counterProblems.length === 0 && viaCli !== undefined, figure: `${counterProblems.length} differences`, target: '0' },
      {
        name: 'daemon kept working', pass: status1.round > status0.round && finiteModel && statusFailures === 0,
        figure: `rounds +${status1.round - status0.round}, ${statusFailures} failed status polls`, target: 'rounds advance, status answers',
      },
    ] };
  } finally {
    if (sender !== undefined) await sender.stop().catch(() => undefined);
    if (daemon.child.exitCode === null) { daemon.child.kill('SIGKILL'); await daemon.exited; }
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { checks, figures } = await run();
  verdict(checks, figures);
}
