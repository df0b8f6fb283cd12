// Ray's microbenchmark timing rule (ray._private.ray_microbenchmark_helpers.timeit), so tray's
// numbers read beside Ray's: run the step for `warmupMs`, then `rounds` rounds that each repeat
// the step until at least `roundMs` passed; a round's throughput is multiplier × steps / seconds;
// the result is the mean and (population) standard deviation over the rounds.

export interface MeasureOptions {
  rounds: number;
  roundMs: number;
  warmupMs: number;
  /** Milliseconds now (default performance.now); tests pass a clock they advance themselves. */
  clock?: () => number;
}

export const RAY_HARNESS: MeasureOptions = { rounds: 4, roundMs: 2000, warmupMs: 1000 };

export interface BenchResult {
  key: string;
  /** Mean throughput over the rounds (operations per second, or GB/s for byte keys). */
  mean: number;
  stdev: number;
  /** Throughput of each round. */
  rounds: number[];
}

export type Step = () => unknown | Promise<unknown>;

export async function measure(
  key: string,
  step: Step,
  multiplier: number,
  options: MeasureOptions = RAY_HARNESS,
): Promise<BenchResult> {
  if (!(multiplier > 0)) throw new RangeError(`multiplier must be > 0, got ${multiplier}`);
  if (!(options.rounds >= 1)) throw new RangeError(`rounds must be ≥ 1, got ${options.rounds}`);
  const now = options.clock ?? (() => performance.now());
  const warmupEnd = now() + options.warmupMs;
  while (now() < warmupEnd) await step();
  const rounds: number[] = [];
  for (let r = 0; r < options.rounds; r++) {
    const start = now();
    let steps = 0;
    let elapsed = 0;
    do {
      await step();
      steps++;
      elapsed = now() - start;
    } while (elapsed < options.roundMs);
    rounds.push((multiplier * steps) / (elapsed / 1000));
  }
  const { mean, stdev } = meanAndStdev(rounds);
  return { key, mean, stdev, rounds };
}

export function meanAndStdev(values: number[]): { mean: number; stdev: number } {
  if (values.length === 0) return { mean: Number.NaN, stdev: Number.NaN };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  return { mean, stdev: Math.sqrt(variance) };
}
