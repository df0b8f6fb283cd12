import { defineConfig } from 'tsup';

// The library (index), the session-directory helpers (session: light, no raylet code) and the
// child-process script (main, run by `fork`, never imported).
export default defineConfig({
  entry: ['src/index.ts', 'src/session.ts', 'src/main.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
