// The single-client keys of Ray's microbenchmark (issue 4): tasks, puts and gets from one driver,
// with the same workloads and multipliers as Ray's ray_perf.py so the numbers compare.
import type { BenchmarkCase } from './benchmark-case.js';
import type { TrayApi } from './tray-api.js';

const BATCH = 1000;
/** Ray's 800 MB array: 100 Mi int64 values. */
export const LARGE_PUT_ELEMENTS = 100 * 1024 * 1024;
export const LARGE_PUT_GB = (LARGE_PUT_ELEMENTS * 8) / 1e9;

function smallValue(api: TrayApi) {
  return api.remote(() => 'ok');
}

export const taskBenchmarks: BenchmarkCase<TrayApi>[] = [
  {
    key: 'single_client_get_calls_Plasma_Store',
    multiplier: 1,
    unit: 'ops/s',
    async setup(api) {
      const ref = await api.put(0);
      return { step: () => api.get(ref) };
    },
  },
  {
    key: 'single_client_put_calls_Plasma_Store',
    multiplier: 1,
    unit: 'ops/s',
    async setup(api) {
      return { step: () => api.put(0) };
    },
  },
  {
    key: 'single_client_put_gigabytes',
    multiplier: LARGE_PUT_GB,
    unit: 'GB/s',
    async setup(api) {
      const array = new Float64Array(LARGE_PUT_ELEMENTS);
      return { step: () => api.put(array) };
    },
  },
  {
    key: 'single_client_tasks_and_get_batch',
    multiplier: 1,
    unit: 'ops/s',
    async setup(api) {
      const f = smallValue(api);
      return { step: () => api.get(Array.from({ length: BATCH }, () => f.remote())) };
    },
  },
  {
    key: 'single_client_get_object_containing_10k_refs',
    multiplier: 1,
    unit: 'ops/s',
    async setup(api) {
      const refs = await Promise.all(Array.from({ length: 10_000 }, () => api.put(1)));
      const container = await api.put(refs);
      return { step: () => api.get(container) };
    },
  },
  {
    key: 'single_client_wait_1k_refs',
    multiplier: 1,
    unit: 'ops/s',
    async setup(api) {
      const f = smallValue(api);
      return {
        step: async () => {
          let notReady = Array.from({ length: BATCH }, () => f.remote());
          while (notReady.length > 0) notReady = (await api.wait(notReady)).notReady;
        },
      };
    },
  },
  {
    key: 'single_client_tasks_sync',
    multiplier: 1,
    unit: 'ops/s',
    async setup(api) {
      const f = smallValue(api);
      return { step: () => api.get(f.remote()) };
    },
  },
  {
    key: 'single_client_tasks_async',
    multiplier: BATCH,
    unit: 'ops/s',
    async setup(api) {
      const f = smallValue(api);
      return { step: () => api.get(Array.from({ length: BATCH }, () => f.remote())) };
    },
  },
];
