import { defineConfig } from 'vitest/config';

// Tests start real local clusters (child processes) and import the built package, because the
// library's actors run from dist/worker/actors.js inside worker processes; type tests
// (*.test-d.ts) run in typecheck mode.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    execArgv: ['--expose-gc'],
    typecheck: { include: ['src/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
  },
});
