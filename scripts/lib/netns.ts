/**
 * Linux network-namespace test beds with real NATs (iproute2 + nftables), for tests and bench-nat.
 *
 * Everything lives in namespaces this process creates, named `<prefix>-<role>` with a prefix that carries
 * our pid: veth pairs are created inside a namespace and their other end moved straight into another, so
 * the host's interfaces, routes and nftables tables are never touched. destroy() kills the processes it
 * started and deletes the namespaces; it also runs on exit and on SIGINT/SIGTERM/SIGHUP, and a new test
 * bed first removes leftovers of earlier runs whose process is gone (a SIGKILLed test).
 *
 * Addresses. Home LANs use 10.1.0.0/24 and 10.2.0.0/24. The "internet" segment uses WAN_PREFIX.0/24, a
 * stand-in public range: libp2p treats every private and reserved range (RFC 1918, CGNAT, the TEST-NETs,
 * 198.18/15, 2001:db8::/32) as non-public, and then AutoNAT, DCUtR and the DHT's address filter never act.
 * The segment has no link to the host, so these addresses are never routed anywhere else.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** First three octets of the stand-in public segment (see the header). */
export const WAN_PREFIX = '203.0.114';
/** Namespaces of every test bed start with this. */
const FAMILY = 'murnet';
const IP_CANDIDATES = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'];
const NFT_CANDIDATES = ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft'];

function find(candidates: readonly string[]): string | null {
  return candidates.find((p) => existsSync(p)) ?? null;
}

/** Whether this machine can build the test beds; when not, `reason` says why (for the skip message). */
export function netnsSupport(options: { nat?: boolean } = {}): { ok: true } | { ok: false; reason: string } {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux (this is ${process.platform})` };
  const ip = find(IP_CANDIDATES);
  if (ip === null) return { ok: false, reason: 'iproute2 is not installed (no ip command; apt-get install iproute2)' };
  if (options.nat === true && find(NFT_CANDIDATES) === null) return { ok: false, reason: 'nftables is not installed (no nft command; apt-get install nftables)' };
  const probe = `${FAMILY}-${process.pid}-probe${randomBytes(2).toString('hex')}`;
  try {
    execFileSync(ip, ['netns', 'add', probe], { stdio: 'pipe' });
    execFileSync(ip, ['netns', 'del', probe], { stdio: 'pipe' });
    return { ok: true };
  } catch (err) {
    const msg = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
    return { ok: false, reason: `cannot create a network namespace (needs root or CAP_NET_ADMIN): ${msg}` };
  }
}

/** A process started inside a namespace, with its output lines. */
export interface NsProcess {
  readonly ns: string;
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  readonly exited: Promise<number | null>;
}

/** Remove namespaces of earlier test beds whose creating process no longer runs. */
function sweepStale(ip: string): void {
  let names: string[];
  try {
    names = execFileSync(ip, ['netns', 'list'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
  } catch {
    return;
  }
  for (const name of names) {
    const m = new RegExp(`^${FAMILY}-(\\d+)-`).exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 0);
      continue; // still running: its own destroy() removes it
    } catch {
      // the creator is gone
    }
    try { execFileSync(ip, ['netns', 'del', name], { stdio: 'ignore' }); } catch { /* raced with another sweeper */ }
  }
}

/** Namespaces, links and processes of one test bed; every method throws with the failed command's stderr. */
export class Testbed {
  readonly prefix: string;
  private readonly ip: string;
  private readonly namespaces: string[] = [];
  private readonly processes: NsProcess[] = [];
  private destroyed = false;
  private readonly onExit = (): void => this.destroySync();
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.destroySync();
    process.kill(process.pid, signal);
  };

  constructor() {
    const ip = find(IP_CANDIDATES);
    if (ip === null) throw new Error('iproute2 is not installed');
    this.ip = ip;
    sweepStale(ip);
    this.prefix = `${FAMILY}-${process.pid}-${randomBytes(2).toString('hex')}`;
    process.once('exit', this.onExit);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(s, this.onSignal);
  }

  /** The full name of namespace `role`. */
  ns(role: string): string {
    return `${this.prefix}-${role}`;
  }

  async addNamespace(role: string): Promise<string> {
    const name = this.ns(role);
    await this.cmd(this.ip, ['netns', 'add', name]);
    this.namespaces.push(name);
    await this.cmd(this.ip, ['-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  /** A veth pair: `aName` in namespace `a`, `bName` in namespace `b` (created in `a`, never in the host). */
  async link(a: string, aName: string, b: string, bName: string): Promise<void> {
    await this.cmd(this.ip, ['-n', a, 'link', 'add', aName, 'type', 'veth', 'peer', 'name', bName, 'netns', b]);
    await this.cmd(this.ip, ['-n', a, 'link', 'set', aName, 'up']);
    await this.cmd(this.ip, ['-n', b, 'link', 'set', bName, 'up']);
  }

  /** Run `ip <args>` inside `ns`. */
  async ipIn(ns: string, ...args: string[]): Promise<void> {
    await this.cmd(this.ip, ['-n', ns, ...args]);
  }

  /** Run a command inside `ns` and return its stdout. */
  async exec(ns: string, command: string, args: readonly string[], options: { timeoutMs?: number; input?: string } = {}): Promise<string> {
    return this.cmd(this.ip, ['netns', 'exec', ns, command, ...args], options);
  }

  /** Start a long-running process inside `ns`; destroy() kills it. */
  spawn(ns: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): NsProcess {
    const child = spawn(this.ip, ['netns', 'exec', ns, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    const proc: NsProcess = { ns, child, stdout: [], stderr: [], exited: new Promise((r) => child.once('exit', (code) => r(code))) };
    const collect = (into: string[]) => {
      let buf = '';
      return (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        into.push(...lines);
      };
    };
    child.stdout!.on('data', collect(proc.stdout));
    child.stderr!.on('data', collect(proc.stderr));
    this.processes.push(proc);
    return proc;
  }

  /** Kill what we started, then delete our namespaces. Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    for (const p of this.processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(this.processes.map((p) => p.exited));
    this.destroySync();
  }

  private destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.removeListener('exit', this.onExit);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeListener(s, this.onSignal);
    for (const p of this.processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    for (const name of this.namespaces) {
      // Processes inside a namespace keep it alive after `ip netns del`: kill any (all were started by us).
      try {
        const pids = execFileSync(this.ip, ['netns', 'pids', name], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().split('\n').filter(Boolean).map(Number);
        for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ } }
      } catch { /* namespace already gone */ }
      try { execFileSync(this.ip, ['netns', 'del', name], { stdio: 'ignore' }); } catch { /* already gone */ }
    }
  }

  private async cmd(command: string, args: readonly string[], options: { timeoutMs?: number; input?: string } = {}): Promise<string> {
    try {
      if (options.input !== undefined) return await runWithInput(command, args, options.input, options.timeoutMs ?? 30_000);
      const { stdout } = await run(command, [...args], { timeout: options.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string; killed?: boolean };
      // A command killed at its deadline says so (its stderr is then usually empty).
      const why = e.killed === true ? `killed after ${options.timeoutMs ?? 30_000} ms` : '';
      throw new Error(`${command} ${args.join(' ')} failed: ${[why, (e.stderr ?? '').trim()].filter(Boolean).join('; ') || e.message}`);
    }
  }
}

function runWithInput(command: string, args: readonly string[], input: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, [...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr }));
      else resolve(stdout);
    });
    child.stdin!.end(input);
  });
}

/** The NAT test bed's namespaces and the addresses that matter. */
export interface NatBed {
  readonly bed: Testbed;
  /** Holds the relay/bootstrap daemon at `${WAN_PREFIX}.1`. */
  readonly pub: string;
  readonly homeA: string;
  readonly homeB: string;
  readonly routerA: string;
  readonly routerB: string;
  /** The public namespace's address. */
  readonly pubAddress: string;
  /** Further hosts on the public segment (`publicHosts` of natBed), at WAN_PREFIX.10, .11, … */
  readonly publicHosts: ReadonlyArray<{ readonly ns: string; readonly address: string }>;
}

/** The nftables ruleset of a home router: masquerade LAN→WAN; only replies come back in. */
export const ROUTER_RULES = `
table ip nat {
  chain postrouting { type nat hook postrouting priority srcnat; policy accept; oifname "wan" masquerade; }
}
table ip filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept
  }
}
`;

/**
 * internet: namespace `pub` with a bridge at WAN_PREFIX.1 (plus `publicHosts` more hosts on it); two home routers on it (.2, .3), each
 * masquerading its LAN (10.1.0.0/24, 10.2.0.0/24) with nftables and forwarding only replies inward; one
 * home host behind each (10.x.0.2, default route via its router). No namespace has a route to another
 * home's LAN: a dial there fails at once (the router answers "network unreachable").
 */
export async function natBed(options: { publicHosts?: number } = {}): Promise<NatBed> {
  const bed = new Testbed();
  try {
    const pub = await bed.addNamespace('pub');
    await bed.ipIn(pub, 'link', 'add', 'br0', 'type', 'bridge');
    await bed.ipIn(pub, 'addr', 'add', `${WAN_PREFIX}.1/24`, 'dev', 'br0');
    await bed.ipIn(pub, 'link', 'set', 'br0', 'up');
    const homes: string[] = [];
    const routers: string[] = [];
    for (const [i, side] of (['a', 'b'] as const).entries()) {
      const router = await bed.addNamespace(`rtr${side}`);
      const home = await bed.addNamespace(`home${side}`);
      await bed.link(pub, `w${side}`, router, 'wan');
      await bed.ipIn(pub, 'link', 'set', `w${side}`, 'master', 'br0');
      await bed.ipIn(router, 'addr', 'add', `${WAN_PREFIX}.${i + 2}/24`, 'dev', 'wan');
      await bed.link(router, 'lan', home, 'eth0');
      await bed.ipIn(router, 'addr', 'add', `10.${i + 1}.0.1/24`, 'dev', 'lan');
      await bed.ipIn(home, 'addr', 'add', `10.${i + 1}.0.2/24`, 'dev', 'eth0');
      await bed.ipIn(home, 'route', 'add', 'default', 'via', `10.${i + 1}.0.1`);
      await bed.exec(router, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
      await bed.exec(router, find(NFT_CANDIDATES) ?? 'nft', ['-f', '-'], { input: ROUTER_RULES });
      homes.push(home);
      routers.push(router);
    }
    const publicHosts: Array<{ ns: string; address: string }> = [];
    for (let i = 0; i < (options.publicHosts ?? 0); i++) {
      const ns = await bed.addNamespace(`pub${i + 1}`);
      await bed.link(pub, `h${i}`, ns, 'eth0');
      await bed.ipIn(pub, 'link', 'set', `h${i}`, 'master', 'br0');
      const address = `${WAN_PREFIX}.${10 + i}`;
      await bed.ipIn(ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      publicHosts.push({ ns, address });
    }
    return { bed, pub, homeA: homes[0]!, homeB: homes[1]!, routerA: routers[0]!, routerB: routers[1]!, pubAddress: `${WAN_PREFIX}.1`, publicHosts };
  } catch (err) {
    await bed.destroy();
    throw err;
  }
}

/** One bridged LAN segment (namespace `lan`) with `hosts` hosts at 192.168.77.2, .3, …; multicast routed to the segment. */
export async function lanBed(hosts: number): Promise<{ bed: Testbed; hosts: string[]; addresses: string[] }> {
  const bed = new Testbed();
  try {
    const lan = await bed.addNamespace('lan');
    await bed.ipIn(lan, 'link', 'add', 'br0', 'type', 'bridge');
    await bed.ipIn(lan, 'link', 'set', 'br0', 'up');
    const names: string[] = [];
    const addresses: string[] = [];
    for (let i = 0; i < hosts; i++) {
      const host = await bed.addNamespace(`host${i}`);
      await bed.link(lan, `p${i}`, host, 'eth0');
      await bed.ipIn(lan, 'link', 'set', `p${i}`, 'master', 'br0');
      const address = `192.168.77.${i + 2}`;
      await bed.ipIn(host, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      // mDNS joins 224.0.0.251 on the interface the route to it names; without one the join fails.
      await bed.ipIn(host, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0');
      names.push(host);
      addresses.push(address);
    }
    return { bed, hosts: names, addresses };
  } catch (err) {
    await bed.destroy();
    throw err;
  }
}
