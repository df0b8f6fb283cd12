// The class form of a trainable (Ray's tune.Trainable): the Tuner calls setup(config) once, then
// step() once per result; saveCheckpoint(dir)/loadCheckpoint(dir) move its state through a
// directory (for fault tolerance, PAUSE and PBT's exploit); resetConfig(config) lets reuseActors
// give the same actor a new trial. Extending this class is optional: any class with step() is
// a class trainable.

export type StepResult = Record<string, unknown> & { done?: boolean };

export class Trainable {
  /** The trial's config, as given to setup. */
  config: Record<string, unknown> = {};

  constructor(config?: Record<string, unknown>) {
    if (config !== undefined) this.config = config;
  }

  setup(_config: Record<string, unknown>): void | Promise<void> {}

  step(): StepResult | Promise<StepResult> {
    throw new Error(`${this.constructor.name}.step(): a class trainable must implement step()`);
  }

  /** Write the state into `dir` (an empty directory the Tuner keeps as the checkpoint). */
  saveCheckpoint(_dir: string): void | Promise<void> {}

  loadCheckpoint(_dir: string): void | Promise<void> {}

  /** Take a new config without a restart (reuseActors); false if it cannot. */
  resetConfig(_config: Record<string, unknown>): boolean | Promise<boolean> {
    return false;
  }

  cleanup(): void | Promise<void> {}
}
