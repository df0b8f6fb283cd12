// The interface every trial scheduler implements (Ray Tune's TrialScheduler): FIFO, ASHA,
// HyperBand, MedianStoppingRule and PopulationBasedTraining, one per file in this folder. The
// Tuner calls it on each result and lets it decide whether the trial continues, pauses, stops,
// or (PBT) is replaced by a clone of a better trial. Plain synchronous logic, no I/O, no clock
// of its own (times come in the results), so every scheduler is tested against a hand-computed
// decision sequence.
import type { Mode, TrialConfig, TrialResult } from '../types.js';

export type TrialStatus = 'PENDING' | 'RUNNING' | 'PAUSED' | 'TERMINATED' | 'ERROR';

/** What a scheduler sees of a trial. */
export interface TrialView {
  readonly id: string;
  readonly config: TrialConfig;
  readonly status: TrialStatus;
  readonly lastResult?: TrialResult;
  /** Whether the trial has reported a checkpoint (PBT can clone only those). */
  readonly hasCheckpoint: boolean;
}

/** The Tuner as a scheduler sees it. */
export interface SchedulerContext {
  trials(): readonly TrialView[];
  /**
   * Stop a trial other than the one whose result is being decided (HyperBand stops the PAUSED
   * losers of a halving and the paused rest of a finished bracket). The Tuner ends that trial as
   * it would on a STOP decision. Optional for the schedulers that never need it; HyperBandScheduler
   * says so clearly when it is missing.
   */
  stopTrial?(trialId: string): void;
}

/**
 * CONTINUE and STOP as Ray's; PAUSE frees the trial's resources until chooseTrialToRun picks it
 * again (HyperBand); an exploit (PBT) stops the trial and restarts it from `fromTrialId`'s latest
 * checkpoint with `config`.
 */
export type SchedulerDecision =
  | 'CONTINUE'
  | 'PAUSE'
  | 'STOP'
  | { exploit: { fromTrialId: string; config: TrialConfig } };

export interface TrialScheduler {
  /** Called once before the first trial; false if the scheduler already has a conflicting metric/mode. */
  setSearchProperties(metric: string, mode: Mode): boolean;
  onTrialAdd(ctx: SchedulerContext, trial: TrialView): void;
  onTrialResult(ctx: SchedulerContext, trial: TrialView, result: TrialResult): SchedulerDecision;
  onTrialComplete(ctx: SchedulerContext, trial: TrialView, result?: TrialResult): void;
  onTrialError(ctx: SchedulerContext, trial: TrialView): void;
  onTrialRemove(ctx: SchedulerContext, trial: TrialView): void;
  /** The PENDING or PAUSED trial to run next when resources free, or undefined for none. */
  chooseTrialToRun(ctx: SchedulerContext): TrialView | undefined;
  /** JSON-serializable state for the experiment checkpoint (Tuner.restore). */
  saveState?(): unknown;
  restoreState?(state: unknown): void;
}
