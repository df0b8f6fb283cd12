// The real model: the tfjs MLP of examples/mlp.mjs on a deterministic dataset: on one worker
// the loss falls.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tray from '@tray/core';
import * as train from '@tray/train';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeStorageDirs, storageDir } from './helpers.js';

const MODULE = pathToFileURL(path.join(import.meta.dirname, '..', 'examples', 'mlp.mjs')).href;
const trainMlp = tray.remote(async (_config: unknown) => undefined, {
  module: MODULE,
  exportName: 'trainMlp',
});
const config = { rows: 1024, batchSize: 64, epochs: 4, lr: 0.1 };

beforeAll(async () => {
  await tray.init({ numCpus: 4 });
});

afterAll(async () => {
  await tray.shutdown();
  removeStorageDirs();
});

function fit(numWorkers: number) {
  return new train.DataParallelTrainer(trainMlp, {
    trainLoopConfig: config,
    scalingConfig: { numWorkers },
    runConfig: { name: `mlp-${numWorkers}`, storagePath: storageDir(), verbose: false },
  }).fit();
}

describe('the tfjs MLP', () => {
  it('trains on one worker: the loss falls', async () => {
    const one = await fit(1);
    expect(one.error).toBeUndefined();
    const losses = one.metricsHistory.map((m) => m.loss as number);
    expect(losses).toHaveLength(config.epochs);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! * 0.7);
    expect(one.metrics!.samples).toBe(1024);
  });
});
