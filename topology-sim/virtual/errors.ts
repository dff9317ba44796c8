/**
 * Typed errors of the virtual network (STYLE.md "Errors"): `name` is the class name, `code` crosses
 * boundaries. Network failures a Peer sees (unreachable, timeout, refused) reuse protocols/errors.ts,
 * so engine code handles both networks alike.
 */
import { MurmurError } from '../../node/errors.js';

/** A latency, bandwidth or drop model was built (or sampled) with a value outside its range. */
export class LinkModelError extends MurmurError {
  static override name = 'LinkModelError';
  constructor(readonly field: string, readonly value: unknown, rule: string) {
    super('ERR_LINK_MODEL', `link model ${field} = ${String(value)}: ${rule}`);
  }
}

/** The driver found no event to fire and no work in flight, yet the simulation is not finished. */
export class SimulationStalledError extends MurmurError {
  static override name = 'SimulationStalledError';
  constructor(readonly at: number, detail: string) {
    super('ERR_SIMULATION_STALLED', `the virtual clock stalled at ${at} ms: ${detail}; every wait must be bounded by a virtual timeout`);
  }
}

/** A peer id was joined twice, or an unknown id was used where a joined one is required. */
export class VirtualPeerError extends MurmurError {
  static override name = 'VirtualPeerError';
  constructor(readonly peer: string, detail: string) {
    super('ERR_VIRTUAL_PEER', `virtual peer ${peer}: ${detail}`);
  }
}
