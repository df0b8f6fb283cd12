// The run directory's checkpoints on a real filesystem: numbering continues after what a run
// directory holds, partial directories are complete only once renamed, and numToKeep keeps the
// latest N (no score attribute) or the best N by score in either order, plus always the latest.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointManager, mergeInto, partialDir } from './storage.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function runDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'tray-train-storage-'));
  dirs.push(d);
  return d;
}

function commitAll(m: CheckpointManager, dir: string, scores: number[]): void {
  for (const [i, score] of scores.entries()) {
    const p = partialDir(dir, 0, i);
    mkdirSync(p, { recursive: true });
    writeFileSync(path.join(p, 'f'), String(i));
    m.commit(p, { score });
  }
}

const names = (dir: string) => readdirSync(dir).sort();

describe('CheckpointManager', () => {
  it('keeps the latest numToKeep without a score attribute', () => {
    const dir = runDir();
    const m = new CheckpointManager(dir, 2, undefined, 'max');
    commitAll(m, dir, [5, 4, 3, 2]);
    expect(names(dir)).toEqual(['checkpoint_000002', 'checkpoint_000003']);
    expect(m.latest?.path).toBe(path.join(dir, 'checkpoint_000003'));
  });

  it('keeps the lowest scores with order min, and always the latest', () => {
    const dir = runDir();
    const m = new CheckpointManager(dir, 1, 'score', 'min');
    commitAll(m, dir, [3, 1, 2, 7]);
    expect(names(dir)).toEqual(['checkpoint_000001', 'checkpoint_000003']);
    expect(m.kept.map((c) => c.metrics.score)).toEqual([1, 7]);
    expect(m.latest?.metrics.score).toBe(7);
  });

  it('numbers after the checkpoints already there and drops a dead run partial directories', () => {
    const dir = runDir();
    mkdirSync(path.join(dir, 'checkpoint_000004'));
    mkdirSync(partialDir(dir, 3, 9));
    const m = new CheckpointManager(dir, undefined, undefined, 'max');
    expect(existsSync(partialDir(dir, 3, 9))).toBe(false);
    commitAll(m, dir, [1]);
    expect(names(dir)).toEqual(['checkpoint_000004', 'checkpoint_000005']);
    expect(readdirSync(path.join(dir, 'checkpoint_000005'))).toEqual(['f']);
  });
});

describe('mergeInto', () => {
  it('merges trees into one directory, the same name from two sources leaving one whole file', () => {
    const root = runDir();
    const a = path.join(root, 'a');
    const b = path.join(root, 'b');
    mkdirSync(path.join(a, 'sub'), { recursive: true });
    mkdirSync(path.join(b, 'sub'), { recursive: true });
    writeFileSync(path.join(a, 'same'), 'x'.repeat(1 << 20));
    writeFileSync(path.join(b, 'same'), 'y'.repeat(1 << 20));
    writeFileSync(path.join(a, 'sub', 'rank-0'), '0');
    writeFileSync(path.join(b, 'sub', 'rank-1'), '1');
    const dest = path.join(root, 'merged');
    for (let i = 0; i < 20; i++) {
      mergeInto(a, dest);
      mergeInto(b, dest);
    }
    expect(names(dest)).toEqual(['same', 'sub']);
    expect(names(path.join(dest, 'sub'))).toEqual(['rank-0', 'rank-1']);
    expect(readFileSync(path.join(dest, 'same'), 'utf8')).toBe('y'.repeat(1 << 20));
  });
});
