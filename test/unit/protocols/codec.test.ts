import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeLayout, tensorView, type Layout, type TensorEntry } from '../../../aggregation/layout.js';
import { rngFor } from '../../../node/data/rng.js';
import {
  decodeFrame, DEFAULT_FRAME_LIMITS, encodeModelFrame, encodeRankingFrame, FrameRejectedError, peekHeader,
  REJECT_REASONS, type DecodeResult, type DecodedFrame, type FrameLimits, type FrameMeta, type RejectReason,
} from '../../../protocols/codec.js';

// Header offsets from the layout table in protocols/codec.ts.
const AT = { version: 4, kind: 5, encoding: 6, swarmLength: 7, round: 8, step: 12, age: 16, hash: 24, elementCount: 32, payloadLength: 40, swarm: 44 };

const layout = makeLayout([
  { name: 'dense/kernel', shape: [40, 25], role: 'kernel' },
  { name: 'dense/bias', shape: [25], role: 'bias' },
  { name: 'norm/gamma', shape: [25], role: 'norm' },
  { name: 'dense/scores', shape: [40, 25], role: 'score' },
]);
const meta: FrameMeta = { kind: 'model', swarm: 'murmur-test', round: 7, step: 2, degree: 5, age: 12.5 };
const expect = { layout, swarm: meta.swarm };

function weights(n: number, seed: number, sd = 0.05): Float32Array {
  const rng = rngFor('codec-test', seed);
  return Float32Array.from({ length: n }, () => sd * rng.normal());
}
const values = weights(layout.size, 1);

function decoded(result: DecodeResult): DecodedFrame {
  if (!result.ok) assert.fail(`rejected (${result.reason}): ${result.detail}`);
  return result.frame;
}
function rejects(result: DecodeResult | ReturnType<typeof peekHeader>, reason: RejectReason): void {
  assert.equal(result.ok, false, `expected a '${reason}' reject`);
  if (!result.ok) assert.equal(result.reason, reason, result.detail);
}
function throwsReject(fn: () => unknown, reason: RejectReason): void {
  assert.throws(fn, (e: unknown) => e instanceof FrameRejectedError && e.code === 'ERR_FRAME_REJECTED' && e.reason === reason);
}
/** A copy of `frame` starting at an odd offset of its buffer. */
function unaligned(frame: Uint8Array): Uint8Array {
  const buf = new Uint8Array(frame.length + 1);
  buf.set(frame, 1);
  return buf.subarray(1);
}
const view = (f: Uint8Array): DataView => new DataView(f.buffer, f.byteOffset, f.byteLength);
const payloadStart = (f: Uint8Array): number => f.length - view(f).getUint32(AT.payloadLength, true);
const shuffled = (m: number, seed: number): Uint32Array => rngFor('ranking', seed).shuffleTyped(Uint32Array.from({ length: m }, (_, i) => i));
const scoreRanking = (l: Layout): Uint32Array[] => l.tensors.filter((t) => t.role === 'score').map((t, i) => shuffled(t.size, i));

describe('codec round trips', () => {
  it('f32 is exact, views an aligned payload without copying and copies an unaligned one once', () => {
    const frame = encodeModelFrame(meta, layout, values);
    const f = decoded(decodeFrame(frame, expect));
    assert.deepEqual(f.values, values);
    assert.equal(f.values!.buffer, frame.buffer);
    assert.equal(f.sparse, null);
    assert.equal(f.rankings, null);
    const g = decoded(decodeFrame(unaligned(frame), expect));
    assert.deepEqual(g.values, values);
    assert.notEqual(g.values!.buffer, frame.buffer);
  });

  it('carries every header field and the extension', () => {
    const m: FrameMeta = { kind: 'aggregate', swarm: 'ærø-🐦', round: 2 ** 32 - 1, step: 1024, degree: 65535, age: 0.125 };
    const extension = Uint8Array.from({ length: 37 }, (_, i) => i * 7);
    const f = decoded(decodeFrame(encodeModelFrame(m, layout, values, { encoding: 'f16', extension }), { layout, swarm: m.swarm }));
    assert.deepEqual(f.header, {
      ...m, version: 1, layoutHash: layout.hash, encoding: 'f16', elementCount: layout.size, extensionLength: 37, payloadLength: 2 * layout.size,
    });
    assert.deepEqual(f.extension, extension);
    assert.deepEqual(decoded(decodeFrame(encodeModelFrame(meta, layout, values), expect)).extension, new Uint8Array(0));
  });

  it('f16 keeps typical weights within 1e-3 relative error and edge values exactly', () => {
    const w = weights(layout.size, 2);
    const edges = [0, -0, 2 ** -24, -(2 ** -24), 2 ** -14 - 2 ** -24, 2 ** -14, 65504, -65504, 1, -2.5];
    w.set(edges);
    const f = decoded(decodeFrame(encodeModelFrame(meta, layout, w, { encoding: 'f16' }), expect));
    const out = f.values!;
    edges.forEach((e, i) => assert.ok(Object.is(out[i], e), `edge ${e} decoded as ${out[i]}`));
    let errSq = 0;
    let normSq = 0;
    for (let i = 0; i < w.length; i++) {
      const err = Math.abs(out[i]! - w[i]!);
      // Half precision: relative 2^-11 in the normal range; below 2^-14 (subnormal halves) an absolute 2^-25.
      const bound = Math.abs(w[i]!) >= 2 ** -14 ? 1e-3 * Math.abs(w[i]!) : 2 ** -25;
      if (err > bound) assert.fail(`element ${i}: ${w[i]} → ${out[i]}`);
      errSq += err * err;
      normSq += w[i]! ** 2;
    }
    assert.ok(Math.sqrt(errSq / normSq) <= 1e-3);
  });

  it('q8 reconstructs every value within half a step of its tensor, and constant tensors exactly', () => {
    const w = weights(layout.size, 3);
    tensorView(w, layout.tensors[1]!).fill(0.25); // a constant tensor
    tensorView(w, layout.tensors[2]!).set([1e6, -1e6]); // a wide range
    // A range of 380 float32 subnormal units: (max − min) / 255 = 1.49 units, which rounds to 1 unit
    // and would push codes past 255 unless the scale is rounded up.
    tensorView(w, layout.tensors[3]!).set([0, 380 * 2 ** -149, 190 * 2 ** -149]);
    const frame = encodeModelFrame(meta, layout, w, { encoding: 'q8' });
    assert.equal(view(frame).getUint32(AT.payloadLength, true), 8 * layout.tensors.length + layout.size);
    const out = decoded(decodeFrame(frame, expect)).values!;
    const params = new Float32Array(frame.slice(payloadStart(frame)).buffer, 0, 2 * layout.tensors.length);
    layout.tensors.forEach((t, ti) => {
      const src = tensorView(w, t);
      const dst = tensorView(out, t);
      const scale = params[2 * ti + 1]!;
      assert.ok(scale >= (Math.max(...src) - Math.min(...src)) / 255, `${t.name}: scale ${scale} covers the range`);
      src.forEach((v, i) => {
        if (Math.abs(dst[i]! - v) > scale / 2 + Math.abs(v) * 2 ** -24) assert.fail(`${t.name}[${i}]: ${v} → ${dst[i]}, scale ${scale}`);
      });
    });
    assert.deepEqual(tensorView(out, layout.tensors[1]!), new Float32Array(25).fill(0.25));
  });

  it('topk keeps exactly the ceil(fraction·n) largest magnitudes, ascending, with their values', () => {
    const frame = encodeModelFrame(meta, layout, values, { encoding: 'topk', topkFraction: 0.1 });
    const f = decoded(decodeFrame(frame, expect));
    const k = Math.ceil(0.1 * layout.size);
    assert.equal(f.header.elementCount, k);
    assert.equal(f.values, null);
    const expected = [...values.keys()].sort((a, b) => Math.abs(values[b]!) - Math.abs(values[a]!)).slice(0, k).sort((a, b) => a - b);
    assert.deepEqual([...f.sparse!.indices], expected);
    assert.deepEqual([...f.sparse!.values], expected.map((i) => values[i]!));
    assert.deepEqual(decoded(decodeFrame(unaligned(frame), expect)).sparse, f.sparse);
  });

  it('topk breaks magnitude ties by lowest index and keeps everything at fraction 1', () => {
    const small = makeLayout([{ name: 'w', shape: [6], role: 'kernel' }]);
    const v = new Float32Array([0.5, -1, 1, 0.5, -0.5, 2]);
    const m = { layout: small, swarm: meta.swarm };
    const f = decoded(decodeFrame(encodeModelFrame(meta, small, v, { encoding: 'topk', topkFraction: 0.5 }), m));
    assert.deepEqual([...f.sparse!.indices], [1, 2, 5]);
    const g = decoded(decodeFrame(encodeModelFrame(meta, small, v, { encoding: 'topk', topkFraction: 4 / 6 }), m));
    assert.deepEqual([...g.sparse!.indices], [0, 1, 2, 5]);
    const all = decoded(decodeFrame(encodeModelFrame(meta, small, v, { encoding: 'topk', topkFraction: 1 }), m));
    assert.deepEqual(all.sparse!.values, v);
    // 0.07 × 100 is 7.000000000000001 in floating point; a tiny fraction still keeps one coordinate.
    const hundred = makeLayout([{ name: 'w', shape: [100], role: 'kernel' }]);
    for (const [fraction, k] of [[0.07, 7], [0.071, 8], [1e-9, 1]] as const) {
      const p = peekHeader(encodeModelFrame(meta, hundred, weights(100, 4), { encoding: 'topk', topkFraction: fraction }));
      assert.ok(p.ok && p.header.elementCount === k, `fraction ${fraction}`);
    }
    for (const bad of [0, -0.1, 1.5, NaN]) assert.throws(() => encodeModelFrame(meta, small, v, { encoding: 'topk', topkFraction: bad }), RangeError);
  });

  it('ranking frames round-trip, each permutation in u8, u16 or u32 by tensor size', () => {
    for (const [sizes, bytes] of [[[256], 256], [[257], 514], [[65536], 131072], [[65537], 262148], [[3, 300], 3 + 600]] as const) {
      const l = makeLayout([{ name: 'k', shape: [4], role: 'kernel' }, ...sizes.map((m, i): TensorEntry => ({ name: `s${i}`, shape: [m], role: 'score' }))]);
      const rankings = scoreRanking(l);
      const frame = encodeRankingFrame({ ...meta, kind: 'ranking' }, l, rankings);
      assert.equal(view(frame).getUint32(AT.payloadLength, true), bytes, `sizes ${sizes}`);
      for (const bytesIn of [frame, unaligned(frame)]) {
        const f = decoded(decodeFrame(bytesIn, { layout: l, swarm: meta.swarm }));
        assert.deepEqual(f.rankings, rankings);
        assert.equal(f.values, null);
      }
    }
  });
});

describe('codec rejects', () => {
  it('refuses a bad swarm id or layout hash every time, and many swarms and layouts encode their own header', () => {
    // The header cache must neither remember a refusal as an answer nor mix up entries.
    for (let rep = 0; rep < 2; rep++) {
      throwsReject(() => encodeModelFrame({ ...meta, swarm: 'bad\ud800' }, layout, values), 'bad-header');
      throwsReject(() => encodeModelFrame({ ...meta, swarm: 'x'.repeat(65) }, layout, values), 'bad-header');
      throwsReject(() => encodeModelFrame(meta, { ...layout, hash: 'ABCDEF0123456789' }, values), 'bad-header');
    }
    for (let i = 0; i < 40; i++) {
      const swarm = `swarm-${i % 23}`, hash = (i % 19).toString(16).padStart(16, '0');
      const f = encodeModelFrame({ ...meta, swarm }, { ...layout, hash }, values);
      const h = decoded(decodeFrame(f, { layout: { ...layout, hash }, swarm })).header;
      assert.equal(h.swarm, swarm);
      assert.equal(h.layoutHash, hash);
    }
  });

  const f32 = (): Uint8Array => encodeModelFrame(meta, layout, values);
  const patched = (frame: Uint8Array, edit: (dv: DataView, payload: number) => void): Uint8Array => {
    edit(view(frame), payloadStart(frame));
    return frame;
  };

  it('lists each reason once', () => assert.equal(new Set(REJECT_REASONS).size, 12));

  it('truncated: a frame one byte short, and one shorter than the fixed header', () => {
    const frame = f32();
    rejects(decodeFrame(frame.subarray(0, frame.length - 1), expect), 'truncated');
    rejects(decodeFrame(frame.subarray(0, 43), expect), 'truncated');
    rejects(decodeFrame(new Uint8Array(0), expect), 'truncated');
  });

  it('bad magic, unsupported version, unknown kind, unknown encoding', () => {
    rejects(decodeFrame(patched(f32(), (dv) => dv.setUint8(0, 0x4e)), expect), 'bad-magic');
    rejects(decodeFrame(patched(f32(), (dv) => dv.setUint8(AT.version, 2)), expect), 'unsupported-version');
    rejects(decodeFrame(patched(f32(), (dv) => dv.setUint8(AT.kind, 3)), expect), 'unknown-kind');
    rejects(decodeFrame(patched(f32(), (dv) => dv.setUint8(AT.encoding, 4)), expect), 'unknown-encoding');
  });

  it('foreign swarm and foreign layout', () => {
    rejects(decodeFrame(f32(), { layout, swarm: 'other' }), 'foreign-swarm');
    // A leading byte-order mark is part of the id, not stripped into a match.
    const bom = encodeModelFrame({ ...meta, swarm: `\ufeff${meta.swarm}` }, layout, values);
    rejects(decodeFrame(bom, expect), 'foreign-swarm');
    decoded(decodeFrame(bom, { layout, swarm: `\ufeff${meta.swarm}` }));
    const other = makeLayout([{ name: 'dense/kernel', shape: [25, 40], role: 'kernel' }]);
    rejects(decodeFrame(f32(), { layout: other, swarm: meta.swarm }), 'foreign-layout');
  });

  it('wrong length: payload vs element count, extra bytes, element count vs layout, q8 and ranking payloads', () => {
    rejects(decodeFrame(patched(f32(), (dv) => dv.setUint32(AT.elementCount, layout.size - 1, true)), expect), 'wrong-length');
    const extra = new Uint8Array(f32().length + 1);
    extra.set(f32());
    rejects(decodeFrame(extra, expect), 'wrong-length');
    // Consistent header and payload, one element short of the layout.
    const short = patched(f32(), (dv) => {
      dv.setUint32(AT.elementCount, layout.size - 1, true);
      dv.setUint32(AT.payloadLength, 4 * (layout.size - 1), true);
    });
    rejects(decodeFrame(short.subarray(0, short.length - 4), expect), 'wrong-length');
    const q8 = patched(encodeModelFrame(meta, layout, values, { encoding: 'q8' }), (dv) => dv.setUint32(AT.payloadLength, dv.getUint32(AT.payloadLength, true) - 1, true));
    rejects(decodeFrame(q8.subarray(0, q8.length - 1), expect), 'wrong-length');
    const ranking = patched(encodeRankingFrame({ ...meta, kind: 'ranking' }, layout, scoreRanking(layout)), (dv) => dv.setUint32(AT.elementCount, 999, true));
    rejects(decodeFrame(ranking, expect), 'wrong-length');
    throwsReject(() => encodeModelFrame(meta, layout, values.subarray(1)), 'wrong-length');
  });

  it('oversized: frame bytes, element count and extension beyond the limits', () => {
    const frame = f32();
    rejects(decodeFrame(frame, { ...expect, limits: { ...DEFAULT_FRAME_LIMITS, maxFrameBytes: frame.length - 1 } }), 'oversized');
    rejects(decodeFrame(patched(f32(), (dv) => dv.setUint32(AT.payloadLength, 2 ** 32 - 1, true)), expect), 'wrong-length');
    rejects(peekHeader(patched(encodeModelFrame(meta, layout, values, { encoding: 'q8' }), (dv) => dv.setUint32(AT.payloadLength, 2 ** 32 - 1, true))), 'oversized');
  });

  it('non-finite: NaN and Inf in f32 values, f16 patterns, q8 min and scale, and the age field', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      rejects(decodeFrame(patched(f32(), (dv, p) => dv.setFloat32(p + 4 * 17, bad, true)), expect), 'non-finite');
      for (const encoding of ['f32', 'f16', 'q8', 'topk'] as const) {
        const v = values.slice();
        v[33] = bad;
        throwsReject(() => encodeModelFrame(meta, layout, v, { encoding }), 'non-finite');
      }
    }
    for (const pattern of [0x7c00, 0xfc00, 0x7e00]) {
      rejects(decodeFrame(patched(encodeModelFrame(meta, layout, values, { encoding: 'f16' }), (dv, p) => dv.setUint16(p + 2 * 9, pattern, true)), expect), 'non-finite');
    }
    const q8 = (): Uint8Array => encodeModelFrame(meta, layout, values, { encoding: 'q8' });
    rejects(decodeFrame(patched(q8(), (dv, p) => dv.setFloat32(p + 4, NaN, true)), expect), 'non-finite'); // scale of tensor 0
    rejects(decodeFrame(patched(q8(), (dv, p) => dv.setFloat32(p + 8, Infinity, true)), expect), 'non-finite'); // min of tensor 1
    rejects(decodeFrame(patched(q8(), (dv, p) => { dv.setFloat32(p, 3e38, true); dv.setFloat32(p + 4, 3e38, true); }), expect), 'non-finite');
    rejects(decodeFrame(patched(encodeModelFrame(meta, layout, values, { encoding: 'topk' }), (dv, p) => dv.setFloat32(dv.byteLength - 4, NaN, true)), expect), 'non-finite');
    rejects(decodeFrame(patched(f32(), (dv) => dv.setFloat64(AT.age, NaN, true)), expect), 'non-finite');
    throwsReject(() => encodeModelFrame({ ...meta, age: Infinity }, layout, values), 'non-finite');
  });

  it('bad ranking: a repeat, an entry out of range, no score tensors, a wrong count', () => {
    const rankings = scoreRanking(layout);
    const rf = (): Uint8Array => encodeRankingFrame({ ...meta, kind: 'ranking' }, layout, rankings);
    const score = layout.tensors[3]!.size; // 1000 entries → u16
    rejects(decodeFrame(patched(rf(), (dv, p) => dv.setUint16(p + 2, dv.getUint16(p, true), true)), expect), 'bad-ranking');
    rejects(decodeFrame(patched(rf(), (dv, p) => dv.setUint16(p + 2 * 5, score, true)), expect), 'bad-ranking');
    const noScores = makeLayout([{ name: 'w', shape: [4], role: 'kernel' }]);
    const hash = Buffer.from(noScores.hash, 'hex');
    rejects(decodeFrame(patched(rf(), (dv) => hash.forEach((b, i) => dv.setUint8(AT.hash + i, b))), { layout: noScores, swarm: meta.swarm }), 'bad-ranking');
    const dup = rankings[0]!.slice();
    dup[0] = dup[1]!;
    throwsReject(() => encodeRankingFrame({ ...meta, kind: 'ranking' }, layout, [dup]), 'bad-ranking');
    throwsReject(() => encodeRankingFrame({ ...meta, kind: 'ranking' }, layout, []), 'bad-ranking');
    throwsReject(() => encodeRankingFrame({ ...meta, kind: 'ranking' }, noScores, []), 'bad-ranking');
  });

  it('bad header: topk indices out of order or out of range, swarm id too long or not UTF-8, padding, negative age', () => {
    const topk = (): Uint8Array => encodeModelFrame(meta, layout, values, { encoding: 'topk' });
    rejects(decodeFrame(patched(topk(), (dv, p) => dv.setUint32(p + 4, dv.getUint32(p, true), true)), expect), 'bad-header');
    const k = Math.ceil(0.1 * layout.size);
    rejects(decodeFrame(patched(topk(), (dv, p) => dv.setUint32(p + 4 * (k - 1), layout.size, true)), expect), 'bad-header');
    rejects(decodeFrame(patched(f32(), (dv) => dv.setUint8(AT.swarmLength, 65)), expect), 'bad-header');
    rejects(decodeFrame(patched(f32(), (dv) => dv.setUint8(AT.swarm, 0xff)), expect), 'bad-header');
    // 'murmur-test' is 11 bytes: 44 + 11 = 55, so one padding byte precedes the payload at 56.
    rejects(decodeFrame(patched(f32(), (dv) => dv.setUint8(55, 1)), expect), 'bad-header');
    rejects(decodeFrame(patched(f32(), (dv) => dv.setFloat64(AT.age, -1, true)), expect), 'bad-header');
    rejects(decodeFrame(patched(encodeRankingFrame({ ...meta, kind: 'ranking' }, layout, scoreRanking(layout)), (dv) => dv.setUint8(AT.encoding, 1)), expect), 'bad-header');
    throwsReject(() => encodeModelFrame({ ...meta, kind: 'ranking' }, layout, values), 'bad-header');
    throwsReject(() => encodeModelFrame({ ...meta, swarm: '\ud800' }, layout, values), 'bad-header');
    throwsReject(() => encodeModelFrame({ ...meta, round: -1 }, layout, values), 'bad-header');
    throwsReject(() => encodeModelFrame({ ...meta, step: 65536 }, layout, values), 'bad-header');
  });

  it('never throws on garbage and exposes the header alone through peekHeader', () => {
    for (const bytes of [new Uint8Array(0), new Uint8Array(44), new Uint8Array(1000).fill(0xff)]) assert.equal(decodeFrame(bytes, expect).ok, false);
    const p = peekHeader(f32());
    assert.ok(p.ok && p.header.elementCount === layout.size && p.header.layoutHash === layout.hash);
    const e = new FrameRejectedError('truncated', 'x');
    assert.equal(e.name, 'FrameRejectedError');
    assert.equal(e.code, 'ERR_FRAME_REJECTED');
  });
});

describe('codec limits: each accepted at the limit, rejected one past it', () => {
  const at = (limits: Partial<FrameLimits>) => ({ ...expect, limits: { ...DEFAULT_FRAME_LIMITS, ...limits } });

  it('maxFrameBytes', () => {
    const frame = encodeModelFrame(meta, layout, values);
    decoded(decodeFrame(frame, at({ maxFrameBytes: frame.length })));
    rejects(decodeFrame(frame, at({ maxFrameBytes: frame.length - 1 })), 'oversized');
    // The received length is checked first, before the header: extra bytes past the limit are 'oversized'.
    const longer = new Uint8Array(frame.length + 1);
    longer.set(frame);
    rejects(decodeFrame(longer, at({ maxFrameBytes: frame.length })), 'oversized');
  });

  it('maxElements', () => {
    const frame = encodeModelFrame(meta, layout, values);
    decoded(decodeFrame(frame, at({ maxElements: layout.size })));
    rejects(decodeFrame(frame, at({ maxElements: layout.size - 1 })), 'oversized');
  });

  it('maxExtensionBytes (default 1 MiB)', () => {
    const ext = (n: number): Uint8Array => encodeModelFrame(meta, layout, values, { extension: new Uint8Array(n) });
    assert.equal(decoded(decodeFrame(ext(DEFAULT_FRAME_LIMITS.maxExtensionBytes), expect)).extension.length, 1024 * 1024);
    rejects(decodeFrame(ext(DEFAULT_FRAME_LIMITS.maxExtensionBytes + 1), expect), 'oversized');
  });

  it('maxRound (default 2^32 − 1, the whole u32 range)', () => {
    decoded(decodeFrame(encodeModelFrame({ ...meta, round: 2 ** 32 - 1 }, layout, values), expect));
    decoded(decodeFrame(encodeModelFrame({ ...meta, round: 100 }, layout, values), at({ maxRound: 100 })));
    rejects(decodeFrame(encodeModelFrame({ ...meta, round: 101 }, layout, values), at({ maxRound: 100 })), 'bad-header');
    throwsReject(() => encodeModelFrame({ ...meta, round: 2 ** 32 }, layout, values), 'bad-header');
  });

  it('maxStep (default 1024)', () => {
    decoded(decodeFrame(encodeModelFrame({ ...meta, step: 1024 }, layout, values), expect));
    rejects(decodeFrame(encodeModelFrame({ ...meta, step: 1025 }, layout, values), expect), 'bad-header');
  });

  it('swarm id of 64 bytes (format constant)', () => {
    const swarm = 'é'.repeat(32);
    decoded(decodeFrame(encodeModelFrame({ ...meta, swarm }, layout, values), { layout, swarm }));
    throwsReject(() => encodeModelFrame({ ...meta, swarm: `${swarm}x` }, layout, values), 'bad-header');
  });
});

describe('decodeFrame on a Node Buffer', () => {
  it('copies an unaligned payload instead of throwing (Buffer.slice is a view)', async () => {
    const { makeLayout } = await import('../../../aggregation/layout.js');
    const { encodeModelFrame, decodeFrame } = await import('../../../protocols/codec.js');
    const layout = makeLayout([{ name: 'w', shape: [5], role: 'kernel' }]);
    const frame = encodeModelFrame({ kind: 'model', swarm: 's', round: 1, step: 0, degree: 1, age: 0 }, layout, Float32Array.of(1, 2, 3, 4, 5));
    const padded = Buffer.alloc(frame.length + 1);
    padded.set(frame, 1);
    const r = decodeFrame(padded.subarray(1), { layout, swarm: 's' });
    assert.ok(r.ok);
    assert.deepEqual(Array.from(r.frame.values!), [1, 2, 3, 4, 5]);
  });
});

describe('encoding into a given frame buffer (EncodeOptions.buffer: simulations recycle them)', () => {
  it('gives a frame a receiver accepts, whatever the buffer held before (the padding is zeroed)', () => {
    const layout = makeLayout([{ name: 'w', shape: [8], role: 'kernel' }]);
    const meta: FrameMeta = { kind: 'model', swarm: 'abc', round: 1, step: 0, degree: 1, age: 1 };
    const values = Float32Array.from({ length: layout.size }, (_, i) => i / 8);
    // 44-byte fixed header + 3-byte swarm id: a 1-byte extension ends at 48 (no padding), none at 47 (1 padding byte).
    const recycled = new Uint8Array(48 + 4 * layout.size).fill(0xa5);
    const asked: number[] = [];
    const buffer = (n: number): Uint8Array => { asked.push(n); return recycled; };
    const first = encodeModelFrame(meta, layout, values, { extension: Uint8Array.of(0xff), buffer });
    assert.equal(first, recycled);
    assert.ok(decodeFrame(first, { layout, swarm: meta.swarm }).ok);
    const second = encodeModelFrame({ ...meta, round: 2 }, layout, values, { buffer });
    assert.equal(second, recycled);
    assert.deepEqual(asked, [recycled.length, recycled.length]);
    assert.deepEqual(second, encodeModelFrame({ ...meta, round: 2 }, layout, values), 'byte for byte what a new buffer gets');
    const r = decodeFrame(second, { layout, swarm: meta.swarm });
    assert.ok(r.ok, r.ok ? '' : `${r.reason}: ${r.detail}`);
  });
});
