// Shared by the train tests: training loops written as source text (vitest rewrites `train`
// and `tray` in test files to its own import bindings, which the workers cannot see, so loops
// reach the workers as a user's file would send them), and temporary storage directories
// removed after the tests.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function loop(source: string): (config: any) => unknown {
  return new Function(`return (${source});`)() as (config: any) => unknown;
}

const dirs: string[] = [];

export function storageDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tray-train-test-'));
  dirs.push(dir);
  return dir;
}

export function removeStorageDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
