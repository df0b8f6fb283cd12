import { defineConfig } from 'vitest/config';

// The tests run the built `tray` bin as a real child process (build first).
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
