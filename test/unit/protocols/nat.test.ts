import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createMurmurNode } from '../../../protocols/libp2p.js';
import { checkReachabilityOptions, dhtProtocol, swarmRendezvousCid } from '../../../protocols/nat.js';

describe('reachability options', () => {
  it('reports every problem at once', () => {
    const problems: string[] = [];
    checkReachabilityOptions({
      relayReservations: 9, announce: ['nope'], dht: true,
      relayServer: { maxReservations: 0, dataLimitBytes: -1, durationLimitMs: 1.5, reservationTtlMs: 10 },
    }, undefined, problems);
    assert.equal(problems.length, 6, problems.join('\n'));
    assert.match(problems.join('\n'), /relayReservations 9 must be an integer in 0\.\.8/);
    assert.match(problems.join('\n'), /announce "nope" is not a multiaddr/);
    assert.match(problems.join('\n'), /dht needs a swarm id/);
    assert.match(problems.join('\n'), /relay maxReservations 0 must be a positive integer/);
  });

  it('are refused outside the device preset over tcp', async () => {
    await assert.rejects(createMurmurNode({ preset: 'swarm', seed: 's', reachability: {}, start: false }), /'device' preset over tcp/);
    await assert.rejects(createMurmurNode({ transport: 'memory', seed: 'm', reachability: { upnp: true }, start: false }), /'device' preset over tcp/);
  });

  it('scope the DHT protocol and rendezvous key to the swarm', () => {
    assert.equal(dhtProtocol('alpha'), dhtProtocol('alpha'));
    assert.notEqual(dhtProtocol('alpha'), dhtProtocol('beta'));
    assert.match(dhtProtocol('a swarm/with odd chars ✓'), /^\/murmur\/kad\/[0-9a-f]{16}\/1\.0\.0$/);
    assert.equal(swarmRendezvousCid('alpha').toString(), swarmRendezvousCid('alpha').toString());
    assert.notEqual(swarmRendezvousCid('alpha').toString(), swarmRendezvousCid('beta').toString());
  });
});
