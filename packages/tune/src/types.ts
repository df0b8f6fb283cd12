// The shapes shared by the Tuner, the search algorithms and the schedulers.

export type Mode = 'min' | 'max';

/** A trial's resolved hyperparameters: the paramSpace with every Domain sampled. */
export type TrialConfig = Record<string, unknown>;

/**
 * One reported result: the trainable's metrics plus what the Tuner adds to every report (Ray's
 * auto-filled fields, snake_case as Ray's so `stop` and `metric` names carry over).
 */
export interface TrialResult {
  [metric: string]: unknown;
  trial_id: string;
  training_iteration: number;
  time_total_s: number;
  time_this_iter_s: number;
  timestamp: number;
  done?: boolean;
}
