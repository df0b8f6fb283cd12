// The single-client keys of Ray's microbenchmark (issue 4): tasks, puts and gets from one driver,
// with the same workloads and multipliers as Ray's ray_perf.py so the numbers compare.
import type { BenchmarkCase } from './benchmark-case.js';
import type { TrayApi } from './tray-api.js';

const BATCH = 1000;
/** Ray's 800 MB array: 100 Mi int64 values. */
export const LARGE_PUT_ELEMENTS = 100 * 1024 * 1024;
export const LARGE_PUT_GB = (LARGE_PUT_ELEMENTS * 8) / 1e9;

function smallValue(tray: TrayApi) {
  return tray.remote(() => 'ok');
}

export const taskBenchmarks: BenchmarkCase<TrayApi>[] = [
  {
    key: 'single_client_get_calls_Plasma_Store',
    multiplier: 1,
    unit: 'ops/s',
    async setup(tray) {
      const ref = await tray.put(0);
      return { step: () => tray.get(ref) };
    },
  },
  {
    key: 'single_client_put_calls_Plasma_Store',
    multiplier: 1,
    unit: 'ops/s',
    async setup(tray) {
      return { step: () => tray.put(0) };
    },
  },
  {
    key: 'single_client_put_gigabytes',
    multiplier: LARGE_PUT_GB,
    unit: 'GB/s',
    async setup(tray) {
      const array = new Float64Array(LARGE_PUT_ELEMENTS);
      return { step: () => tray.put(array) };
    },
  },
  {
    key: 'single_client_tasks_and_get_batch',
    multiplier: 1,
    unit: 'ops/s',
    async setup(tray) {
      const f = smallValue(tray);
      return { step: () => tray.get(Array.from({ length: BATCH }, () => f.remote())) };
    },
  },
  {
    key: 'single_client_get_object_containing_10k_refs',
    multiplier: 1,
    unit: 'ops/s',
    async setup(tray) {
      const refs = await Promise.all(Array.from({ length: 10_000 }, () => tray.put(1)));
      const container = await tray.put(refs);
      return { step: () => tray.get(container) };
    },
  },
  {
    key: 'single_client_wait_1k_refs',
    multiplier: 1,
    unit: 'ops/s',
    async setup(tray) {
      const f = smallValue(tray);
      return {
        step: async () => {
          let notReady = Array.from({ length: BATCH }, () => f.remote());
          while (notReady.length > 0) notReady = (await tray.wait(notReady)).notReady;
        },
      };
    },
  },
  {
    key: 'single_client_tasks_sync',
    multiplier: 1,
    unit: 'ops/s',
    async setup(tray) {
      const f = smallValue(tray);
      return { step: () => tray.get(f.remote()) };
    },
  },
  {
    key: 'single_client_tasks_async',
    multiplier: BATCH,
    unit: 'ops/s',
    async setup(tray) {
      const f = smallValue(tray);
      return { step: () => tray.get(Array.from({ length: BATCH }, () => f.remote())) };
    },
  },
];
