/**
 * The numeric kernels in WebAssembly with 128-bit SIMD (issue 15), compiled from AssemblyScript
 * (aggregation/kernels/assembly/) by `npm ci` and embedded as bytes in a generated module, so loading them
 * needs no I/O and aggregation/ stays pure. Each thread (main and every worker) instantiates its own copy
 * on first import. Where WebAssembly SIMD is missing or the module was not built, `kernels()` is null and
 * every caller runs its scalar JS version, which is also the reference the differential tests compare with;
 * `kernelInfo()` says which variant runs and why, for `murmur status` and the benchmarks.
 *
 * Memory: the JS side owns everything above the module's __heap_base. A caller takes one region per call
 * (`Kernels.region`), carves it into typed views, calls the kernels and copies results out before the next
 * call; kernels are synchronous and a thread runs one at a time, so one scratch region per thread suffices.
 *
 * Resident vectors: `kernelVectors` hands out Float32Arrays that live in reserved kernel memory for the life of
 * the thread; a rule given such a vector reads it in place instead of staging a copy (reading 40 MB of inputs
 * costs about as much as the whole sum, so for the mean of 100 × 100k floats the copy was more than half the
 * time). Growing a WebAssembly memory detaches its old buffer and every view on it, so the memory starts at
 * 512 MiB (scripts/build-kernels.ts; the OS commits pages only as they are touched) and, once a thread holds kernel
 * vectors, refuses to grow with a RangeError rather than invalidate them. (A shared memory would never detach,
 * but every TypedArray copy into or out of a SharedArrayBuffer takes V8's slower relaxed-atomic copy: 10–30%
 * on the staged paths, which are the common ones.)
 */

/** The parts of the WebAssembly JS API used here (the project's lib settings carry no DOM/WebAssembly types). */
interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
};

/** Which implementation of the numeric kernels runs in this thread. */
export type KernelVariant = 'wasm-simd128' | 'js';

export interface KernelInfo {
  readonly variant: KernelVariant;
  /** Why this variant: the SIMD module's size and hash, or why it could not be used. */
  readonly reason: string;
}

/** The raw exports of the kernel module (pointers are byte offsets, lengths count elements). */
export interface KernelExports {
  readonly memory: WasmMemory;
  heapBase(): number;
  sumRowsAt(acc: number, table: number, rows: number, offset: number, len: number, first: number): void;
  weightedRowsAt(acc: number, table: number, w: number, rows: number, offset: number, len: number, first: number): void;
  divideToF32(out: number, acc: number, len: number, divisor: number): void;
  blend(out: number, x: number, y: number, len: number, a: number, b: number): void;
  squaredDistance(x: number, v: number, len: number): number;
  clipRowsAt(acc: number, table: number, scales: number, rows: number, offset: number, v: number, len: number, first: number): void;
  clipStep(v: number, acc: number, len: number, n: number): void;
  promote(dst: number, src: number, len: number): void;
  transposeBlock(stage: number, n: number, len: number, stride: number, scratch: number, sum: number, sumSq: number): void;
  trimmedColumns(scratch: number, n: number, len: number, sum: number, sumSq: number, out: number, f: number, usePivots: number, zOuter: number, zInner: number, low: number, high: number, spare: number): void;
  denseBatch(desc: number, size: number, lr: number, wd: number, mu: number, first: number): number;
  denseFold(desc: number): void;
  denseLogits(desc: number, rows: number, n: number, start: number, col: number, val: number, out: number, z: number, hIdx: number, hVal: number): void;
  f16Encode(src: number, dst: number, n: number): number;
  f16Decode(src: number, dst: number, n: number): number;
  minMax(src: number, n: number, out: number): void;
  q8Encode(src: number, codes: number, n: number, min: number, inv: number): void;
  q8Decode(codes: number, out: number, n: number, min: number, scale: number): void;
  shiftedSums(x: number, len: number, shift: number, out: number): void;
  rescale(x: number, len: number, mu: number, scale: number): void;
  plainSums(x: number, len: number, out: number): void;
  sumSquaredRows(acc: number, table: number, rows: number, offset: number, len: number, first: number, sums: number, lanes: number): void;
  denseScore(logits: number, n: number, c: number, labels: number, pred: number): number;
  distancePrep(stage: number, n: number, len: number, rows64: number, pairs: number): void;
  distanceBlock(rows64: number, pairs: number, n: number, len: number, D: number): void;
  trimmedNetwork(table: number, rows: number, offset: number, len: number, f: number, out: number, column: number): void;
  medianColumns(scratch: number, n: number, len: number, sum: number, sumSq: number, out: number, z: number, band: number): void;
  [name: string]: unknown;
}

/** A bump allocator over the module's memory, reset by each `region` call. */
export class Region {
  private next: number;
  constructor(private readonly k: Kernels, base: number) { this.next = base; }
  /** Reserve `bytes` (16-byte aligned) and return its byte offset; call `k.views()` after the last alloc. */
  alloc(bytes: number): number {
    const at = this.next;
    this.next = at + ((bytes + 15) & ~15);
    this.k.ensure(this.next);
    return at;
  }
}

/** The instantiated module with typed views that follow memory growth. */
export class Kernels {
  readonly x: KernelExports;
  private base: number;
  private buffer: ArrayBuffer;
  f32: Float32Array;
  f64: Float64Array;
  u8: Uint8Array;
  u16: Uint16Array;
  i32: Int32Array;

  /** Set once kernel vectors are handed out: from then on the memory must not grow (it would detach them). */
  pinned = false;

  constructor(exports: KernelExports) {
    this.x = exports;
    this.base = (exports.heapBase() + 15) & ~15;
    this.buffer = exports.memory.buffer;
    this.f32 = new Float32Array(this.buffer); this.f64 = new Float64Array(this.buffer);
    this.u8 = new Uint8Array(this.buffer); this.u16 = new Uint16Array(this.buffer); this.i32 = new Int32Array(this.buffer);
  }

  /**
   * Reserve `bytes` for the life of this thread (data that stays resident, like a dataset's rows): returns its
   * byte offset; scratch regions start above it from now on.
   */
  reserve(bytes: number): number {
    const at = this.base;
    this.base = at + ((bytes + 15) & ~15);
    this.ensure(this.base);
    return at;
  }

  /** Bytes reserved by `reserve` so far (above the module's own data). */
  get reserved(): number { return this.base; }

  /**
   * The byte offset of `v` in this memory if it lies in reserved memory (a `kernelVectors` vector or part of
   * one), else -1: kernels may read and write such a view in place, and scratch regions never overlap it.
   */
  addressOf(v: ArrayBufferView): number {
    return v.buffer === this.buffer && v.byteOffset + v.byteLength <= this.base ? v.byteOffset : -1;
  }

  /** A fresh scratch region: earlier regions' offsets become invalid. */
  region(): Region { return new Region(this, this.base); }

  /** Grow the memory to hold `end` bytes; refreshes the views when it grows. */
  ensure(end: number): void {
    const have = this.x.memory.buffer.byteLength;
    if (end > have) {
      if (this.pinned) {
        throw new RangeError(`aggregation kernels: need ${end} bytes of kernel memory, have ${have}; growing it would invalidate the kernelVectors handed out (allocate fewer, or before any kernel call needs more)`);
      }
      this.x.memory.grow(Math.ceil((end - have) / 65536));
    }
    if (this.buffer !== this.x.memory.buffer) {
      this.buffer = this.x.memory.buffer;
      this.f32 = new Float32Array(this.buffer); this.f64 = new Float64Array(this.buffer);
      this.u8 = new Uint8Array(this.buffer); this.u16 = new Uint16Array(this.buffer); this.i32 = new Int32Array(this.buffer);
    }
  }
}

/** The smallest module that uses a SIMD instruction (v128.const + drop): validates only where SIMD is supported. */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 23, 1, 21, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 26, 11]);

/** Generated by scripts/build-kernels.ts; imported by a computed name so a checkout without it still typechecks and runs (in JS). */
const GENERATED = './kernel-bytes.generated.js';

function decodeBase64(text: string): Uint8Array {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

async function load(): Promise<{ kernels: Kernels | null; info: KernelInfo }> {
  const js = (reason: string) => ({ kernels: null, info: { variant: 'js' as const, reason } });
  if (typeof WebAssembly !== 'object') return js('this runtime has no WebAssembly');
  if (!WebAssembly.validate(SIMD_PROBE)) return js('this runtime has no WebAssembly 128-bit SIMD');
  let generated: { KERNELS_WASM_BASE64: string; KERNELS_WASM_SHA256: string };
  try {
    generated = await import(GENERATED) as typeof generated;
  } catch {
    return js('the kernel module was not built (npm ci, or npm run build:kernels)');
  }
  try {
    const bytes = decodeBase64(generated.KERNELS_WASM_BASE64);
    // JS's own exp and log, so the dense training kernel computes the same softmax as dense-js.ts bit for bit.
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { exp: Math.exp, log: Math.log } });
    return { kernels: new Kernels(instance.exports as unknown as KernelExports), info: { variant: 'wasm-simd128', reason: `WebAssembly SIMD available; kernel module ${bytes.length} bytes, sha256 ${generated.KERNELS_WASM_SHA256}` } };
  } catch (err) {
    return js(`the kernel module failed to load: ${(err as Error).message}`);
  }
}

const loaded = await load();
let active: Kernels | null = loaded.kernels;
let info: KernelInfo = loaded.info;

/** The WebAssembly kernels of this thread, or null when the scalar JS versions run. */
export function kernels(): Kernels | null { return active; }

/**
 * `count` zeroed Float32Arrays of `length` floats for the life of this thread, in the kernel memory when the
 * kernels run (the rules then read them in place, no staging copy), else ordinary arrays. Allocate once and
 * reuse (a receive buffer per neighbour, a benchmark's inputs): the memory is never given back.
 * @throws RangeError when the kernel memory cannot hold them (see the file header)
 */
export function kernelVectors(count: number, length: number): Float32Array[] {
  if (!Number.isInteger(count) || count < 0 || !Number.isInteger(length) || length < 0) {
    throw new RangeError(`kernelVectors: count ${count} and length ${length} must be non-negative integers`);
  }
  const k = active;
  if (!k) return Array.from({ length: count }, () => new Float32Array(length));
  const stride = (4 * length + 15) & ~15;
  const at = k.reserve(stride * count);
  k.pinned = true;
  k.u8.fill(0, at, at + stride * count); // the range may have been scratch before
  return Array.from({ length: count }, (_, j) => new Float32Array(k.f32.buffer, at + j * stride, length));
}

/** Which kernel variant this thread runs, and why. */
export function kernelInfo(): KernelInfo { return info; }

/**
 * Run the scalar JS versions in this thread from now on (`on` false), or the WebAssembly kernels again if they
 * loaded (`on` true). For benchmarks and tests that compare the two; returns the variant now in use.
 */
export function useWasmKernels(on: boolean, reason = 'turned off by the caller'): KernelInfo {
  if (on) { active = loaded.kernels; info = loaded.info; } else { active = null; info = { variant: 'js', reason }; }
  return info;
}
