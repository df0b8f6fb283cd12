import { defineConfig } from 'vitest/config';

// Transport tests start real processes and sockets on shared, noisy machines: generous
// timeouts, and no test asserts on timing.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
