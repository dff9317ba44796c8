import '../../../../node/polyfill.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeLayout } from '../../../../aggregation/layout.js';
import { algorithmRows, renderAlgorithms } from '../../../../node/cli/algorithms.js';
import { historyColumns, MODEL_FIELDS, peerColumns, statusFields, TENSOR_COLUMNS, trustColumns } from '../../../../node/cli/inspect-columns.js';
import type { RunningStatus, StoppedStatus } from '../../../../node/cli/inspect-source.js';
import { renderRecord, renderRows } from '../../../../node/cli/render.js';
import { describeModel, type HistoryEntry, type PeerInfo, type TrustInfo } from '../../../../node/control/types.js';

// Fixture data as long as real data gets: 52-character peer ids, circuit-relay multiaddrs, long reasons.
const NOW = Date.UTC(2026, 6, 1, 12, 0, 0);
const id = (n: number): string => `12D3KooW${'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstu'.slice(0, 44 - String(n).length)}${n}`;
const RELAYED = `/ip4/203.0.113.7/tcp/4001/p2p/${id(9)}/p2p-circuit/p2p/${id(0)}`;

const RUNNING: RunningStatus = {
  state: 'running', controlUrl: 'http://127.0.0.1:41234', metricsUrl: 'http://127.0.0.1:41234/metrics', tokenFile: '/var/lib/murmur/control.token',
  peerId: id(0), addresses: [`/ip4/192.168.1.20/tcp/4001/p2p/${id(0)}`, RELAYED], listen: ['/ip4/0.0.0.0/tcp/4001', '/ip6/::/tcp/4001'],
  backend: 'wasm', backendReason: "tensorflow skipped: Cannot find package '@tensorflow/tfjs-node' imported from /usr/lib/node_modules/murmuration/dist/node/learner/backend.js",
  kernels: { variant: 'wasm-simd128', reason: 'SIMD module of 23456 bytes, sha256 0123456789abcdef0123456789abcdef' },
  algorithm: 'variance-corrected', swarm: 'a-fairly-long-swarm-name-for-the-lab', round: 123456, phase: 'exchanging', accuracy: 0.9125, loss: 0.3123456,
  modelAge: 64008, modelHash: '0123456789abcdef', mode: 'sync', neighbours: [id(1), id(2), id(3), id(4)], connections: 12, uptimeMs: 93_784_000,
  dataDir: '/var/lib/murmur/some/deeply/nested/data/directory/for/this/peer', version: '0.1.0',
  extra: { viewSize: 8, role: 'aggregator', sample: [id(1), id(2)], aggregators: [id(3)] },
  stall: { since: new Date(NOW - 42_000).toISOString(), waitingFor: [id(1), id(2), id(3)], timeouts: 3 },
  reachability: {
    publiclyReachable: false, publicAddresses: [], reason: 'AutoNAT: 3 peers could not dial us back on /ip4/192.168.1.20/tcp/4001; reachable through the relay only',
    relayReservations: [{ relay: id(9), addresses: [RELAYED] }], relayService: null, dht: 'client',
    connections: [{ peer: id(1), kind: 'relayed', address: RELAYED, direction: 'outbound', openedAt: NOW, models: false, holePunch: 'DCUtR failed: both peers behind symmetric NAT (no address predicted)' }],
  },
};

const STOPPED: StoppedStatus = {
  state: 'stopped', heldBy: null, stoppedAt: NOW - 3_600_000, crashed: null, peerId: id(0), swarm: 'demo', algorithm: 'gossip-age',
  model: { arch: 'cnn', inputShape: [28, 28, 1], classes: 10, seed: 7, filters: [6, 16], dense: [120, 84] }, round: 99, lastCommitAt: NOW - 3_650_000,
  accuracy: 0.97, loss: 0.1, modelAge: 123_456_789, modelHash: 'fedcba9876543210', checkpoints: [95, 96, 97, 98, 99],
  dataDir: '/var/lib/murmur/some/deeply/nested/data/directory/for/this/peer',
};

const PEERS: PeerInfo[] = [1, 2, 3].map((n) => ({
  peer: id(n), connected: n !== 3, connection: n === 1 ? 'hole-punched' : 'relayed', lastSeen: NOW - n * 1_234_567, framesIn: 123_456, framesOut: 234_567,
  bytesIn: 98_765_432_109, bytesOut: 12_345_678_901, rejections: { 'bad-layout': 12, 'inbox-full': 345, duplicate: 6789, stale: 2 }, sendFailures: 4321, trust: 0.123456,
}));

const HISTORY: HistoryEntry[] = [1, 2].map((n) => ({
  round: 123_450 + n, time: NOW - n * 1000, modelHash: '0123456789abcdef', accuracy: 0.912345, loss: 0.312345, age: 64008, samples: 3333, trainLoss: 0.2,
  received: 14, expected: 16, timedOut: true, sendFailures: 2, bytesOut: 123_456_789, phaseMs: { train: 12_345, exchange: 4000, aggregate: 12, evaluate: 345 },
}));

const TRUST: TrustInfo[] = [1, 2].map((n) => ({ peer: id(n), score: 0.987654, details: { rejections: 12, distance: 0.123456, reputation: 0.5 } }));

const LAYOUT = makeLayout([
  { name: 'conv2d_Conv2D1/kernel', shape: [5, 5, 1, 6], role: 'kernel' }, { name: 'conv2d_Conv2D1/bias', shape: [6], role: 'bias' },
  { name: 'dense_Dense1/kernel', shape: [400, 120], role: 'kernel' }, { name: 'dense_Dense1/bias', shape: [120], role: 'bias' },
]);
const MODEL = describeModel(LAYOUT, new Float32Array(LAYOUT.size).map((_, i) => Math.sin(i) / 3), { round: 123_456, age: 64_008 });

/** Widest line in terminal columns (box-drawing characters are one column each). */
function widest(text: string): number {
  return Math.max(...text.split('\n').map((l) => [...l].length));
}

describe('every default table fits 100 columns', () => {
  const tables: Array<[string, string]> = [
    ['status (running)', renderRecord(RUNNING, statusFields(RUNNING, NOW), { json: false, now: NOW })],
    ['status (stopped)', renderRecord(STOPPED, statusFields(STOPPED, NOW), { json: false, now: NOW })],
    ['peers', renderRows(PEERS, peerColumns(false, NOW), { json: false, now: NOW })],
    ['model', renderRecord(MODEL, MODEL_FIELDS, { json: false }) + renderRows(MODEL.tensors, TENSOR_COLUMNS, { json: false })],
    ['history', renderRows(HISTORY, historyColumns(false), { json: false })],
    ['trust', renderRows(TRUST, trustColumns(false), { json: false })],
    ['algorithms', renderAlgorithms(algorithmRows(), { json: false })],
  ];
  for (const [name, text] of tables) {
    it(`${name}: at most 100 columns`, () => {
      assert.ok(widest(text) <= 100, `${name} is ${widest(text)} columns wide:\n${text}`);
    });
  }

  it('wraps rather than cuts: the whole relayed address is still in the status table', () => {
    const text = renderRecord(RUNNING, statusFields(RUNNING, NOW), { json: false, now: NOW });
    const cells = text.split('\n').map((l) => l.split('│')[2]?.trim() ?? '').join('');
    assert.ok(cells.includes(RELAYED), 'the relayed address was cut');
    assert.match(text, /│ stalled\s+│ since 2026-07-01T11:59:18Z \(42\.0 s ago\)/);
    assert.match(text, /│ model age\s+│ 64008 samples trained/);
  });

  it('--wide shows whole peer ids and every history column', () => {
    const peers = renderRows(PEERS, peerColumns(true, NOW), { json: false, now: NOW, maxWidth: Infinity });
    assert.ok(peers.includes(id(1)));
    const history = renderRows(HISTORY, historyColumns(true), { json: false, maxWidth: Infinity });
    assert.ok(widest(history) > 100);
    for (const header of ['model hash', 'train ms', 'exchange ms', 'send fail']) assert.ok(history.includes(header), header);
  });
});
