import { defineConfig } from 'tsup';
import { asciiSource } from '../../tools/tsup/ascii-source.mjs';

// The public API (esm + cjs + types) and the worker process's entry point, which the raylet
// spawns as `node dist/worker/main.js` (docs/processes.md). `shims` gives the CJS build an
// import.meta.url (the driver finds the worker entry and the daemons from it).
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
    entry: { 'worker/main': 'src/worker/main.ts' },
    format: ['esm'],
    dts: true, // the export `./worker/main` has types, as every entry does (publint, attw)
    sourcemap: true,
    target: 'node20',
    plugins: [asciiSource()],
  },
]);
