import '../../../node/polyfill.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectionsHeld, type ConnectionEvents } from '../../../topology-sim/connections-held.js';
import { SwarmError } from '../../../topology-sim/errors.js';

/** A node stand-in: an EventTarget that announces connections from the given peer ids. */
class FakeNode extends EventTarget implements ConnectionEvents {
  private readonly held = new Set<unknown>();
  get listeners(): number { return this.held.size; }
  override addEventListener(type: string, listener: never): void { this.held.add(listener); super.addEventListener(type, listener); }
  override removeEventListener(type: string, listener: never): void { this.held.delete(listener); super.removeEventListener(type, listener); }
  open(peer: string): void { this.dispatchEvent(new CustomEvent('connection:open', { detail: { remotePeer: { toString: () => peer } } })); }
}

/** Warnings Node emitted while `run` ran (and a turn after, when process warnings are emitted). */
async function warningsDuring(run: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const onWarning = (w: Error): void => { seen.push(`${w.name}: ${w.message}`); };
  process.on('warning', onWarning);
  try {
    await run();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', onWarning);
  }
  return seen;
}

describe('connections held at the end of a bring-up (connections-held.ts)', () => {
  it('waits for 40 nodes on one deadline without piling listeners on it (no MaxListenersExceededWarning)', async () => {
    const nodes = Array.from({ length: 40 }, () => new FakeNode());
    const waiting = new Map(nodes.map((node, j) => [j, { node, from: new Set([`p${j}a`, `p${j}b`]) }]));
    const warnings = await warningsDuring(async () => {
      const held = connectionsHeld(waiting, Date.now() + 60_000);
      nodes.forEach((n, j) => { n.open(`p${j}a`); n.open('someone-else'); });
      nodes.forEach((n, j) => n.open(`p${j}b`));
      await held;
    });
    assert.deepEqual(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')), []);
    assert.ok(nodes.every((n) => n.listeners === 0), 'a connection:open listener was left behind');
  });

  it('rejects at the deadline naming a node still waiting, and leaves no listener behind', async () => {
    const a = new FakeNode(), b = new FakeNode();
    const waiting = new Map([[3, { node: a, from: new Set(['x']) }], [7, { node: b, from: new Set(['y', 'z']) }]]);
    const alive = setTimeout(() => {}, 10_000); // the deadline's timer is unref'd: keep the loop up for it
    const held = connectionsHeld(waiting, Date.now() + 20);
    a.open('x');
    await assert.rejects(held, (err: unknown) => err instanceof SwarmError && /peer 7 never held the connections of 2 neighbour/.test(err.message));
    clearTimeout(alive);
    assert.equal(a.listeners + b.listeners, 0);
  });

  it('returns at once when nothing is waiting', async () => {
    await connectionsHeld(new Map(), Date.now() - 1);
  });
});
