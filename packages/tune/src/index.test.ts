// The names LIBRARIES.md promises from `import * as tune from '@tray/tune'` for search spaces,
// search algorithms and schedulers exist and work together: a TPESearch behind a
// ConcurrencyLimiter suggests configs from every kind of space, and each scheduler decides on a
// result with the Tuner's metric and mode.
import { describe, expect, it } from 'vitest';
import * as tune from './index.js';

describe('@tray/tune search exports', () => {
  it('gives every space, searcher and scheduler of LIBRARIES.md', () => {
    const space = {
      lr: tune.loguniform(1e-4, 1e-1),
      layers: tune.choice([1, 2]),
      u: tune.uniform(0, 1),
      q: tune.quniform(0, 1, 0.5),
      n: tune.randn(0, 1),
      k: tune.randint(0, 3),
      twice: tune.sampleFrom((s) => (s.config.k as number) * 2),
    };
    const searcher = new tune.ConcurrencyLimiter(new tune.TPESearch({ seed: 1 }), { maxConcurrent: 2 });
    expect(
      searcher.setSearchProperties({ metric: 'loss', mode: 'min', paramSpace: space, numSamples: 3 }),
    ).toBe(true);
    const c = searcher.suggest('t0') as Record<string, number>;
    expect(c.twice).toBe(c.k * 2);
    const grid = new tune.Repeater(new tune.BasicVariantGenerator({ seed: 1 }), { repeat: 2 });
    grid.setSearchProperties({
      metric: 'loss',
      mode: 'min',
      paramSpace: { x: tune.gridSearch([1, 2, 3]) },
      numSamples: 2,
    });
    expect((grid.suggest('a') as Record<string, unknown>).__trial_index__).toBe(0);

    const ctx = {
      trials: () => [{ id: 't', config: { lr: 0.01 }, status: 'RUNNING' as const, hasCheckpoint: false }],
    };
    const view = ctx.trials()[0]!;
    const r = {
      trial_id: 't',
      training_iteration: 1,
      time_total_s: 1,
      time_this_iter_s: 1,
      timestamp: 0,
      loss: 1,
    };
    for (const s of [
      new tune.FIFOScheduler(),
      new tune.ASHAScheduler({ maxT: 100, gracePeriod: 1, reductionFactor: 4 }),
      new tune.HyperBandScheduler(),
      new tune.MedianStoppingRule(),
      new tune.PopulationBasedTraining({ hyperparamMutations: { lr: tune.loguniform(1e-4, 1e-1) } }),
    ]) {
      expect(s.setSearchProperties('loss', 'min')).toBe(true);
      s.onTrialAdd(ctx, view);
      expect(s.onTrialResult(ctx, view, r)).toBe('CONTINUE');
    }
  });
});
