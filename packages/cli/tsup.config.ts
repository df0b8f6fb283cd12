import { defineConfig } from 'tsup';
import { asciiSource } from '../../tools/tsup/ascii-source.mjs';

// The library (index: the harness and the commands, for tests and embedding), the `tray` bin,
// and the node supervisor that `tray start` leaves running (spawned detached, never imported).
export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    plugins: [asciiSource()],
  },
  {
    entry: { bin: 'src/bin.ts', 'node-supervisor': 'src/cluster/node-supervisor.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    plugins: [asciiSource()],
    banner: { js: '#!/usr/bin/env node' },
  },
]);
