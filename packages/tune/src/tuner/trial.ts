// A trial as the driver keeps it and as experiment_state.json stores it: plain JSON, so a
// restored driver has exactly what the killed one wrote. Paths are relative to the experiment
// directory, so the directory can be moved or copied before a restore.
import type { TrialStatus, TrialView } from '../schedulers/trial-scheduler.js';
import type { TrialConfig, TrialResult } from '../types.js';

export interface StoredCheckpoint {
  /** checkpoint_000003: a directory in the trial's dir. */
  name: string;
  /** training_iteration and time_total_s of the result it came with. */
  iteration: number;
  timeTotal: number;
  /** checkpointScoreAttribute's value in that result, when configured. */
  score?: number;
}

export interface TrialRecord {
  id: string;
  /** The trial's directory name in the experiment dir. */
  dirName: string;
  config: TrialConfig;
  status: TrialStatus;
  lastResult?: TrialResult;
  numResults: number;
  error?: string;
  numFailures: number;
  checkpoints: StoredCheckpoint[];
  nextCheckpointIndex: number;
  /** Start (or restart) from this checkpoint instead of the latest of `checkpoints` (PBT's clone). */
  restoreFrom?: StoredCheckpoint;
  resources: { bundles: Record<string, number>[]; strategy: string };
  /** The trial actor's process and host, while it runs. */
  pid?: number;
  hostname?: string;
}

/**
 * The checkpoint a (re)start begins from: an explicit clone, else the newest kept (`checkpoints`
 * is in the order they were made; after a PBT clone iterations can go backwards).
 */
export function restorePoint(trial: TrialRecord): StoredCheckpoint | undefined {
  return trial.restoreFrom ?? trial.checkpoints.at(-1);
}

/** What schedulers see; a trial whose resources are being reserved counts as RUNNING. */
export function viewOf(trial: TrialRecord, live = false): TrialView {
  return {
    id: trial.id,
    config: trial.config,
    status: live && trial.status !== 'RUNNING' ? 'RUNNING' : trial.status,
    lastResult: trial.lastResult,
    hasCheckpoint: trial.checkpoints.length > 0,
  };
}
