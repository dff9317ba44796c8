/**
 * Question: what does one model frame cost on its way through libp2p, per frame, with one stream per
 * frame (`/murmur/model/1.0.0`) against frames on a kept stream (`/murmur/model/1.1.0`)? The simulator's
 * hot path (issue 16): hundreds of peers in one process push MLP-sized frames (25,450 parameters, ~100 KB)
 * over the memory transport, where the per-frame protocol work (stream open, multistream-select, noise,
 * yamux, half-closes) runs on the one main thread. Two nodes in one process, one connection; for each
 * transport (the simulations' batched memory transport, protocols/memory-transport.ts; @libp2p/memory with
 * 1 ms latency, what simulations used before, and without latency; tcp on 127.0.0.1) and each
 * protocol, FRAMES sequential sends and CONCURRENT-wide bursts of sends, after a warm-up; reports wall ms and
 * process CPU ms per frame (all threads). The figures and what they mean are in
 * protocols/docs/exchange-tuning.md. Target: the kept stream costs ≤ 0.7× the CPU per frame of a stream
 * per frame on the memory transport (what the 500-peer simulations pay).
 * Usage: npm run bench -- bench-frame-path [--json] [--frames N]
 */
import '../node/polyfill.js';
import { makeLayout } from '../aggregation/layout.js';
import { encodeModelFrame } from '../protocols/codec.js';
import { createMurmurNode, type MurmurNode } from '../protocols/libp2p.js';
import { modelExchange, type ModelExchange } from '../protocols/model-exchange.js';
import { fixedReceiver } from '../protocols/receiver.js';
import { jsonMode, printEnv, verdict, type Check } from './lib/bench.js';

const framesAt = process.argv.indexOf('--frames');
const FRAMES = framesAt >= 0 ? Number(process.argv[framesAt + 1]) : 300;
const WARMUP_FRAMES = 50;
const CONCURRENT = 8;
const TARGET_CPU_RATIO = 0.7;
// MLP 784-32-10: the bench-sim workload's larger model.
const layout = makeLayout([
  { name: 'd1/kernel', shape: [784, 32], role: 'kernel' }, { name: 'd1/bias', shape: [32], role: 'bias' },
  { name: 'd2/kernel', shape: [32, 10], role: 'kernel' }, { name: 'd2/bias', shape: [10], role: 'bias' },
]);
const frame = encodeModelFrame({ kind: 'model', swarm: 'bench', round: 1, step: 0, degree: 8, age: 1 }, layout, new Float32Array(layout.size).fill(0.01));

type Transport = 'memory (batched)' | 'memory (libp2p, 1 ms)' | 'memory (libp2p, 0 ms)' | 'tcp';
const SIMULATIONS: Transport = 'memory (batched)';
const MEMORY_LATENCY_MS: Partial<Record<Transport, number>> = { 'memory (libp2p, 1 ms)': 1, 'memory (libp2p, 0 ms)': 0 };

async function nodes(transport: Transport): Promise<[MurmurNode, MurmurNode]> {
  const make = async (seed: string): Promise<MurmurNode> => transport === 'tcp'
    ? createMurmurNode({ transport: 'tcp', preset: 'swarm', seed, listen: ['/ip4/127.0.0.1/tcp/0'] })
    // Unset memoryLatencyMs: the batched transport; set: @libp2p/memory with that latency.
    : createMurmurNode({ transport: 'memory', preset: 'swarm', seed, memoryLatencyMs: MEMORY_LATENCY_MS[transport] });
  const a = await make('frame-path-a');
  const b = await make('frame-path-b');
  await a.dial(b.getMultiaddrs()[0]!);
  return [a, b];
}

interface Row { transport: Transport; protocol: string; pattern: string; wallMsPerFrame: number; cpuMsPerFrame: number }

async function measure(transport: Transport, kept: boolean): Promise<Row[]> {
  const [a, b] = await nodes(transport);
  const components = (n: MurmurNode) => ({ registrar: n, connectionManager: { openStream: n.dialProtocol.bind(n) } });
  const streamProtocol = kept ? undefined : null;
  const sender: ModelExchange = modelExchange({ receiver: fixedReceiver('accepted'), streamProtocol })(components(a));
  const receiver: ModelExchange = modelExchange({ receiver: fixedReceiver('accepted'), streamProtocol, maxFrameBytes: 1 << 20 })(components(b));
  await sender.start();
  await receiver.start();
  const rows: Row[] = [];
  try {
    const time = async (pattern: string, run: () => Promise<void>): Promise<void> => {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await run();
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      rows.push({ transport, protocol: kept ? '1.1.0 kept stream' : '1.0.0 stream per frame', pattern, wallMsPerFrame: wall / FRAMES, cpuMsPerFrame: (cpu.user + cpu.system) / 1000 / FRAMES });
    };
    for (let i = 0; i < WARMUP_FRAMES; i++) await sender.send(b.peerId, frame);
    await time('sequential', async () => { for (let i = 0; i < FRAMES; i++) await sender.send(b.peerId, frame); });
    await time(`${CONCURRENT} at once`, async () => {
      for (let i = 0; i < FRAMES; i += CONCURRENT) await Promise.all(Array.from({ length: Math.min(CONCURRENT, FRAMES - i) }, () => sender.send(b.peerId, frame)));
    });
  } finally {
    await sender.stop();
    await receiver.stop();
    await a.stop();
    await b.stop();
  }
  return rows;
}

const rows: Row[] = [];
for (const transport of [SIMULATIONS, 'memory (libp2p, 1 ms)', 'memory (libp2p, 0 ms)', 'tcp'] as Transport[]) {
  for (const kept of [false, true]) rows.push(...await measure(transport, kept));
}
printEnv({ frame: `${frame.byteLength} bytes (MLP 784-32-10, f32)`, frames: `${WARMUP_FRAMES} warm-up, then ${FRAMES} per pattern`, note: 'two nodes in one process, one connection' });
if (!jsonMode) {
  console.log('\ntransport               protocol                  pattern      wall ms/frame  CPU ms/frame');
  for (const r of rows) console.log(`${r.transport.padEnd(22)}  ${r.protocol.padEnd(24)}  ${r.pattern.padEnd(11)}  ${r.wallMsPerFrame.toFixed(3).padStart(12)}  ${r.cpuMsPerFrame.toFixed(3).padStart(12)}`);
  console.log('');
}
const cpuOf = (protocol: string) => rows.filter((r) => r.transport === SIMULATIONS && r.protocol.startsWith(protocol)).reduce((s, r) => s + r.cpuMsPerFrame, 0);
const ratio = cpuOf('1.1.0') / cpuOf('1.0.0');
const checks: Check[] = [{ name: 'kept stream / stream per frame, CPU per frame, memory transport', pass: ratio <= TARGET_CPU_RATIO, figure: `${ratio.toFixed(2)}×`, target: `≤ ${TARGET_CPU_RATIO}×` }];
verdict(checks, { rows, ratio });
