// The `tray` bin and drivers as a user runs them, for the CLI's tests: a real child process per
// command, a private TMPDIR per test (so current_cluster.json and sessions never touch the
// machine's own), and cleanup of every daemon a test started.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeStaleFiles } from '@tray/raylet/session';

export const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function tray(
  args: string[],
  tmpdir: string,
  timeoutMs = 120_000,
  extraEnv: Record<string, string> = {},
): Promise<Run> {
  // The machine's own cluster settings must not leak in.
  const { TRAY_ADDRESS: _address, TRAY_TOKEN: _token, ...env } = process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...env, ...extraEnv, TMPDIR: tmpdir }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Run an ES module driver from this package's directory (so it resolves @tray/core). */
export function driver(source: string, extraEnv: Record<string, string>, timeoutMs = 60_000): Promise<Run> {
  const { TRAY_ADDRESS: _address, TRAY_TOKEN: _token, ...env } = process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', source],
      { env: { ...env, ...extraEnv }, cwd: path.join(path.dirname(BIN), '..'), timeout: timeoutMs },
      (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
    );
  });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function until(condition: () => boolean, deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** Temp dirs and daemon pids of the current test, cleaned up by `cleanUp` (call it afterEach). */
export class TestCluster {
  private readonly dirs: string[] = [];
  readonly started: number[] = [];

  tempDir(): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tray-cli-test-'));
    this.dirs.push(dir);
    return dir;
  }

  /**
   * SIGKILL what the test started, then remove the shared-memory segments those raylets (and any
   * the test itself killed) could not remove: a SIGKILLed raylet leaves its /dev/shm file.
   */
  async cleanUp(): Promise<void> {
    const pids = this.started.splice(0);
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await until(() => !pids.some(alive), 10_000);
    for (const dir of this.dirs.splice(0)) {
      await removeStaleFiles({ tmpDir: dir, keepSessions: true });
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
