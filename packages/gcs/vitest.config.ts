import { defineConfig } from 'vitest/config';

// The server tests fork GCS children (two in a row for the restart tests): on a loaded machine
// that takes longer than vitest's 5 s default, as the raylet's tests already allow for.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
