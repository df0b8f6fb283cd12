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

export function median(values: Iterable<number>): number | undefined {
  return percentile(values, 50);
}
