// Ray's multi-client put keys: 10 tasks each putting from inside a worker — 100 small values
// (multi_client_put_calls_Plasma_Store) or 10 arrays of 80 MB (multi_client_put_gigabytes).
// They need tasks only, not actors, so they run whenever tasks do.
import type { BenchmarkCase } from './benchmark-case.js';
import type { TrayApi } from './tray-api.js';

// Remote code refers to `tray`, which the worker binds to its own @tray/core (API.md). It is
// declared, never imported, so the bundler leaves the identifier alone in the shipped source.
declare const tray: TrayApi;

const TASKS = 10;

export const multiClientPutBenchmarks: BenchmarkCase<TrayApi>[] = [
  {
    key: 'multi_client_put_calls_Plasma_Store',
    multiplier: TASKS * 100,
    unit: 'ops/s',
    async setup(api) {
      const putSmall = api.remote(async () => {
        for (let i = 0; i < 100; i++) await tray.put(0);
      });
      return { step: () => api.get(Array.from({ length: TASKS }, () => putSmall.remote())) };
    },
  },
  {
    key: 'multi_client_put_gigabytes',
    multiplier: TASKS * 10 * 0.08,
    unit: 'GB/s',
    async setup(api) {
      const putLarge = api.remote(async () => {
        const array = new Float64Array(10 * 1024 * 1024);
        for (let i = 0; i < 10; i++) await tray.put(array);
      });
      return { step: () => api.get(Array.from({ length: TASKS }, () => putLarge.remote())) };
    },
  },
];
