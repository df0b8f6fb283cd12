import { defineConfig } from 'tsup';
import { asciiSource } from '../../tools/tsup/ascii-source.mjs';

// The public API (esm + cjs + types) and the module the library's actors run from
// (dist/worker/actors.js: workers import it by file URL, once per process). `shims` gives the CJS
// build an import.meta.url, which locates that module.
export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    shims: true,
    target: 'node20',
    plugins: [asciiSource()],
  },
  {
    entry: { 'worker/actors': 'src/worker/actors.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    plugins: [asciiSource()],
  },
]);
