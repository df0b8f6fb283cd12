// Where the scripts that `tray start` runs live: the GCS, raylet and dashboard `main` entries
// (docs/processes.md), core's worker entry (handed to the raylet), and this package's node
// supervisor. Resolved from the installed packages, never from their internals.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export function gcsMain(): string {
  return require.resolve('@tray/gcs/main');
}

export function rayletMain(): string {
  return require.resolve('@tray/raylet/main');
}

/** The dashboard process (@tray/dashboard/main), run on the head node. */
export function dashboardMain(): string {
  return require.resolve('@tray/dashboard/main');
}

/** Core's `dist/worker/main.js`; the path is computed even before core is built (the raylet checks). */
export function workerEntry(): string {
  return path.join(path.dirname(require.resolve('@tray/core/package.json')), 'dist', 'worker', 'main.js');
}

/** The built `node-supervisor.js` beside this bundle. */
export function nodeSupervisorMain(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), 'node-supervisor.js');
}
