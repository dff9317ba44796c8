/**
 * The Done-when checks of one soak pass (issue 12; scripts/soak-swarm.ts and test/e2e/soak-swarm.test.ts
 * share them): stall limit, round spread, accuracy against the lockstep reference, crashes, resumed rounds.
 */
import type { Check } from './bench.js';
import type { SoakPassReport } from './soak-run.js';

/** The checks of one pass (targets in scripts/soak-swarm.ts's header), given the lockstep reference accuracy by round. */
export function soakChecks(algorithm: string, report: SoakPassReport, reference: number[], roundTimeoutMs: number): Check[] {
  const live = report.peers.filter((p) => p.live);
  const worstGap = Math.max(...report.peers.map((p) => p.longestGapMs));
  // MoDeST: the round each peer is in (its estimate), not the last round its sample draws gave it (soak-run.ts).
  const ends = live.map((p) => p.swarmRoundAtEnd ?? p.roundAtEnd);
  const spread = Math.max(...ends) - Math.min(...ends);
  const offRef = live.map((p) => {
    const ref = reference[Math.min(p.finalAccuracyRound ?? p.roundAtEnd, reference.length - 1)];
    return p.finalAccuracy === null || ref === undefined ? Number.POSITIVE_INFINITY : Math.abs(p.finalAccuracy - ref) * 100;
  });
  const crashes = report.peers.reduce((s, p) => s + p.unexpectedExits, 0);
  const restarts = report.peers.flatMap((p) => p.restarts);
  const badRestarts = restarts.filter((r) => r.resumed !== r.committed).length;
  return [
    { name: `${algorithm}: longest wait for a round`, pass: worstGap <= 3 * roundTimeoutMs, figure: `${(worstGap / 1000).toFixed(1)} s`, target: `≤ ${(3 * roundTimeoutMs) / 1000} s` },
    { name: `${algorithm}: round spread at the end`, pass: spread <= 3, figure: `${spread} (${Math.min(...ends)}–${Math.max(...ends)})`, target: '≤ 3' },
    { name: `${algorithm}: accuracy vs lockstep`, pass: offRef.every((d) => d <= 3), figure: `max ${Math.max(...offRef).toFixed(2)} points off`, target: '≤ 3 points' },
    { name: `${algorithm}: crashes`, pass: crashes === 0, figure: String(crashes), target: '0' },
    { name: `${algorithm}: restarts resume the committed round`, pass: badRestarts === 0, figure: `${restarts.length - badRestarts}/${restarts.length}`, target: 'all' },
  ];
}
