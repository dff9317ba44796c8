import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { register as globalRegistry } from 'prom-client';
import { MAX_REJECT_REASONS, createMetrics } from '../../../../node/control/metrics.js';

/** The value of one exposition line `name{labels} value`, or undefined if absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics', () => {
  it('counts frames and bytes by direction', async () => {
    const m = createMetrics();
    m.onFrame('in', 100);
    m.onFrame('in', 50);
    m.onFrame('out', 7);
    const text = await m.exposition();
    assert.equal(sample(text, 'murmur_network_received_frames_total'), 2);
    assert.equal(sample(text, 'murmur_network_received_bytes_total'), 150); // 100 + 50
    assert.equal(sample(text, 'murmur_network_sent_frames_total'), 1);
    assert.equal(sample(text, 'murmur_network_sent_bytes_total'), 7);
  });

  it('reads the engine phase at every scrape when given a phase source', async () => {
    let now: 'training' | 'exchanging' = 'training';
    const m = createMetrics({ phase: () => now });
    assert.equal(sample(await m.exposition(), 'murmur_engine_phase{phase="training"}'), 1);
    now = 'exchanging';
    const text = await m.exposition();
    assert.equal(sample(text, 'murmur_engine_phase{phase="exchanging"}'), 1);
    assert.equal(sample(text, 'murmur_engine_phase{phase="training"}'), 0);
  });

  it('tracks round, phase, evaluation and connected peers', async () => {
    const m = createMetrics();
    m.onRound(3);
    m.onRound(4);
    m.onPhase('exchanging');
    m.onPhaseDuration('training', 1500);
    m.onEvaluation({ accuracy: 0.9, loss: 0.25 });
    m.setConnectedPeers(5);
    m.onSendFailure();
    const text = await m.exposition();
    assert.equal(sample(text, 'murmur_engine_round'), 4);
    assert.equal(sample(text, 'murmur_engine_rounds_total'), 2);
    assert.equal(sample(text, 'murmur_engine_phase{phase="exchanging"}'), 1);
    assert.equal(sample(text, 'murmur_engine_phase{phase="training"}'), 0);
    // 1500 ms = 1.5 s: first bucket at or above it is le="2".
    assert.equal(sample(text, 'murmur_engine_phase_duration_seconds_bucket{le="1",phase="training"}'), 0);
    assert.equal(sample(text, 'murmur_engine_phase_duration_seconds_bucket{le="2",phase="training"}'), 1);
    assert.equal(sample(text, 'murmur_engine_phase_duration_seconds_sum{phase="training"}'), 1.5);
    assert.equal(sample(text, 'murmur_learner_test_accuracy_ratio'), 0.9);
    assert.equal(sample(text, 'murmur_learner_test_loss'), 0.25);
    assert.equal(sample(text, 'murmur_network_connected_peers'), 5);
    assert.equal(sample(text, 'murmur_network_send_failures_total'), 1);
  });

  it('keeps a closed reject-reason label set, counting the rest as other', async () => {
    const m = createMetrics({ rejectReasons: ['bad-layout', 'duplicate'] });
    m.onReject('duplicate');
    m.onReject('made-up');
    m.onReject('Evil"label');
    const text = await m.exposition();
    assert.equal(sample(text, 'murmur_network_rejected_frames_total{reason="bad-layout"}'), 0);
    assert.equal(sample(text, 'murmur_network_rejected_frames_total{reason="duplicate"}'), 1);
    assert.equal(sample(text, 'murmur_network_rejected_frames_total{reason="other"}'), 2);
    assert.equal(sample(text, 'murmur_network_rejected_frames_total{reason="made-up"}'), undefined);
  });

  it(`bounds open reject reasons at ${MAX_REJECT_REASONS} distinct values`, async () => {
    const m = createMetrics();
    for (let i = 0; i < MAX_REJECT_REASONS + 5; i++) m.onReject(`reason-${i}`);
    const text = await m.exposition();
    const series = text.split('\n').filter((l) => l.startsWith('murmur_network_rejected_frames_total{'));
    assert.equal(series.length, MAX_REJECT_REASONS + 1); // 32 named + 'other'
    assert.equal(sample(text, 'murmur_network_rejected_frames_total{reason="other"}'), 5);
  });

  it('gives each daemon its own registry and leaves the global one alone', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.onFrame('out', 10);
    assert.equal(sample(await b.exposition(), 'murmur_network_sent_bytes_total'), 0);
    assert.equal(globalRegistry.getSingleMetric('murmur_network_sent_bytes_total'), undefined);
    assert.match(a.contentType, /^text\/plain; version=0\.0\.4/);
  });

  it('publishes reachability: public or not, relay slots held and served, connected peers by kind', async () => {
    const m = createMetrics();
    const before = await m.exposition();
    for (const kind of ['direct', 'relayed', 'hole-punched']) assert.equal(sample(before, `murmur_network_peer_connections{kind="${kind}"}`), 0);
    const conn = (peer: string, kind: 'direct' | 'relayed' | 'hole-punched') => ({ peer, kind, address: '/ip4/1.2.3.4/tcp/1', direction: 'outbound' as const, openedAt: 0, models: true });
    m.setReachability({
      publiclyReachable: false, publicAddresses: [], relayReservations: [{ relay: 'r1', addresses: ['a', 'b'] }, { relay: 'r2', addresses: ['c'] }],
      relayService: { reservations: 3, maxReservations: 32 }, dht: 'client',
      connections: [conn('p1', 'relayed'), conn('p2', 'relayed'), conn('p3', 'direct'), conn('p4', 'hole-punched')],
    });
    const text = await m.exposition();
    assert.equal(sample(text, 'murmur_network_publicly_reachable'), 0);
    assert.equal(sample(text, 'murmur_network_relay_reservations'), 2); // two relays, whatever their address count
    assert.equal(sample(text, 'murmur_network_relay_served_reservations'), 3);
    assert.equal(sample(text, 'murmur_network_peer_connections{kind="relayed"}'), 2);
    assert.equal(sample(text, 'murmur_network_peer_connections{kind="direct"}'), 1);
    assert.equal(sample(text, 'murmur_network_peer_connections{kind="hole-punched"}'), 1);
    m.setReachability({ publiclyReachable: true, publicAddresses: ['/ip4/1.2.3.4/tcp/1'], relayReservations: [], relayService: null, dht: null, connections: [] });
    const later = await m.exposition();
    assert.equal(sample(later, 'murmur_network_publicly_reachable'), 1);
    assert.equal(sample(later, 'murmur_network_relay_served_reservations'), 0);
    assert.equal(sample(later, 'murmur_network_peer_connections{kind="relayed"}'), 0);
  });
});
