import { defineConfig } from 'vitest/config';

// Each test runs drivers as child processes, each starting its own cluster, or several raylets
// with a real GCS in this process (multinode/, through @tray/raylet/testing): one
// file at a time. chaos/ kills real processes of a real cluster while work runs; security/ attacks real
// servers (unauthenticated floods, stale files, TLS); metrics/ scrapes a real cluster with a real
// Prometheus; ui/ drives the dashboard's web UI in a real headless Chromium; state/ asks the
// dashboard's state API about a real cluster.
export default defineConfig({
  test: {
    include: [
      'e2e/**/*.test.ts',
      'multinode/**/*.test.ts',
      'chaos/**/*.test.ts',
      'security/**/*.test.ts',
      'runtime-env/**/*.test.ts',
      'metrics/**/*.test.ts',
      'jobs/**/*.test.ts',
      'ui/**/*.test.ts',
      'state/**/*.test.ts',
      'serve/**/*.test.ts',
    ],
    testTimeout: 90_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
