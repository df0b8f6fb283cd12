// What the security tests share: a real GCS and raylet, each its own child process (forked from
// their `main` entries as `tray.init()` and `tray start` do), so a test can watch one's memory
// (@tray/test-support's `rssBytes`) and kill it; and cleanup by pid after each test, even when it failed.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { removeStaleFiles } from '@tray/raylet/session';
import { STUB_WORKER } from '@tray/raylet/testing';
import { type Daemon, killDaemons as killDaemonProcesses, startDaemon as start } from '@tray/test-support';

const require = createRequire(import.meta.url);

const daemons = new Set<Daemon>();
const dirs = new Set<string>();

/**
 * For afterEach: SIGKILL every daemon a test started, remove its directories and the
 * shared-memory segments of the raylets killed (a SIGKILLed raylet cannot remove its own).
 */
export async function killDaemons(): Promise<void> {
  await killDaemonProcesses(daemons);
  daemons.clear();
  await removeStaleFiles({ keepSessions: true });
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

/** Fork `@tray/<pkg>/main` with `options` and wait for its `ready` message. */
export async function startDaemon(pkg: 'gcs' | 'raylet', options: object, env: NodeJS.ProcessEnv = {}) {
  const daemon = await start<any>(require.resolve(`@tray/${pkg}/main`), options, { env, name: `the ${pkg}` });
  daemons.add(daemon);
  return daemon;
}

export function sessionDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tray-sec-'));
  dirs.add(dir);
  return dir;
}

export const TOKEN = randomBytes(32).toString('hex');

/** A GCS and a raylet registered with it (no workers started). */
export async function startNode(extra: { gcs?: object; raylet?: object; env?: NodeJS.ProcessEnv } = {}) {
  const gcs = await startDaemon('gcs', { token: TOKEN, port: 0, ...extra.gcs }, extra.env);
  const raylet = await startDaemon(
    'raylet',
    {
      gcsAddress: gcs.ready.address,
      token: TOKEN,
      sessionDir: sessionDir(),
      numCpus: 1,
      objectStoreMemory: 32 * 1024 * 1024,
      workerEntry: STUB_WORKER,
      prestartWorkers: 0,
      isHead: true,
      ...extra.raylet,
    },
    extra.env,
  );
  return { gcs, raylet };
}
