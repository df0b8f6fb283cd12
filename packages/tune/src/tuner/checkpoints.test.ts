// numToKeep: the newest checkpoint always stays; the others go by score when one is configured,
// else by age; the dropped directories are deleted.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { cleanUp, tempDir } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { recordCheckpoint } from './checkpoints.js';
import { resolveOptions } from './config.js';
import type { TrialRecord } from './trial.js';

function trial(): TrialRecord {
  return {
    id: 't',
    dirName: 't',
    config: {},
    status: 'RUNNING',
    numResults: 0,
    numFailures: 0,
    checkpoints: [],
    nextCheckpointIndex: 0,
    resources: { bundles: [{ CPU: 1 }], strategy: 'PACK' },
  };
}

function run(checkpointConfig: object, scores: number[]) {
  const dir = tempDir('tune-ckpt-');
  const options = resolveOptions({ runConfig: { checkpointConfig } }, 't');
  const t = trial();
  scores.forEach((acc, i) => {
    const stored = path.join(dir, `checkpoint_00000${i}`);
    mkdirSync(stored);
    recordCheckpoint(t, dir, stored, { acc, training_iteration: i + 1, time_total_s: i }, options);
  });
  return { names: t.checkpoints.map((c) => c.name), dir, t };
}

afterEach(cleanUp);

describe('recordCheckpoint', () => {
  it('keeps the newest numToKeep by age', () => {
    const { names, dir, t } = run({ numToKeep: 2 }, [1, 2, 3, 4]);
    expect(names).toEqual(['checkpoint_000002', 'checkpoint_000003']);
    expect(existsSync(path.join(dir, 'checkpoint_000000'))).toBe(false);
    expect(t.nextCheckpointIndex).toBe(4);
  });

  it('keeps the best by score, and always the newest', () => {
    const { names } = run({ numToKeep: 2, checkpointScoreAttribute: 'acc' }, [9, 1, 5, 2]);
    expect(names).toEqual(['checkpoint_000000', 'checkpoint_000003']);
    const min = run(
      { numToKeep: 2, checkpointScoreAttribute: 'acc', checkpointScoreOrder: 'min' },
      [9, 1, 5, 2],
    );
    expect(min.names).toEqual(['checkpoint_000001', 'checkpoint_000003']);
  });
});
