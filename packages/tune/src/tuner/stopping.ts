// When a result ends its trial (runConfig.stop: any key reaching its threshold, or a function
// saying so), and the first-result check that the metric the experiment optimises (and the stop
// keys) are really reported: a typo there would otherwise run every trial to the end for nothing.
import { flatten } from '../storage/trial-files.js';
import type { TrialResult } from '../types.js';
import type { StopCondition } from './config.js';

export function shouldStop(stop: StopCondition | undefined, result: TrialResult): boolean {
  if (stop === undefined) return false;
  if (typeof stop === 'function') return stop(result.trial_id, result) === true;
  const flat = flatten(result);
  for (const [key, threshold] of Object.entries(stop)) {
    const value = key in result ? result[key] : flat[key];
    if (typeof value === 'number' && value >= threshold) return true;
  }
  return false;
}

/** Throws when the first result lacks the metric or a stop key; names what it has instead. */
export function checkFirstResult(
  result: TrialResult,
  metric: string | undefined,
  stop: StopCondition | undefined,
): void {
  const flat = flatten(result);
  const has = (key: string) => key in result || key in flat;
  const missing: string[] = [];
  if (metric !== undefined && !has(metric))
    missing.push(`the metric ${JSON.stringify(metric)} (tuneConfig.metric)`);
  if (stop !== undefined && typeof stop !== 'function') {
    for (const key of Object.keys(stop))
      if (!has(key)) missing.push(`the stop key ${JSON.stringify(key)} (runConfig.stop)`);
  }
  if (missing.length > 0) {
    const reported = Object.keys(flat).filter((k) => !AUTO_FIELDS.has(k));
    throw new Error(
      `Trial ${result.trial_id} reported a result without ${missing.join(' and ')}. It reported ` +
        `${reported.length > 0 ? reported.join(', ') : 'no metrics of its own'} (besides the auto-filled fields). ` +
        'Report that key with tune.report({ ... }), or fix the name in the Tuner options.',
    );
  }
}

const AUTO_FIELDS = new Set([
  'trial_id',
  'training_iteration',
  'time_this_iter_s',
  'time_total_s',
  'time_since_restore',
  'iterations_since_restore',
  'timestamp',
  'date',
  'pid',
  'hostname',
  'done',
  'checkpoint_dir_name',
]);
