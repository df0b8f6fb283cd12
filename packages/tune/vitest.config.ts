import { defineConfig } from 'vitest/config';

// Tests start real local clusters (child processes) and import the built package, because the
// library's tasks run from dist/worker/tasks.js inside worker processes.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    execArgv: ['--expose-gc'],
  },
});
