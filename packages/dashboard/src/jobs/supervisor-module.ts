// Where the supervisor actor's module is on disk, for shipping it by reference: the worker
// imports `dist/jobs/supervisor.js` of this package by file URL (the same installation on every
// node, as the raylet's worker entry is). Found from the package root, so it is the same whether
// the dashboard runs from dist/ or from src/ under vitest.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export function supervisorModuleUrl(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if (JSON.parse(readFileSync(manifest, 'utf8')).name === '@tray/dashboard') {
          const file = path.join(dir, 'dist', 'jobs', 'supervisor.js');
          if (!existsSync(file)) throw new Error(`${file} is missing: build @tray/dashboard first`);
          return pathToFileURL(file).href;
        }
      } catch (err) {
        if ((err as Error).message.includes('build @tray/dashboard')) throw err;
      }
    }
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the @tray/dashboard package directory (for dist/jobs/supervisor.js)');
}
