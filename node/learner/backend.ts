/**
 * Backend choice (STYLE.md §2.4): tfjs-node where its native addon installed, else wasm (SIMD, with the
 * conv-gradient kernels registered so CNNs train), else the pure-JS cpu backend. One explicit async step
 * whose result (name + why faster ones were skipped) feeds `murmur status` and every benchmark.
 */
import * as tf from '@tensorflow/tfjs';
import { registerFastConvGrads } from './fast-conv-grads.js';

import { BACKEND_NAMES, type BackendChoice, type BackendName } from './backend-info.js';

// The description helpers live in backend-info.ts, which does not load TF.js (the daemon's main thread
// describes the workers' backend without loading TF.js itself); re-exported for existing callers.
export { BACKEND_NAMES, backendTip, describeBackend, notInstalled, skipReasons, type BackendChoice, type BackendName } from './backend-info.js';

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

