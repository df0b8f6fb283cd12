// Test helpers: wait on a condition with a deadline, run a driver script in a child process,
// check whether processes are alive, and observe the node's store.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import { StoreClient } from '@tray/object-store';
import * as tray from '../src/index.js';

const nodeRequire = createRequire(import.meta.url);

/**
 * A client of the local cluster's store, through the socket its workers use (a task reports it),
 * so a test can read the store's stats. Call after tray.init(); close it before tray.shutdown().
 */
export async function connectNodeStore(): Promise<StoreClient> {
  const socket = await tray.get(tray.remote(() => process.env.TRAY_STORE_SOCKET ?? '').remote());
  return StoreClient.connect(socket);
}

export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 20_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
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

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runScript(
  file: string,
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], {
      cwd: path.dirname(file),
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${file} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`),
      );
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
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

/** Every live descendant of `pid` (from /proc). */
export function descendants(pid: number): number[] {
  const { readdirSync, readFileSync } = nodeRequire('node:fs') as typeof import('node:fs');
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so split after its closing paren.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(name), ppid);
    } catch {}
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, pp] of parent) {
      if (pp === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}
