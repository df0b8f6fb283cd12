// Private TMPDIRs for clusters a test starts with the `tray` bin (current_cluster.json and the
// sessions live under them, never under the machine's own), and the pids started there: after
// each test, SIGKILL the pids and every process still running with one of the directories as its
// TMPDIR (workers outliving their raylet), then let the caller remove what those processes could not (a
// SIGKILLed raylet leaves its /dev/shm segment: @tray/raylet/session's removeStaleFiles, passed
// in, since this package imports no @tray package), then remove the directories.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killAndWait, processesWithEnv } from './processes.js';

export interface ClusterHomesOptions {
  /** Name prefix of the directories (in os.tmpdir()); default `tray-test-`. */
  prefix?: string;
  /** Called for each directory after the pids are gone, before it is removed. */
  removeLeftovers?: (dir: string) => unknown;
}

export class ClusterHomes {
  private readonly dirs: string[] = [];
  /** Pids to SIGKILL at cleanUp (push what the test started). */
  readonly started: number[] = [];

  constructor(private readonly options: ClusterHomesOptions = {}) {}

  /** A fresh directory for a cluster's TMPDIR, removed at cleanUp. */
  tempDir(): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), this.options.prefix ?? 'tray-test-'));
    this.dirs.push(dir);
    return dir;
  }

  /** For afterEach: SIGKILL every started pid, wait until none lives, then clean the directories. */
  async cleanUp(): Promise<void> {
    // Both lists are taken before the first await: a caller that does not await this must not
    // have the next test's directories removed.
    const pids = this.started.splice(0);
    const dirs = this.dirs.splice(0);
    await killAndWait(pids, { timeoutMs: 10_000 });
    for (const dir of dirs) {
      // A worker of a raylet killed above may outlive it for a moment (it exits once it sees its
      // raylet gone) and write its log into the directory while it is being removed: every
      // process that inherited the directory as its TMPDIR is killed and waited for first.
      const stragglers = processesWithEnv('TMPDIR', dir).filter((pid) => pid !== process.pid);
      await killAndWait(stragglers, { timeoutMs: 10_000 });
      await this.options.removeLeftovers?.(dir);
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    }
  }
}
