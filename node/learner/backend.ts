/**
 * Backend choice (STYLE.md §2.4): tfjs-node where its native addon installed, else wasm (SIMD, with the
 * conv-gradient kernels registered so CNNs train), else the pure-JS cpu backend. One explicit async step
 * whose result (name + why faster ones were skipped) feeds `murmur status` and every benchmark.
 */
import * as tf from '@tensorflow/tfjs';
import { registerFastConvGrads } from './fast-conv-grads.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

export interface BackendChoice {
  readonly name: BackendName;
  /** Backends tried before the chosen one, with the reason each was skipped. */
  readonly skipped: ReadonlyArray<{ name: BackendName; reason: string }>;
}

// Through a variable so tsc does not require the optional package to be installed.
const TFJS_NODE: string = '@tensorflow/tfjs-node';

let chosen: Promise<BackendChoice> | null = null;

/**
 * Initialise TF.js once per process (or worker) on the first backend of `prefer` that loads. Every load
 * error is caught: a half-installed tfjs-node throws a plain Error with no code (notes/tfjs.md §1).
 * Later calls return the first result; `prefer` must then be the same.
 */
export function selectBackend(prefer: readonly BackendName[] = BACKEND_NAMES): Promise<BackendChoice> {
  chosen ??= initialise(prefer);
  return chosen;
}

/** The backend in use, or null before selectBackend() resolved. */
export function currentBackend(): BackendName | null {
  const name = tf.getBackend();
  return (BACKEND_NAMES as readonly string[]).includes(name) ? (name as BackendName) : null;
}

async function initialise(prefer: readonly BackendName[]): Promise<BackendChoice> {
  tf.env().set('PROD', true); // also silences the "install tfjs-node" banner
  const skipped: Array<{ name: BackendName; reason: string }> = [];
  for (const name of prefer) {
    try {
      if (name === 'tensorflow') await import(TFJS_NODE);
      if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
      if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') returned false`);
      await tf.ready();
      // wasm lacks Conv2DBackpropFilter; on cpu the same rewrite is ~9× faster than the stock kernels.
      if (name === 'wasm' || name === 'cpu') registerFastConvGrads(name);
      return { name, skipped };
    } catch (err) {
      skipped.push({ name, reason: firstLine(err) });
    }
  }
  throw new Error(`no TensorFlow.js backend could be initialised: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.slice(0, 200);
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
