// The loop's functions called where there is no training function around them say so.
import { describe, expect, it } from 'vitest';
import { getCheckpoint, getContext, getDatasetShard, report } from './api.js';

describe('the train API outside a training function', () => {
  it('says where it can be called', async () => {
    expect(() => getContext()).toThrow(
      'train.getContext() is only available inside a training function run by DataParallelTrainer.fit()',
    );
    expect(() => getCheckpoint()).toThrow(
      /train.getCheckpoint\(\) is only available inside a training function/,
    );
    expect(() => getDatasetShard('train')).toThrow(/train.getDatasetShard\(\) is only available/);
    await expect(report({ loss: 1 })).rejects.toThrow(/train.report\(\) is only available/);
  });
});
