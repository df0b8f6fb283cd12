import { defineConfig } from 'tsup';
import { asciiSource } from '../../tools/tsup/ascii-source.mjs';

export default defineConfig([
  {
    entry: ['src/index.ts'],
    // import.meta.url in the CJS build too (grpc-js is loaded with createRequire on first use).
    shims: true,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    plugins: [asciiSource()],
  },
  {
    // The V8 code cache, a CommonJS file preloaded with `node --require` (src/code-cache-preload.ts).
    entry: { 'code-cache': 'src/code-cache-preload.ts' },
    format: ['cjs'],
    dts: true,
    sourcemap: true,
    target: 'node20',
    plugins: [asciiSource()],
  },
]);
