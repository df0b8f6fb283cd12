// Test helpers for schedulers: a Tuner-shaped context over a list of trial views whose status the
// test sets, and results with Ray's auto-filled fields. Used by the *.test.ts files beside it.
import type { TrialConfig, TrialResult } from '../types.js';
import type { SchedulerContext, TrialStatus, TrialView } from './trial-scheduler.js';

export class Trials implements SchedulerContext {
  private readonly list: TrialView[] = [];

  add(id: string, config: TrialConfig = {}, status: TrialStatus = 'RUNNING'): TrialView {
    const t: TrialView = { id, config, status, hasCheckpoint: false };
    this.list.push(t);
    return t;
  }

  get(id: string): TrialView {
    const t = this.list.find((x) => x.id === id);
    if (t === undefined) throw new Error(`no trial ${id}`);
    return t;
  }

  set(id: string, patch: Partial<Omit<TrialView, 'id'>>): TrialView {
    const i = this.list.findIndex((x) => x.id === id);
    this.list[i] = { ...this.list[i]!, ...patch };
    return this.list[i]!;
  }

  trials(): readonly TrialView[] {
    return this.list;
  }
}

export function result(
  trialId: string,
  iteration: number,
  metrics: Record<string, unknown>,
  timeTotal = iteration,
): TrialResult {
  return {
    trial_id: trialId,
    training_iteration: iteration,
    time_total_s: timeTotal,
    time_this_iter_s: 1,
    timestamp: 0,
    ...metrics,
  };
}
