// FIFOScheduler lets every trial run to its end and runs them in the order they were added.
import { describe, expect, it } from 'vitest';
import type { TrialResult } from '../types.js';
import { FIFOScheduler } from './fifo.js';
import type { SchedulerContext, TrialStatus, TrialView } from './trial-scheduler.js';

const trial = (id: string, status: TrialStatus): TrialView => ({
  id,
  config: {},
  status,
  hasCheckpoint: false,
});

describe('FIFOScheduler', () => {
  it('continues every result and picks the first PENDING trial, then the first PAUSED one', () => {
    const trials = [
      trial('a', 'RUNNING'),
      trial('b', 'PAUSED'),
      trial('c', 'PENDING'),
      trial('d', 'PENDING'),
    ];
    const ctx: SchedulerContext = { trials: () => trials };
    const s = new FIFOScheduler();
    expect(s.setSearchProperties('loss', 'min')).toBe(true);
    const r: TrialResult = {
      trial_id: 'a',
      training_iteration: 1,
      time_total_s: 1,
      time_this_iter_s: 1,
      timestamp: 0,
    };
    for (let i = 0; i < 5; i++)
      expect(s.onTrialResult(ctx, trials[0]!, { ...r, loss: 100 - i })).toBe('CONTINUE');
    expect(s.chooseTrialToRun(ctx)?.id).toBe('c');
    trials[2] = trial('c', 'RUNNING');
    trials[3] = trial('d', 'RUNNING');
    expect(s.chooseTrialToRun(ctx)?.id).toBe('b');
    trials[1] = trial('b', 'RUNNING');
    expect(s.chooseTrialToRun(ctx)).toBeUndefined();
  });
});
