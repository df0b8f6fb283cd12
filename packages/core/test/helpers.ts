// What core's tests share beyond @tray/test-support: driver scripts written inside the package
// (so they resolve @tray/core), functions written as source for remote code, and a client of the
// node's store.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { StoreClient } from '@tray/object-store';
import * as tray from '../src/index.js';

/**
 * A client of the local cluster's store, through the socket its workers use (a task reports it),
 * so a test can read the store's stats. Call after tray.init(); close it before tray.shutdown().
 */
export async function connectNodeStore(): Promise<StoreClient> {
  const socket = await tray.get(tray.remote(() => process.env.TRAY_STORE_SOCKET ?? '').remote());
  return StoreClient.connect(socket);
}

/** The directory of @tray/core: driver scripts resolve '@tray/core' from here. */
export const PACKAGE_DIR = path.resolve(import.meta.dirname, '..');

/** Temp dirs of driver scripts, removed when the test process exits. */
const scriptDirs: string[] = [];

/** Write an ES module driver script into a temp dir inside the package (so it resolves @tray/core). */
export function writeDriverScript(source: string): string {
  const dir = mkdtempSync(path.join(PACKAGE_DIR, 'test', '.tmp-'));
  if (scriptDirs.length === 0) {
    process.once('exit', () => {
      for (const d of scriptDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  scriptDirs.push(dir);
  const file = path.join(dir, 'driver.mjs');
  writeFileSync(file, source);
  return file;
}

export const tmpdir = os.tmpdir();

/**
 * A function from source text. Vitest rewrites `tray` in test files to its own import binding
 * (`__vite_ssr_import_1__`), which remote code cannot see; functions that use `tray` inside are
 * written as text so they reach the worker as a user would write them.
 */
export function remoteSource<F extends ((...args: any[]) => any) | (abstract new (...args: any[]) => any)>(
  source: string,
): F {
  return new Function(`return (${source});`)() as F;
}
