import { defineConfig } from 'tsup';
import { asciiSource } from '../../tools/tsup/ascii-source.mjs';

// The library (index), the dashboard process's script (main, run by `fork`, never imported) and
// the job supervisor actor's module (jobs/supervisor, loaded by workers by file URL).
export default defineConfig({
  entry: ['src/index.ts', 'src/main.ts', 'src/jobs/supervisor.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  plugins: [asciiSource()],
});
