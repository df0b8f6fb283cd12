import { defineConfig } from 'vitest/config';

// Each test runs drivers as child processes, each starting its own cluster: one file at a time.
export default defineConfig({
  test: {
    include: ['e2e/**/*.test.ts'],
    testTimeout: 90_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
