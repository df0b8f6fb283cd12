// A DataParallelTrainer with a bad option fails in its constructor, naming the option and what
// it takes; good options get Ray's defaults (1 worker of { CPU: 1 }, PACK, ~/tray_results, no
// retries, every checkpoint kept).
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveOptions } from './config.js';
import { DataParallelTrainer } from './trainer.js';

const make = (options: unknown) => () => new DataParallelTrainer(() => undefined, options as never);

describe('trainer options', () => {
  it('fills in the defaults', () => {
    const o = resolveOptions({});
    expect(o).toMatchObject({
      numWorkers: 1,
      resourcesPerWorker: { CPU: 1 },
      placementStrategy: 'PACK',
      storagePath: path.join(os.homedir(), 'tray_results'),
      maxFailures: 0,
      numToKeep: undefined,
      scoreOrder: 'max',
    });
    expect(o.name).toMatch(/^DataParallelTrainer_\d{8}_\d{6}$/);
    expect(resolveOptions({ scalingConfig: { useGpu: true } }).resourcesPerWorker).toEqual({
      CPU: 1,
      GPU: 1,
    });
  });

  it.each([
    [{ scalingConfig: { numWorkers: 0 } }, /scalingConfig.numWorkers must be an integer >= 1; got 0/],
    [{ scalingConfig: { numWorkers: 1.5 } }, /numWorkers must be an integer >= 1; got 1.5/],
    [
      { scalingConfig: { placementStrategy: 'pack' } },
      /placementStrategy must be one of PACK, SPREAD.*got "pack"/,
    ],
    [
      { scalingConfig: { resourcesPerWorker: { CPU: -1 } } },
      /resourcesPerWorker.CPU must be a number >= 0; got -1/,
    ],
    [{ scalingConfig: { resourcesPerWorker: { GPU: 1 } } }, /asks for GPU but useGpu is false/],
    [{ scalingConfig: { workers: 2 } }, /scalingConfig has no option 'workers'/],
    [{ runConfig: { failureConfig: { maxFailures: -2 } } }, /maxFailures must be an integer >= 0, or -1/],
    [{ runConfig: { checkpointConfig: { numToKeep: 0 } } }, /numToKeep must be an integer >= 1/],
    [
      { runConfig: { checkpointConfig: { checkpointScoreOrder: 'up' } } },
      /checkpointScoreOrder must be 'max' or 'min'/,
    ],
    [{ runConfig: { name: 'a/b' } }, /runConfig.name must be a directory name/],
    [{ datasets: { train: [1, 2] } }, /datasets.train must be a @tray\/data Dataset/],
    [{ resumeFromCheckpoint: '/tmp/x' }, /resumeFromCheckpoint must be a Checkpoint/],
    [{ trainLoopConfg: {} }, /the options has no option 'trainLoopConfg'/],
  ])('rejects %j in the constructor', (options, message) => {
    expect(make(options)).toThrow(message);
  });

  it('rejects a training function that cannot be shipped, saying how to pass values', () => {
    const lr = 0.1;
    expect(() => new DataParallelTrainer(() => lr)).toThrow(
      /cannot run on the workers: .*lr.*trainLoopConfig/s,
    );
    expect(() => new DataParallelTrainer(42 as never)).toThrow(
      /first argument must be the training function/,
    );
  });
});
