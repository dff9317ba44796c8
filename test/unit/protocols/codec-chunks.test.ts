/**
 * Also: decodeFrame's `into` (decode into the caller's array, e.g. a receive buffer resident in kernel memory,
 * which the kernels fill in place, or into the array a destination function picks for a validated header) gives
 * the same values as a new array.
 *
 * decodeFrame on a frame given as the chunks it arrived in (a Uint8ArrayList split anywhere: inside the header,
 * at odd offsets inside halves, in 1-byte and empty pieces) gives exactly what it gives on the joined frame:
 * the same values bit for bit, header, extension and refusals, with the WebAssembly kernels and with the JS path.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Uint8ArrayList } from 'uint8arraylist';
import { kernels, kernelVectors, useWasmKernels } from '../../../aggregation/kernels/wasm.js';
import { makeLayout } from '../../../aggregation/layout.js';
import { rngFor } from '../../../node/data/rng.js';
import { decodeFrame, encodeModelFrame, encodeRankingFrame, frameForDecode, type DecodeResult, type Encoding, type FrameMeta } from '../../../protocols/codec.js';
import { chunkSource } from '../../../protocols/codec/chunks.js';

after(() => { useWasmKernels(true); });

// A tensor over the kernels' 65,536-value staging window, one over their minimum, and small ones for the JS loops.
const layout = makeLayout([
  { name: 'big', shape: [300, 251], role: 'kernel' },
  { name: 'bias', shape: [33], role: 'bias' },
  { name: 'mid', shape: [4101], role: 'kernel' },
  { name: 'scores', shape: [7, 9], role: 'score' },
]);
const meta: FrameMeta = { kind: 'model', swarm: 'chunks-test', round: 3, step: 1, degree: 4, age: 2.5 };
const expect = { layout, swarm: meta.swarm };
const rng = rngFor('codec-chunks');
const values = Float32Array.from({ length: layout.size }, () => 0.05 * rng.normal());
const extension = Uint8Array.from({ length: 13 }, (_, i) => i * 7); // odd length: padding before the payload

/** `frame` cut at `cuts` (sorted byte offsets; repeats give empty pieces), each piece in a buffer of its own at an odd offset. */
function pieces(frame: Uint8Array, cuts: number[]): Uint8ArrayList {
  const list = new Uint8ArrayList();
  let from = 0;
  for (const at of [...cuts.filter((c) => c <= frame.length), frame.length]) {
    const own = new Uint8Array(at - from + 1);
    own.set(frame.subarray(from, at), 1);
    list.append(own.subarray(1));
    from = at;
  }
  return list;
}

/** Cut sets: inside the fixed header, inside the extension, at odd offsets all over, 1-byte pieces at the payload start. */
function cutSets(frame: Uint8Array): number[][] {
  const sets: number[][] = [[3], [20, 44, 45, 57], [63, 63, 64, 65, 66, 67, 68, 69]];
  const r = rngFor('codec-chunks-cuts', frame.length);
  for (let s = 0; s < 4; s++) {
    const cuts = Array.from({ length: 1 + r.int(40) }, () => 2 * r.int(frame.length >> 1) + 1).sort((a, b) => a - b);
    sets.push(cuts);
  }
  sets.push(Array.from({ length: Math.floor(frame.length / 1001) }, (_, i) => 1001 * (i + 1) - 1)); // many pieces, all odd-sized
  return sets;
}

function sameResult(a: DecodeResult, b: DecodeResult, what: string): void {
  assert.equal(a.ok, b.ok, `${what}: ${a.ok ? 'accepted' : a.reason} vs ${b.ok ? 'accepted' : b.reason}`);
  if (!a.ok || !b.ok) {
    if (!a.ok && !b.ok) assert.equal(a.reason, b.reason, `${what}: ${a.detail} / ${b.detail}`);
    return;
  }
  assert.deepEqual(a.frame.header, b.frame.header, what);
  assert.deepEqual([...a.frame.extension], [...b.frame.extension], what);
  const x = a.frame.values, y = b.frame.values;
  assert.equal(x === null, y === null, what);
  if (x !== null && y !== null) {
    const xb = new Uint32Array(x.buffer, x.byteOffset, x.length), yb = new Uint32Array(y.buffer, y.byteOffset, y.length);
    assert.equal(xb.length, yb.length, what);
    for (let i = 0; i < xb.length; i++) if (xb[i] !== yb[i]) assert.fail(`${what}: value ${i} is ${x[i]} from pieces, ${y[i]} whole`);
  }
  assert.deepEqual(a.frame.sparse, b.frame.sparse, what);
  assert.deepEqual(a.frame.rankings, b.frame.rankings, what);
}

function checkEverySplit(frame: Uint8Array, what: string): void {
  const whole = decodeFrame(frame, expect);
  for (const cuts of cutSets(frame)) sameResult(decodeFrame(pieces(frame, cuts), expect), whole, `${what}, cuts ${cuts.slice(0, 6).join(',')}…`);
}

describe('decodeFrame on a frame in pieces', () => {
  for (const wasm of [true, false]) {
    describe(wasm ? 'WebAssembly kernels' : 'JS path', () => {
      it('decodes every encoding exactly as the joined frame', () => {
        useWasmKernels(wasm);
        for (const encoding of ['f32', 'f16', 'q8', 'topk'] as Encoding[]) {
          const frame = encodeModelFrame(meta, layout, values, { encoding, extension });
          assert.equal(decodeFrame(frame, expect).ok, true, encoding);
          checkEverySplit(frame, encoding);
        }
        const ranking = encodeRankingFrame({ ...meta, kind: 'ranking' }, layout, [Uint32Array.from({ length: 63 }, (_, i) => (i * 5) % 63)]);
        checkEverySplit(ranking, 'ranking');
      });

      it('refuses what the joined frame refuses, for the same reason', () => {
        useWasmKernels(wasm);
        const f16 = encodeModelFrame(meta, layout, values, { encoding: 'f16', extension });
        const pay = f16.length - 2 * layout.size;
        const inf = f16.slice(); inf[pay + 2 * 70_001 + 1] = 0x7c; inf[pay + 2 * 70_001] = 0; // a half infinity deep in 'big'
        checkEverySplit(inf, 'f16 with an infinity');
        assert.equal(decodeFrame(pieces(inf, [pay + 1]), expect).ok, false);
        const q8 = encodeModelFrame(meta, layout, values, { encoding: 'q8' });
        const q8pay = q8.length - (layout.size + 8 * layout.tensors.length);
        const nanScale = q8.slice(); new DataView(nanScale.buffer).setFloat32(q8pay + 8 * 2 + 4, NaN, true); // tensor 'mid'
        checkEverySplit(nanScale, 'q8 with a NaN scale');
        checkEverySplit(f16.subarray(0, f16.length - 3), 'truncated f16');
        checkEverySplit(f16.subarray(0, 30), 'truncated header');
        const longer = new Uint8Array(f16.length + 2); longer.set(f16);
        checkEverySplit(longer, 'f16 with trailing bytes');
        checkEverySplit(encodeModelFrame({ ...meta, swarm: 'other' }, layout, values, { encoding: 'q8' }), 'foreign swarm');
        for (const huge of [0x7ffffffd, 0xfffffff0]) { // an extension length whose payload offset overflows int32
          const ext = f16.slice(); new DataView(ext.buffer).setUint32(36, huge, true);
          checkEverySplit(ext, `extension length ${huge}`);
        }
      });
    });
  }

  it("decodes into the caller's array, resident in kernel memory or not, exactly as into a new one (and encodes from one)", () => {
    useWasmKernels(true);
    const [resident] = kernelVectors(1, layout.size);
    assert.ok(kernels()!.addressOf(resident!) >= 0, 'a kernelVectors vector is resident');
    for (const wasm of [true, false]) {
      useWasmKernels(wasm);
      for (const into of [resident!, new Float32Array(layout.size)]) {
        for (const encoding of ['f32', 'f16', 'q8'] as Encoding[]) {
          const frame = encodeModelFrame(meta, layout, values, { encoding, extension });
          const fresh = decodeFrame(frame, expect);
          for (const input of [frame, pieces(frame, [5, 63, 64, 1001, 20_001, 70_003])]) {
            into.fill(7);
            const r = decodeFrame(input, expect, { into });
            sameResult(r, fresh, `${encoding} into ${into === resident ? 'resident' : 'plain'} array, wasm ${wasm}`);
            assert.ok(r.ok && r.frame.values === into, 'values is the given array');
          }
        }
      }
    }
    useWasmKernels(true);
    const f16 = encodeModelFrame(meta, layout, values, { encoding: 'f16' });
    assert.throws(() => decodeFrame(f16, expect, { into: new Float32Array(layout.size - 1) }), RangeError);
    // Encoding reads a resident vector in place: the same bytes as from an ordinary array.
    resident!.set(values);
    for (const encoding of ['f16', 'q8'] as Encoding[]) {
      assert.deepEqual(encodeModelFrame(meta, layout, resident!, { encoding }), encodeModelFrame(meta, layout, values, { encoding }), encoding);
    }
  });

  it('asks a destination function only for a dense frame whose header passed, with that header, and decodes into what it returns', () => {
    const own = new Float32Array(layout.size);
    for (const encoding of ['f32', 'f16', 'q8', 'topk'] as Encoding[]) {
      const frame = encodeModelFrame({ ...meta, kind: 'aggregate' }, layout, values, { encoding, extension });
      const fresh = decodeFrame(frame, expect);
      for (const input of [frame, pieces(frame, [5, 63, 64, 1001, 20_001])]) {
        for (const give of [own, undefined]) {
          const asked: string[] = [];
          own.fill(7);
          const r = decodeFrame(input, expect, { into: (h) => { asked.push(`${h.kind} ${h.encoding} ${h.round} ${h.step} ${h.swarm}`); return give; } });
          sameResult(r, fresh, `${encoding} into ${give === undefined ? 'a new array (undefined)' : 'the returned array'}`);
          assert.deepEqual(asked, encoding === 'topk' ? [] : [`aggregate ${encoding} 3 1 chunks-test`], `${encoding}: asked once, with the header`);
          if (encoding !== 'topk') assert.equal(r.ok && r.frame.values === own, give === own, `${encoding}: values is the returned array`);
        }
      }
    }
    // Never asked for a refused header (foreign swarm, wrong element count) or a ranking frame.
    const never = { into: (): Float32Array => assert.fail('destination asked for a refused or non-dense frame') };
    const foreign = encodeModelFrame({ ...meta, swarm: 'other' }, layout, values, { encoding: 'f16' });
    assert.equal(decodeFrame(foreign, expect, never).ok, false);
    assert.equal(decodeFrame(pieces(foreign, [7, 70]), expect, never).ok, false);
    const short = encodeModelFrame(meta, layout, values, { encoding: 'q8' });
    new DataView(short.buffer).setUint32(32, layout.size - 1, true); // element count
    assert.equal(decodeFrame(short, expect, never).ok, false);
    assert.ok(decodeFrame(encodeRankingFrame({ ...meta, kind: 'ranking' }, layout, [Uint32Array.from({ length: 63 }, (_, i) => i)]), expect, never).ok);
    // A returned array of the wrong length is the caller's bug.
    const f16 = encodeModelFrame(meta, layout, values, { encoding: 'f16' });
    assert.throws(() => decodeFrame(f16, expect, { into: () => new Float32Array(layout.size + 1) }), RangeError);
  });

  it('frameForDecode keeps the pieces of f16 and q8 frames only, and joins every other frame into a plain Uint8Array', () => {
    for (const encoding of ['f32', 'f16', 'q8', 'topk'] as Encoding[]) {
      const frame = encodeModelFrame({ ...meta, kind: 'aggregate' }, layout, values, { encoding });
      const list = pieces(frame, [1, 5, 7, 999]);
      const got = frameForDecode(list);
      if (encoding === 'f16' || encoding === 'q8') assert.equal(got, list, encoding);
      else {
        assert.equal(Object.getPrototypeOf(got), Uint8Array.prototype, encoding);
        assert.deepEqual(got, frame, encoding);
      }
    }
    const ranking = encodeRankingFrame({ ...meta, kind: 'ranking' }, layout, [Uint32Array.from({ length: 63 }, (_, i) => i)]);
    assert.deepEqual(frameForDecode(pieces(ranking, [3, 50])), ranking);
    assert.deepEqual(frameForDecode(pieces(Uint8Array.of(1, 2, 3), [1])), Uint8Array.of(1, 2, 3));
    assert.deepEqual(frameForDecode(new Uint8ArrayList(Buffer.from([9, 8]))), Uint8Array.of(9, 8));
  });

  it('chunkSource reads any range of the pieces, forwards and back', () => {
    const r = rngFor('chunk-source');
    const whole = Uint8Array.from({ length: 5000 }, () => r.int(256));
    const list = pieces(whole, [0, 1, 1, 2, 999, 1000, 1001, 3333, 4999]);
    const read = chunkSource([...list]);
    for (let i = 0; i < 200; i++) {
      const start = r.int(whole.length), length = r.int(whole.length - start + 1);
      const dst = new Uint8Array(length + 3);
      read(dst, 3, start, length);
      assert.deepEqual(dst.subarray(3), whole.subarray(start, start + length), `bytes [${start}, ${start + length})`);
    }
    assert.throws(() => read(new Uint8Array(10), 0, 4995, 10), RangeError);
  });
});
