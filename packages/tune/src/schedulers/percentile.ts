// Percentiles as numpy's nanpercentile computes them by default (linear interpolation between the
// two nearest ranks), so a scheduler's cutoff is the number Ray would compute from the same results.

/** The p-th percentile (0..100) of values, NaNs left out; undefined when none remain. */
export function percentile(values: Iterable<number>, p: number): number | undefined {
  const xs = [...values].filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (xs.length === 0) return undefined;
  const rank = (p / 100) * (xs.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return xs[lo]! + (xs[hi]! - xs[lo]!) * (rank - lo);
}

/** The p-th percentile of values already sorted ascending (no NaNs). */
export function percentileSorted(xs: readonly number[], p: number): number | undefined {
  if (xs.length === 0) return undefined;
  const rank = (p / 100) * (xs.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return xs[lo]! + (xs[hi]! - xs[lo]!) * (rank - lo);
}

/** Inserts v into the ascending array xs, keeping it sorted (binary search). */
export function insertSorted(xs: number[], v: number): void {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  xs.splice(lo, 0, v);
}

export function median(values: Iterable<number>): number | undefined {
  return percentile(values, 50);
}
