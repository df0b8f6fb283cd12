import { defineConfig } from 'vitest/config';

// Tests start real clusters (child processes); type tests (*.test-d.ts) run in typecheck mode.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Reference-counting tests collect garbage to drop refs the way a long-running program does.
    execArgv: ['--expose-gc'],
    typecheck: { include: ['src/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
  },
});
