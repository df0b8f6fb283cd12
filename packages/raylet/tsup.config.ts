import { defineConfig } from 'tsup';
import { asciiSource } from '../../tools/tsup/ascii-source.mjs';

// The library (index), the session-directory helpers (session: light, no raylet code), the
// helpers for tests that run a raylet in their process (testing: its stub worker, testing/, is
// shipped as is and found from import.meta.url, which `shims` gives the CJS build) and the
// child-process scripts (main, the raylet, and runtime-env/agent-main, its runtime-env agent;
// run by `fork`, never imported).
export default defineConfig({
  entry: ['src/index.ts', 'src/session.ts', 'src/testing.ts', 'src/main.ts', 'src/runtime-env/agent-main.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  shims: true,
  target: 'node20',
  plugins: [asciiSource()],
});
