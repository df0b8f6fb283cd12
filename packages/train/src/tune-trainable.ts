// A DataParallelTrainer as a Tune trainable (Ray's Tuner(trainer, param_space={train_loop_config})).
// trainer.asTrainable() describes it as data — this module's export, the loop and the options —
// and the Tuner's trial actor imports the module by URL and calls trainerTrial(...args) to get a
// function trainable: each trial runs the trainer with trainLoopConfig merged with the trial's
// train_loop_config (or trainLoopConfig) and hands every report of rank 0 to the trial's session.
// A restarted trial (its actor or a worker died, or Tuner.restore resumed it) starts the trainer
// from the trial's newest checkpoint, as resumeFromCheckpoint: train.getCheckpoint() in the loop
// returns it, and Tune numbers the results on from the checkpoint's iteration.
// Tune duck-types the description, so neither package imports the other.
import type * as tray from '@tray/core';
import type { ResolvedOptions } from './config.js';
import { TrainRun } from './run.js';

/** What @tray/tune's Tuner accepts from trainer.asTrainable(). */
export interface TrainerTrainable {
  /** File URL of the module a trial actor imports (dist/worker/tune-trial.js). */
  module: string;
  exportName: 'trainerTrial';
  /** trainerTrial's arguments: plain data and the loop's remote function. */
  args: [tray.RemoteFunction, boolean, ResolvedOptions];
  name: string;
  /** The trial actor's own resources: none; the worker group asks for its own. */
  resources: Record<string, number>;
}

interface Session {
  report(metrics: Record<string, unknown>, options?: { checkpoint?: string }): Promise<void>;
  /** The trial's checkpoint to restart from (set when Tune restarts or restores the trial). */
  getCheckpoint(): { path: string } | undefined;
  context: { trialDir: string };
}

/** The function trainable a trial runs: one fit() of the trainer with the trial's config. */
export function trainerTrial(loop: tray.RemoteFunction, byReference: boolean, options: ResolvedOptions) {
  return async (config: Record<string, unknown>, session: Session) => {
    const own = config.train_loop_config ?? config.trainLoopConfig ?? {};
    if (own === null || typeof own !== 'object' || Array.isArray(own))
      throw new TypeError(
        `DataParallelTrainer trial: train_loop_config in the param space must be an object; got ${JSON.stringify(own)}`,
      );
    const base = (options.trainLoopConfig ?? {}) as Record<string, unknown>;
    const resolved: ResolvedOptions = {
      ...options,
      trainLoopConfig: { ...base, ...own },
      storagePath: session.context.trialDir,
      name: 'train',
      verbose: false,
      // The trial's own checkpoint wins over the trainer's resumeFromCheckpoint (the first start).
      resumeFromCheckpoint: session.getCheckpoint()?.path ?? options.resumeFromCheckpoint,
    };
    const run = new TrainRun(loop, byReference, resolved, async (metrics, checkpoint) => {
      // Tune fills its own training_iteration, timestamp and time_total_s for the trial.
      const result = { ...metrics };
      for (const key of ['training_iteration', 'timestamp', 'time_total_s']) delete result[key];
      await session.report(result, checkpoint === undefined ? undefined : { checkpoint });
    });
    const result = await run.execute();
    if (result.error !== undefined) throw result.error;
  };
}
