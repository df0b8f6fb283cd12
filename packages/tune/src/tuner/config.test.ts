// The Tuner's option checks: Ray's defaults, and a clear message for each kind of bad value.
import { describe, expect, it } from 'vitest';
import { resolveOptions } from './config.js';

describe('resolveOptions', () => {
  it("applies Ray's defaults", () => {
    const o = resolveOptions({}, 'train');
    expect(o.numSamples).toBe(1);
    expect(o.maxFailures).toBe(0);
    expect(o.storagePath).toMatch(/tray_results$/);
    expect(o.name).toMatch(/^train_/);
    expect(o.checkpointScoreOrder).toBe('max');
  });

  it('rejects bad values with what was expected', () => {
    const bad = (options: object) => () => resolveOptions(options as never, 't');
    expect(bad({ tuneConfig: { metric: 'loss', mode: 'lowest' } })).toThrow(/mode must be 'min' or 'max'/);
    expect(bad({ tuneConfig: { metric: 'loss' } })).toThrow(/metric and mode go together/);
    expect(bad({ tuneConfig: { numSamples: 0 } })).toThrow(/numSamples must be an integer >= 1/);
    expect(bad({ tuneConfig: { numSamples: -1 } })).toThrow(/needs tuneConfig.timeBudgetMs/);
    expect(bad({ tuneConfig: { samples: 3 } })).toThrow(/unknown option "samples"/);
    expect(bad({ runConfig: { stop: { training_iteration: '5' } } })).toThrow(
      /stop.training_iteration must be a number/,
    );
    expect(bad({ runConfig: { name: 'a/b' } })).toThrow(/directory name/);
    expect(bad({ runConfig: { failureConfig: { maxFailures: 1.5 } } })).toThrow(
      /maxFailures must be an integer/,
    );
  });
});
