// Checkpoint: a directory of files a trial saved (Ray's train.Checkpoint). A trainable reports
// one with tune.report(metrics, { checkpoint }); the Tuner copies the directory into the trial's
// storage dir (checkpoint_000000, ...) and hands the copy back on restore (tune.getCheckpoint(),
// a class trainable's loadCheckpoint(dir)). Anything with a string `path` is accepted, so a
// @tray/train Checkpoint works without tune importing train.
import { cpSync, existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export class Checkpoint {
  /** Absolute path of the checkpoint's directory. */
  readonly path: string;

  constructor(dir: string) {
    if (typeof dir !== 'string' || dir === '') {
      throw new TypeError(`Checkpoint: expected the path of a directory, got ${JSON.stringify(dir)}.`);
    }
    this.path = path.resolve(dir);
  }

  /** A checkpoint of an existing directory (its files are copied when it is reported). */
  static fromDirectory(dir: string): Checkpoint {
    const checkpoint = new Checkpoint(dir);
    if (!existsSync(checkpoint.path) || !statSync(checkpoint.path).isDirectory()) {
      throw new TypeError(
        `Checkpoint.fromDirectory(${JSON.stringify(dir)}): not a directory. Write the checkpoint's files into a ` +
          'directory first, then report Checkpoint.fromDirectory(thatDir).',
      );
    }
    return checkpoint;
  }

  /** Copy the checkpoint's files to `dest` (default: a new temporary directory); returns it. */
  toDirectory(dest?: string): string {
    const target = dest ?? mkdtempSync(path.join(tmpdir(), 'tray-checkpoint-'));
    cpSync(this.path, target, { recursive: true });
    return target;
  }

  toString(): string {
    return `Checkpoint(${this.path})`;
  }
}

/** The directory of anything checkpoint-like ({ path: string }), or an error saying what was given. */
export function checkpointDir(value: unknown, where: string): string {
  if (value instanceof Checkpoint) return value.path;
  if (typeof value === 'string') return path.resolve(value);
  if (value !== null && typeof value === 'object' && typeof (value as { path?: unknown }).path === 'string') {
    return path.resolve((value as { path: string }).path);
  }
  throw new TypeError(
    `${where}: checkpoint must be a Checkpoint (tune.Checkpoint.fromDirectory(dir)) or a directory path, ` +
      `got ${typeof value === 'object' ? JSON.stringify(value) : String(value)}.`,
  );
}
