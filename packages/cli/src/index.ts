// @tray/cli: the `tray` command (bin: dist/bin.js). As a library it exports only the benchmark
// harness, so other packages' benchmarks can time with the same rules as `tray microbenchmark`.
export {
  type BenchResult,
  type MeasureOptions,
  meanAndStdev,
  measure,
  RAY_HARNESS,
} from './bench/harness.js';
