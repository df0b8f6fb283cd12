// DataParallelTrainer: the training function run on numWorkers workers at once (Ray Train's
// data-parallel trainer). The constructor checks every option and makes the function shippable
// (so a bad option or an unshippable function fails there); fit() runs the attempts (run.ts) and
// returns a Result whose error is set, not thrown, when the run failed after its retries.
import * as tray from '@tray/core';
import { type ResolvedOptions, resolveOptions, type TrainerOptions } from './config.js';
import { TUNE_TRIAL_MODULE } from './exec/remote.js';
import { type Result, TrainRun } from './run.js';
import type { TrainerTrainable } from './tune-trainable.js';

export type TrainLoop<C> = (config: C) => unknown;

/**
 * The user's loop as a factory `(train) => loop`: inside it `train` is the train API of the
 * worker (as `tray` is the worker's tray API), so a loop written against
 * `import * as train from '@tray/train'` runs as written. Other names it uses must be globals
 * or come through trainLoopConfig.
 */
function shippable(loop: Function): tray.RemoteFunction {
  const source = Function.prototype.toString.call(loop);
  let factory: Function;
  try {
    factory = new Function(`return (train) => (${source});`)();
  } catch (error) {
    throw new TypeError(
      `DataParallelTrainer: the training function's source does not compile on its own (${(error as Error).message}); ` +
        'pass an arrow function or a function expression, not a method',
    );
  }
  try {
    return tray.remote(factory as (train: unknown) => unknown, { name: loop.name || 'trainLoop' });
  } catch (error) {
    throw new TypeError(
      `DataParallelTrainer: the training function cannot run on the workers: ${(error as Error).message} ` +
        '(values from the driver go in through trainLoopConfig)',
    );
  }
}

export class DataParallelTrainer<C = Record<string, unknown>> {
  private readonly loop: tray.RemoteFunction;
  private readonly byReference: boolean;
  private readonly options: ResolvedOptions;

  /**
   * @param trainLoop the function each worker runs with trainLoopConfig; or a tray.remote
   *   function shipped by reference ({ module, exportName }) whose module imports '@tray/train'.
   */
  constructor(trainLoop: TrainLoop<C> | tray.RemoteFunction, options: TrainerOptions<C> = {}) {
    this.options = resolveOptions(options);
    if (trainLoop instanceof tray.RemoteFunction) {
      this.loop = trainLoop;
      this.byReference = true;
    } else if (typeof trainLoop === 'function') {
      this.loop = shippable(trainLoop);
      this.byReference = false;
    } else {
      throw new TypeError(
        `DataParallelTrainer: the first argument must be the training function (config) => ...; got ${String(trainLoop)}`,
      );
    }
  }

  /** Runs the training to its end; needs tray.init() first. */
  async fit(): Promise<Result> {
    if (!tray.isInitialized())
      throw new Error(
        'DataParallelTrainer.fit: call tray.init() first (the workers are actors of the cluster)',
      );
    return new TrainRun(this.loop, this.byReference, this.options).execute();
  }

  /**
   * This trainer as a Tune trainable: `new tune.Tuner(trainer, { paramSpace: { train_loop_config:
   * {...} } })` calls it. Each trial runs the trainer with trainLoopConfig merged with the
   * trial's train_loop_config, in the trial's directory; rank 0's reports are the trial's results.
   * A trial restarted by Tune resumes the trainer from the trial's newest checkpoint; the
   * trainer's own resumeFromCheckpoint is where every trial's first run starts.
   */
  asTrainable(): TrainerTrainable {
    if (Object.keys(this.options.datasets).length > 0)
      throw new TypeError(
        'DataParallelTrainer.asTrainable: a trainer with datasets cannot run as a Tune trial yet; ' +
          'load the data inside the training function instead',
      );
    return {
      module: TUNE_TRIAL_MODULE,
      exportName: 'trainerTrial',
      args: [this.loop, this.byReference, this.options],
      name: this.options.name,
      resources: { CPU: 0 },
    };
  }
}
