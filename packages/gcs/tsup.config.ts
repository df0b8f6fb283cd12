import { defineConfig } from 'tsup';
import { asciiSource } from '../../tools/tsup/ascii-source.mjs';

// The library (index), the client alone (client: what drivers and workers load, without the
// server's code) and the child-process script (main, run by `fork`, never imported).
export default defineConfig({
  entry: ['src/index.ts', 'src/client.ts', 'src/main.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  plugins: [asciiSource()],
});
