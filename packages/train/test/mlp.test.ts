// The real model: the tfjs MLP of examples/mlp.mjs on a deterministic dataset. On one worker
// the loss falls; on two workers with gradients averaged by allReduce the parameters after the
// same steps over the same data match single-worker training within float tolerance.
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
// @ts-expect-error: a plain .mjs example without types
const { initParams } = await import('../examples/mlp.mjs');
const initial = Array.from(initParams(7) as Float32Array);

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
  it('trains on one worker with a falling loss, and on two to the same parameters', async () => {
    const one = await fit(1);
    expect(one.error).toBeUndefined();
    const losses = one.metricsHistory.map((m) => m.loss as number);
    expect(losses).toHaveLength(config.epochs);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! * 0.7);
    expect(one.metrics!.samples).toBe(1024);

    const two = await fit(2);
    expect(two.error).toBeUndefined();
    const p1 = one.metrics!.params as number[];
    const p2 = two.metrics!.params as number[];
    expect(p2).toHaveLength(p1.length);
    const diff = Math.max(...p1.map((p, i) => Math.abs(p - p2[i]!)));
    const moved = Math.max(...p1.map((p, i) => Math.abs(p - initial[i]!)));
    console.log(
      `largest parameter difference, 2 workers vs 1: ${diff.toExponential(2)} (moved ${moved.toFixed(3)})`,
    );
    expect(moved).toBeGreaterThan(0.01);
    expect(diff).toBeLessThan(1e-4);
    const losses2 = two.metricsHistory.map((m) => m.loss as number);
    for (const [i, l] of losses2.entries()) expect(l).toBeCloseTo(losses[i]!, 4);
  });
});
