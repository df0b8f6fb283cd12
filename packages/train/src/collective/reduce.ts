// The arithmetic of the collectives: elementwise reductions and how a tensor is cut into one part
// per rank. Every member reduces in rank order (rank 0's values, then rank 1's, ...), whichever
// algorithm moved the data, so a float sum is the same bits on every member and for every size.
import type { ReduceOp, Tensor } from './types.js';

export const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'mean', 'min', 'max'];

/** acc[i] = acc[i] op x[i]; for 'mean' this sums (finish divides). */
export function combine(op: ReduceOp, acc: Tensor, x: Tensor): void {
  const n = acc.length;
  if (op === 'sum' || op === 'mean') {
    for (let i = 0; i < n; i++) acc[i] += x[i]!;
  } else if (op === 'min') {
    for (let i = 0; i < n; i++) {
      const v = x[i]!;
      if (v < acc[i]! || Number.isNaN(v)) acc[i] = v;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = x[i]!;
      if (v > acc[i]! || Number.isNaN(v)) acc[i] = v;
    }
  }
}

/** out[i] = a[i] op b[i] (one pass instead of a copy and a combine; the same values). */
export function combineInto(op: ReduceOp, out: Tensor, a: Tensor, b: Tensor): void {
  if (op === 'sum' || op === 'mean') {
    const n = out.length;
    for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
  } else {
    out.set(a);
    combine(op, out, b);
  }
}

/** What the reduction needs after the last combine: 'mean' divides by the world size. */
export function finish(op: ReduceOp, acc: Tensor, worldSize: number): void {
  if (op !== 'mean') return;
  for (let i = 0; i < acc.length; i++) acc[i] /= worldSize;
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
