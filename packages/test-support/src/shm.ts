// The object store's shared-memory segments, by the pid of the raylet that made them
// (`/dev/shm/tray-store-<pid>-<n>`): a SIGKILLed raylet cannot remove its own, so a test that
// kills one removes them, and a test of cleanup asserts that none is left.
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const SHM_DIR = '/dev/shm';

/** Paths of the segments made by any of `pids`. */
export function storeSegments(pids: number | Iterable<number>, shmDir = SHM_DIR): string[] {
  const list = typeof pids === 'number' ? [pids] : [...pids];
  return readdirSync(shmDir)
    .filter((name) => list.some((pid) => name.startsWith(`tray-store-${pid}-`)))
    .map((name) => path.join(shmDir, name));
}

/** Remove the segments made by any of `pids`; returns the paths removed. */
export function removeStoreSegments(pids: number | Iterable<number>, shmDir = SHM_DIR): string[] {
  const segments = storeSegments(pids, shmDir);
  for (const segment of segments) rmSync(segment, { force: true });
  return segments;
}
