// The reductions on their own: the addon's kernel (native/src/reduce_kernel.cc) against values
// computed here element by element, for odd lengths around the vector widths and the
// kernel/JavaScript switch, every op, both float types, NaN and signed zeros, in place and into
// two outputs at once; and the kernel and the JavaScript fallback giving the same bits on values
// whose rounding shows any difference.
import { describe, expect, it } from 'vitest';
import { nativeKernel, reduceAll, reduceInto, reduceIntoJs } from './reduce.js';
import type { ReduceOp, Tensor } from './types.js';

const LENGTHS = [0, 1, 3, 7, 255, 256, 257, 1001, 4099, 65_537];
const OPS: ReduceOp[] = ['sum', 'mean', 'min', 'max'];
const TYPES = [Float32Array, Float64Array] as const;

/** Rank r's values: inexact fractions of mixed magnitude, with a NaN, -0 and +0 sprinkled in. */
function values(type: (typeof TYPES)[number], r: number, length: number): Tensor {
  const t = new type(length);
  for (let i = 0; i < length; i++) {
    t[i] = ((i * 7 + r * 13) % 23) / 3 - 3.5 + 1e6 * ((i + r) % 5 === 0 ? 1 : 0);
    if (i % 97 === 5 + r) t[i] = Number.NaN;
    if (i % 89 === 3) t[i] = r === 0 ? -0 : 0;
  }
  return t;
}

/** One element of a op b, computed here: the sum rounded to the type, then divided and rounded. */
function byHand(op: ReduceOp, a: number, b: number, divisor: number, f32: boolean): number {
  const round = f32 ? Math.fround : (x: number) => x;
  if (op === 'sum' || op === 'mean') return round(round(a + b) / divisor);
  if (Number.isNaN(b)) return b;
  // Not Math.min/max: on equal values (-0 and +0) the earlier rank's is kept, as the collectives do.
  // biome-ignore lint/complexity/useMathMinMax: see above
  if (op === 'min') return b < a ? b : a;
  // biome-ignore lint/complexity/useMathMinMax: see above
  return b > a ? b : a;
}

function bits(t: Tensor): Buffer {
  return Buffer.from(t.buffer, t.byteOffset, t.byteLength);
}

describe('the native reduce kernel', () => {
  it('is built into the addon and used', () => {
    expect(typeof nativeKernel()).toBe('function');
  });

  for (const type of TYPES) {
    it(`${type.name}: every op for lengths ${LENGTHS.join(', ')} equals the hand-computed values`, () => {
      const k = nativeKernel()!;
      const f32 = type === Float32Array;
      for (const length of LENGTHS) {
        const a = values(type, 0, length);
        const b = values(type, 1, length);
        for (const op of OPS) {
          const divisor = op === 'mean' ? 2 : 1;
          const want = new type(length);
          for (let i = 0; i < length; i++) want[i] = byHand(op, a[i]!, b[i]!, divisor, f32);
          const out = new type(length).fill(42);
          const out2 = new type(length).fill(42);
          k(op === 'min' ? 1 : op === 'max' ? 2 : 0, divisor, out, a, b, out2);
          expect(bits(out).equals(bits(want)), `${op} ${length}`).toBe(true);
          expect(bits(out2).equals(bits(want)), `${op} ${length} (second output)`).toBe(true);
          // In place over either input.
          const inA = a.slice();
          k(op === 'min' ? 1 : op === 'max' ? 2 : 0, divisor, inA, inA, b, null);
          expect(bits(inA).equals(bits(want)), `${op} ${length} into a`).toBe(true);
          const inB = b.slice();
          k(op === 'min' ? 1 : op === 'max' ? 2 : 0, divisor, inB, a, inB, null);
          expect(bits(inB).equals(bits(want)), `${op} ${length} into b`).toBe(true);
        }
      }
    });

    it(`${type.name}: the kernel and the JavaScript loop give the same bits, and reduceAll chains 3 ranks with the last step fused`, () => {
      for (const length of [255, 256, 1001, 65_537]) {
        const ins = [0, 1, 2].map((r) => values(type, r, length));
        for (const op of OPS) {
          const viaKernel = new type(length);
          reduceInto(op, viaKernel, ins[0]!, ins[1]!, op === 'mean' ? 2 : 1);
          const viaJs = new type(length);
          reduceIntoJs(op, viaJs, ins[0]!, ins[1]!, op === 'mean' ? 2 : 1);
          expect(bits(viaKernel).equals(bits(viaJs)), `${op} ${length}`).toBe(true);
          // Three ranks: (in0 op in1) op in2, a mean divided by 3 at the end; `also` is the
          // last input itself (the in-place result of the rank whose part it is).
          const want = new type(length);
          for (let i = 0; i < length; i++) {
            const two = byHand(op, ins[0]![i]!, ins[1]![i]!, 1, type === Float32Array);
            want[i] = byHand(op, two, ins[2]![i]!, op === 'mean' ? 3 : 1, type === Float32Array);
          }
          const acc = new type(length);
          const last = ins[2]!.slice();
          reduceAll(op, acc, [ins[0]!, ins[1]!, last], last);
          expect(bits(acc).equals(bits(want)), `reduceAll ${op} ${length}`).toBe(true);
          expect(bits(last).equals(bits(want)), `reduceAll ${op} ${length} also`).toBe(true);
        }
      }
    });
  }

  it('refuses arrays of different lengths or types rather than reading past one', () => {
    const k = nativeKernel()!;
    const a = new Float32Array(8);
    expect(() => k(0, 1, a, a, new Float32Array(7), null)).toThrow(/one type and length/);
    expect(() => k(0, 1, a, a, new Float64Array(8) as unknown as Float32Array, null)).toThrow(
      /one type and length/,
    );
    expect(() => k(0, 1, a, a, a, new Float32Array(9))).toThrow(/one type and length/);
  });
});
