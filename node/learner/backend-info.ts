/**
 * Names and descriptions of the TF.js backends, without loading TF.js: the daemon's main thread only
 * reports the backend its training workers chose (backend.ts runs in the workers), and TF.js in the main
 * thread would cost ~60 MB of memory for nothing (issue 13, "a small footprint").
 */

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

export interface BackendChoice {
  readonly name: BackendName;
  /** Backends tried before the chosen one, with the reason each was skipped. */
  readonly skipped: ReadonlyArray<{ name: BackendName; reason: string }>;
}

/**
 * True when a backend was skipped only because its optional package is not installed (the usual case for
 * tfjs-node, whose install downloads libtensorflow): a choice, not a fault.
 */
export function notInstalled(reason: string): boolean {
  return /Cannot find (package|module)|ERR_MODULE_NOT_FOUND/.test(reason);
}

/** Why the faster backends were skipped, short: "tensorflow: not installed" or the first line of its error. */
export function skipReasons(choice: BackendChoice): string {
  return choice.skipped.map((s) => `${s.name}: ${notInstalled(s.reason) ? 'not installed' : s.reason}`).join('; ');
}

/** Human-readable one-liner, e.g. "wasm (tensorflow: not installed)". */
export function describeBackend(choice: BackendChoice): string {
  if (choice.skipped.length === 0) return choice.name;
  return `${choice.name} (${skipReasons(choice)})`;
}

/**
 * A tip for the log (once, at info) when the native backend is merely not installed; null otherwise. A
 * broken install is not a tip: its reason is in {@link describeBackend}.
 */
export function backendTip(choice: BackendChoice): string | null {
  const native = choice.skipped.find((s) => s.name === 'tensorflow');
  if (native === undefined || !notInstalled(native.reason)) return null;
  return `tip: training runs on ${choice.name}; the optional native backend is faster where it installs: ` +
    'npm install @tensorflow/tfjs-node (it downloads libtensorflow from outside the npm registry)';
}
