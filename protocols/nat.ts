/**
 * Reachability parts of the 'device' preset (tcp only), all libp2p's own: the circuit relay v2 transport
 * (dial and listen through relays; `/p2p-circuit` listen entries ask for slots on relays), an optional relay
 * server with resource limits, DCUtR (upgrade a relayed connection to a direct one), AutoNAT v2 (confirm
 * that our public addresses are dialable), opt-in UPnP port mapping, and a swarm-scoped Kademlia DHT whose
 * provider records let peers behind NATs find each other through any DHT server of the swarm.
 *
 * What js-libp2p cannot do, and why the status says so (protocols/reachability.ts): its TCP transport
 * cannot dial from its listening port, so identify ignores observed TCP addresses (libp2p/js-libp2p#2620)
 * and a peer behind a NAT never learns a public TCP address. DCUtR then has nothing to punch to between
 * two NATed peers; it still upgrades a relayed connection when one side has a public address.
 */
import { createHash } from 'node:crypto';
import { autoNATv2 } from '@libp2p/autonat-v2';
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2';
import { dcutr } from '@libp2p/dcutr';
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht';
import type { KadDHT } from '@libp2p/kad-dht';
import { uPnPNAT } from '@libp2p/upnp-nat';
import { multiaddr } from '@multiformats/multiaddr';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { create as createDigest } from 'multiformats/hashes/digest';
import { FORGETFUL_RELAY_FILTER } from './relay-slots.js';

/** Limits of the relay we serve (`--relay`); every relayed connection gets the data and time limit. */
export interface RelayServerOptions {
  /** Peers that may hold a slot at once; default DEFAULT_RELAY_MAX_RESERVATIONS. */
  maxReservations?: number;
  /** How long a slot lasts before the peer must renew it, ms; default DEFAULT_RELAY_RESERVATION_TTL_MS. */
  reservationTtlMs?: number;
  /** Bytes (both directions together) one relayed connection may carry before the relay resets it; default DEFAULT_RELAY_DATA_LIMIT_BYTES. */
  dataLimitBytes?: number;
  /** How long one relayed connection may stay open, ms; default DEFAULT_RELAY_DURATION_LIMIT_MS. */
  durationLimitMs?: number;
}

/** Reachability options of `createMurmurNode` ('device' preset, tcp transport). */
export interface ReachabilityOptions {
  /** Serve as a circuit relay for other peers within these limits; absent = do not serve. */
  relayServer?: RelayServerOptions;
  /**
   * How many relays to hold a slot on, chosen among connected and known peers that offer relaying (a
   * bootstrap peer started with `--relay` is one); default DEFAULT_RELAY_RESERVATIONS, or 0 while we serve
   * as a relay ourselves. A peer with a slot is reachable at `<relay address>/p2p-circuit/p2p/<us>`.
   */
  relayReservations?: number;
  /** Map our listening port on the home router with UPnP; default false. */
  upnp?: boolean;
  /** Run the swarm's DHT (needs the swarm id); default true. */
  dht?: boolean;
  /**
   * Addresses we are known to be reachable at (a public IP or DNS name with its port), added to the
   * listen addresses we announce, without waiting for AutoNAT. Also puts the DHT in server mode at once.
   */
  announce?: readonly string[];
}

/** libp2p's default, as go-libp2p's: a relay serves 15 slots at once. We allow a few more. */
export const DEFAULT_RELAY_MAX_RESERVATIONS = 32;
/** libp2p's default slot lifetime (peers renew before it ends), ms. */
export const DEFAULT_RELAY_RESERVATION_TTL_MS = 2 * 60 * 60 * 1000;
/**
 * libp2p's default per relayed connection: 128 KiB. Enough for identify, gossip, pings and the DCUtR
 * handshake; not for models (see network.relay.allowModels in the README).
 */
export const DEFAULT_RELAY_DATA_LIMIT_BYTES = 128 * 1024;
/** libp2p's default per relayed connection: 2 minutes, ms. */
export const DEFAULT_RELAY_DURATION_LIMIT_MS = 2 * 60 * 1000;
/** Relays a device finds and holds a slot on by itself (besides those configured). */
export const DEFAULT_RELAY_RESERVATIONS = 1;
/** Upper bound of discovered-relay slots a device asks for. */
export const MAX_RELAY_RESERVATIONS = 8;
/**
 * How long asking a connected relay for a slot may take, ms (@libp2p/circuit-relay-v2's default: 5 s).
 * Requests took up to 2.9 s at load 22; libp2p does not ask again after a failure while the relay stays
 * connected, relay-slots.ts does (protocols/docs/exchange-tuning.md §21).
 */
export const RELAY_RESERVATION_TIMEOUT_MS = 60_000;

/** The reachability services a device node may run. */
export type NatServices = {
  relay?: CircuitRelayService;
  dht?: KadDHT;
  autonat?: unknown;
  dcutr?: unknown;
  upnp?: unknown;
};

/**
 * The DHT protocol of a swarm: peers of different swarms never share routing tables or provider records.
 * The swarm id is hashed so any UTF-8 id gives a valid protocol path.
 */
export function dhtProtocol(swarm: string): string {
  return `/murmur/kad/${swarmKey(swarm)}/1.0.0`;
}

/** The DHT key every member of `swarm` provides and looks up to find the others (a raw CIDv1). */
export function swarmRendezvousCid(swarm: string): CID {
  const digest = createHash('sha256').update(`murmur-swarm:${swarm}`, 'utf8').digest();
  return CID.createV1(raw.code, createDigest(0x12, new Uint8Array(digest)));
}

function swarmKey(swarm: string): string {
  return createHash('sha256').update(swarm, 'utf8').digest('hex').slice(0, 16);
}

const positive = (name: string, v: number | undefined, problems: string[]): void => {
  if (v !== undefined && !(Number.isInteger(v) && v > 0)) problems.push(`${name} ${String(v)} must be a positive integer`);
};

/** Every problem of `options`, as sentences naming the option, the value and the fix. */
export function checkReachabilityOptions(options: ReachabilityOptions, swarm: string | undefined, problems: string[]): void {
  const n = options.relayReservations;
  if (n !== undefined && !(Number.isInteger(n) && n >= 0 && n <= MAX_RELAY_RESERVATIONS)) {
    problems.push(`relayReservations ${String(n)} must be an integer in 0..${MAX_RELAY_RESERVATIONS}`);
  }
  const s = options.relayServer;
  if (s !== undefined) {
    positive('relay maxReservations', s.maxReservations, problems);
    positive('relay reservationTtlMs', s.reservationTtlMs, problems);
    positive('relay dataLimitBytes', s.dataLimitBytes, problems);
    positive('relay durationLimitMs', s.durationLimitMs, problems);
  }
  for (const a of options.announce ?? []) {
    try {
      multiaddr(a);
    } catch (err) {
      problems.push(`announce "${a}" is not a multiaddr (${(err as Error).message})`);
    }
  }
  if (options.dht === true && swarm === undefined) problems.push('dht needs a swarm id: the DHT protocol is scoped to one swarm');
}

/** The transport, services and extra addresses `createMurmurNode` adds for a device. */
export interface NatParts {
  transports: Array<ReturnType<typeof circuitRelayTransport>>;
  services: Record<string, (components: never) => unknown>;
  /** Listen entries that make the relay transport hold slots. */
  listen: string[];
  appendAnnounce: string[];
}

/** Assemble the reachability parts; options must have passed `checkReachabilityOptions`. */
export function natParts(options: ReachabilityOptions, swarm: string | undefined): NatParts {
  const announce = [...(options.announce ?? [])];
  const serving = options.relayServer !== undefined;
  const services: NatParts['services'] = {
    // AutoNAT v2, not v1: @libp2p/autonat 3.0.28's server answers a dial-back request on the connection the
    // requester already has to us and then closes it, cutting every home device off its bootstrap peer.
    autonat: autoNATv2(),
    dcutr: dcutr(),
  };
  if (serving) {
    const s = options.relayServer!;
    services.relay = circuitRelayServer({
      reservations: {
        maxReservations: s.maxReservations ?? DEFAULT_RELAY_MAX_RESERVATIONS,
        reservationTtl: s.reservationTtlMs ?? DEFAULT_RELAY_RESERVATION_TTL_MS,
        // Always limit relayed connections: a limited connection is what keeps protocols that did not opt in
        // (our model frames, unless allowed) off the relay.
        applyDefaultLimit: true,
        defaultDataLimit: BigInt(s.dataLimitBytes ?? DEFAULT_RELAY_DATA_LIMIT_BYTES),
        defaultDurationLimit: s.durationLimitMs ?? DEFAULT_RELAY_DURATION_LIMIT_MS,
      },
    }) as NatParts['services'][string];
  }
  if (options.upnp === true) services.upnp = uPnPNAT({ portMappingDescription: 'murmur' }) as NatParts['services'][string];
  if (options.dht !== false && swarm !== undefined) {
    services.dht = kadDHT({
      protocol: dhtProtocol(swarm),
      logPrefix: 'libp2p:murmur-dht',
      // Keep private addresses: this DHT serves one swarm, LAN swarms included, not the public IPFS network.
      // With libp2p's default filter a relay whose public address AutoNAT confirms only after a peer
      // connected is never added to that peer's routing table (identify had shown it private addresses
      // only), and every query then waits for an empty table.
      peerInfoMapper: passthroughMapper,
      // A relay or a peer with announced public addresses is a server from the start; others switch to server
      // mode themselves once AutoNAT confirms a public address (libp2p's default when clientMode is unset).
      ...(serving || announce.length > 0 ? { clientMode: false } : {}),
    }) as NatParts['services'][string];
  }
  // Each '/p2p-circuit' entry asks the relay transport for one slot on a relay it finds (libp2p 3).
  const listen = Array.from({ length: options.relayReservations ?? (serving ? 0 : DEFAULT_RELAY_RESERVATIONS) }, () => '/p2p-circuit');
  return { transports: [circuitRelayTransport({ reservationCompletionTimeout: RELAY_RESERVATION_TIMEOUT_MS, discoveryFilter: FORGETFUL_RELAY_FILTER })], services, listen, appendAnnounce: announce };
}
