import { defineConfig } from 'vitest/config';

// The helpers' own tests start real child processes (and a real redis-server and openssl).
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
