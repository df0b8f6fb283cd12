// The arithmetic of the collectives: elementwise reductions and how a tensor is cut into one part
// per rank. Every member reduces in rank order (rank 0's values, then rank 1's, ...), whichever
// algorithm moved the data, so a float sum is the same bits on every member and for every size.
// The loops run in the object-store addon's kernel (native/src/reduce_kernel.cc: one vectorised
// pass reading both inputs) when it loads, else in JavaScript; both round after every step in the
// tensor's own type, so they give the same bits (tested), and members may even differ in which
// they use. TRAY_COLLECTIVE_NATIVE_REDUCE=off keeps to JavaScript (for comparing the two).
import { loadNative } from '@tray/object-store';
import type { ReduceOp, Tensor } from './types.js';

export const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'mean', 'min', 'max'];

/** Below this many elements the JavaScript loop beats the call into the addon. */
const NATIVE_MIN_ELEMENTS = 256;
const KIND = { sum: 0, mean: 0, min: 1, max: 2 } as const;

type Kernel = <T extends Tensor>(kind: number, divisor: number, out: T, a: T, b: T, out2: T | null) => void;
let kernel: Kernel | null | undefined;

/** The addon's reduce kernel, or undefined when it is off, missing (an older addon) or nothing loads. */
export function nativeKernel(): Kernel | undefined {
  if (kernel === undefined) {
    kernel = null;
    if (process.env.TRAY_COLLECTIVE_NATIVE_REDUCE !== 'off') {
      try {
        const addon = loadNative();
        if (typeof addon.reduce === 'function') kernel = addon.reduce.bind(addon) as Kernel;
      } catch {}
    }
  }
  return kernel ?? undefined;
}

/**
 * out[i] = a[i] op b[i], a being the earlier rank's; with `divisor` (a mean's last step) the sum
 * is then divided by it; `also` gets the same values. out (and `also`) may be a or b itself, no
 * other overlap. 'mean' sums.
 */
export function reduceInto(
  op: ReduceOp,
  out: Tensor,
  a: Tensor,
  b: Tensor,
  divisor = 1,
  also?: Tensor,
): void {
  const k = out.length >= NATIVE_MIN_ELEMENTS ? nativeKernel() : undefined;
  if (k !== undefined) k(KIND[op], divisor, out, a, b, also ?? null);
  else reduceIntoJs(op, out, a, b, divisor, also);
}

/** reduceInto in JavaScript (the fallback; exported so tests compare it with the kernel). */
export function reduceIntoJs(
  op: ReduceOp,
  out: Tensor,
  a: Tensor,
  b: Tensor,
  divisor = 1,
  also?: Tensor,
): void {
  const n = out.length;
  if (op === 'sum' || op === 'mean') {
    for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
    // Divided after the store rounded the sum to the tensor's type, as the kernel does.
    if (divisor !== 1) for (let i = 0; i < n; i++) out[i] /= divisor;
  } else if (op === 'min') {
    for (let i = 0; i < n; i++) {
      const x = a[i]!;
      const v = b[i]!;
      out[i] = v < x || Number.isNaN(v) ? v : x;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const x = a[i]!;
      const v = b[i]!;
      out[i] = v > x || Number.isNaN(v) ? v : x;
    }
  }
  also?.set(out);
}

/**
 * Reduces `inputs` (one per rank, in rank order) into `acc`: acc = in0 op in1, then acc op in2,
 * ...; a mean's last step divides by the number of inputs. `also` gets the final values in the
 * same pass. acc must not overlap any input; `also` may be an input itself (it is written only
 * in the last step, which reads its element before writing it).
 */
export function reduceAll(op: ReduceOp, acc: Tensor, inputs: readonly Tensor[], also?: Tensor): void {
  const n = inputs.length;
  if (n === 1) {
    acc.set(inputs[0]!);
    also?.set(inputs[0]!);
    return;
  }
  for (let r = 1; r < n; r++) {
    const last = r === n - 1;
    const divisor = last && op === 'mean' ? n : 1;
    reduceInto(op, acc, r === 1 ? inputs[0]! : acc, inputs[r]!, divisor, last ? also : undefined);
  }
}

/** Element offsets of the worldSize near-equal parts of `length` (the first length % n one longer). */
export function partOffsets(length: number, worldSize: number): number[] {
  const base = Math.floor(length / worldSize);
  const extra = length % worldSize;
  const offsets = [0];
  for (let r = 0; r < worldSize; r++) offsets.push(offsets[r]! + base + (r < extra ? 1 : 0));
  return offsets;
}

export function bytesOf(t: Tensor): Uint8Array {
  return new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
}

export function like<T extends Tensor>(t: T, length: number): T {
  return (t instanceof Float32Array ? new Float32Array(length) : new Float64Array(length)) as T;
}

/** Whether a and b share any byte (both views of one buffer, overlapping ranges). */
export function overlaps(a: Tensor, b: Tensor): boolean {
  return (
    a.buffer === b.buffer &&
    a.byteOffset < b.byteOffset + b.byteLength &&
    b.byteOffset < a.byteOffset + a.byteLength
  );
}
