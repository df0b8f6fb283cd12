// The ceiling a one-copy put can reach: copying the same 800 MB from one buffer into another in
// this process (TypedArray.set, a plain memcpy), timed by the same harness in the same run.
import { type BenchResult, type MeasureOptions, measure } from './harness.js';
import { LARGE_PUT_ELEMENTS, LARGE_PUT_GB } from './task-benchmarks.js';

export async function measureMemcpy(options: MeasureOptions): Promise<BenchResult> {
  const source = new Float64Array(LARGE_PUT_ELEMENTS);
  const target = new Float64Array(LARGE_PUT_ELEMENTS);
  source.fill(1);
  return measure('memcpy_gigabytes', () => target.set(source), LARGE_PUT_GB, options);
}
