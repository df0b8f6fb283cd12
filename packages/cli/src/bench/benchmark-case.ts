// One microbenchmark key: how to set it up on a running cluster, the step the harness times, and
// how many operations one step counts for (Ray's multiplier).

export interface Prepared {
  step: () => Promise<unknown>;
  cleanup?: () => Promise<void>;
}

export interface BenchmarkCase<Api> {
  key: string;
  multiplier: number;
  unit: 'ops/s' | 'GB/s';
  setup(tray: Api): Promise<Prepared>;
}
