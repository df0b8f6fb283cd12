import { defineConfig } from 'tsup';
import { asciiSource } from '../../tools/tsup/ascii-source.mjs';

// The public API (esm + cjs + types), the `tray serve` process (dist/cli.js, ESM: it shares its
// chunks with dist/index.js, so an app module's `import '@tray/serve'` and the CLI see one
// Application class) and the module the library's actors run from (dist/worker/actors.js:
// workers import it by file URL, once per process). `shims` gives the CJS build an
// import.meta.url, which locates that module.
export default defineConfig([
  {
    entry: { index: 'src/index.ts', cli: 'src/cli/main.ts' },
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    splitting: true,
    target: 'node20',
    plugins: [asciiSource()],
  },
  {
    entry: { index: 'src/index.ts' },
    format: ['cjs'],
    dts: true,
    sourcemap: true,
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
