// A checkpoint is a directory. report() copies the directory a worker passes into the run's
// storage (every worker's files merged into one checkpoint_NNNNNN directory); getCheckpoint()
// and Result.checkpoint name such a directory. Several nodes need storagePath on shared storage
// (as Ray does): the checkpoint is read back by path.
import { cpSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class Checkpoint {
  /** The checkpoint's directory (absolute). */
  readonly path: string;

  constructor(dir: string) {
    this.path = dir;
  }

  /** A checkpoint of the files in `dir` (a directory that exists). */
  static fromDirectory(dir: string): Checkpoint {
    if (typeof dir !== 'string' || dir === '')
      throw new TypeError(`Checkpoint.fromDirectory: expected a directory path; got ${String(dir)}`);
    const abs = path.resolve(dir);
    let isDir = false;
    try {
      isDir = statSync(abs).isDirectory();
    } catch {
      throw new Error(
        `Checkpoint.fromDirectory: ${abs} does not exist; write the checkpoint's files there first`,
      );
    }
    if (!isDir) throw new Error(`Checkpoint.fromDirectory: ${abs} is a file, not a directory`);
    return new Checkpoint(abs);
  }

  /** A checkpoint again after it travelled between processes (a plain `{ path }` on arrival). */
  static from(value: unknown): Checkpoint {
    if (value instanceof Checkpoint) return value;
    const p = (value as { path?: unknown } | null)?.path;
    if (typeof p !== 'string')
      throw new TypeError(`Checkpoint.from: expected a Checkpoint; got ${String(value)}`);
    return new Checkpoint(p);
  }

  /** Copies the checkpoint's files to `dir` (default a new temporary directory) and returns it. */
  toDirectory(dir?: string): string {
    const dest =
      dir === undefined ? mkdtempSync(path.join(os.tmpdir(), 'tray-checkpoint-')) : path.resolve(dir);
    cpSync(this.path, dest, { recursive: true });
    return dest;
  }

  /**
   * Runs `fn` with a local directory holding the checkpoint's files: the checkpoint's own
   * directory (on shared storage), read only by convention; the result of `fn` is returned.
   */
  async asDirectory<T>(fn: (dir: string) => T | Promise<T>): Promise<T> {
    return await fn(this.path);
  }

  toString(): string {
    return `Checkpoint(${this.path})`;
  }
}

/** Removes a directory tree, ignoring one that is already gone. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
