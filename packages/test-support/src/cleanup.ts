// Cleanup after a test, even when it failed: steps registered while the test runs (stop a
// server, kill a pid, remove a directory) and run last-registered-first from afterEach. One
// `Cleanup` per scope; `onCleanup`/`cleanUp`/`tempDir` use the test file's default one.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class Cleanup {
  private readonly steps: Array<() => unknown> = [];

  /** Run `step` at cleanup (last added, first run). */
  add(step: () => unknown): void {
    this.steps.push(step);
  }

  /** A fresh directory in os.tmpdir() named `<prefix>…`, removed at cleanup. */
  tempDir(prefix = 'tray-test-'): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    this.add(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  /** Run every step, last first; every step runs even when one fails, and the first error is thrown. */
  async run(): Promise<void> {
    let first: unknown;
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }
}

const defaultCleanup = new Cleanup();

/** Run `step` when the current test ends (call `cleanUp` in afterEach). */
export function onCleanup(step: () => unknown): void {
  defaultCleanup.add(step);
}

/** For afterEach: runs what `onCleanup` and `tempDir` registered. */
export function cleanUp(): Promise<void> {
  return defaultCleanup.run();
}

/** A fresh temporary directory, removed by `cleanUp`. */
export function tempDir(prefix?: string): string {
  return defaultCleanup.tempDir(prefix);
}
