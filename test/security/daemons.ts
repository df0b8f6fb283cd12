// What the security tests share: a real GCS and raylet, each its own child process (forked from
// their `main` entries as `tray.init()` and `tray start` do), so a test can watch one's memory
// (`rssBytes`) and kill it; and cleanup by pid after each test, even when it failed.
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeStaleFiles } from '@tray/raylet/session';

const require = createRequire(import.meta.url);
export const FIXTURE_WORKER = fileURLToPath(
  new URL('../../packages/raylet/test/fixtures/worker.mjs', import.meta.url),
);

const children = new Set<ChildProcess>();
const dirs = new Set<string>();

/**
 * For afterEach: SIGKILL every daemon a test started, remove its directories and the
 * shared-memory segments of the raylets killed (a SIGKILLed raylet cannot remove its own).
 */
export async function killDaemons(): Promise<void> {
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((resolve) => {
          children.delete(child);
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  await removeStaleFiles({ keepSessions: true });
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

export interface Daemon {
  child: ChildProcess;
  ready: any;
}

/** Fork `@tray/<pkg>/main` with `options` and wait for its `ready` message. */
export function startDaemon(
  pkg: 'gcs' | 'raylet',
  options: object,
  env: NodeJS.ProcessEnv = {},
): Promise<Daemon> {
  const child = fork(require.resolve(`@tray/${pkg}/main`), [], {
    env: { ...process.env, ...env, TRAY_DAEMON_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    execArgv: [],
  });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) =>
      reject(new Error(`the ${pkg} exited during startup (${signal ?? code}): ${stderr}`)),
    );
    child.on('message', (message: any) => {
      if (message?.type === 'ready') resolve({ child, ready: message });
      else if (message?.type === 'error') reject(new Error(`the ${pkg} could not start: ${message.message}`));
    });
  });
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
      workerEntry: FIXTURE_WORKER,
      prestartWorkers: 0,
      isHead: true,
      ...extra.raylet,
    },
    extra.env,
  );
  return { gcs, raylet };
}

/** Resident memory of a process, from /proc. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  if (!Number.isFinite(kib)) throw new Error(`no VmRSS for pid ${pid}`);
  return kib * 1024;
}
