// Runs a class trainable inside its trial actor: setup(config) (and loadCheckpoint(dir) on a
// restore) before the first step, one step() per next(), saveCheckpoint(dir) every
// checkpointFrequency steps, at the end with checkpointAtEnd, and whenever the driver asks (PAUSE,
// PBT's exploit).
import type { StepResult } from '../trainable/trainable.js';
import { ResultClock } from './results.js';
import type { RunnerEvent, TrialSpec } from './trial-spec.js';

interface Instance {
  setup?(config: Record<string, unknown>): unknown;
  step(): StepResult | Promise<StepResult>;
  saveCheckpoint?(dir: string): unknown;
  loadCheckpoint?(dir: string): unknown;
  resetConfig?(config: Record<string, unknown>): unknown;
  cleanup?(): unknown;
  config?: Record<string, unknown>;
}

export class ClassRunner {
  private instance: Instance | undefined;
  private clock: ResultClock;
  private ended = false;

  constructor(
    private readonly Cls: new (config: Record<string, unknown>) => Instance,
    private spec: TrialSpec,
  ) {
    this.clock = new ResultClock(spec);
  }

  async next(): Promise<RunnerEvent> {
    if (this.ended) return { type: 'done' };
    const instance = await this.ready();
    const metrics = await instance.step();
    if (metrics === null || typeof metrics !== 'object' || Array.isArray(metrics)) {
      throw new TypeError(
        `${this.Cls.name}.step() must return an object of metrics such as { loss: 0.1 }, got ${JSON.stringify(metrics)}.`,
      );
    }
    const iteration = this.clock.nextIteration;
    const freq = this.spec.checkpointFrequency;
    const done = metrics.done === true;
    let checkpoint: string | undefined;
    if ((freq > 0 && iteration % freq === 0) || (done && this.spec.checkpointAtEnd))
      checkpoint = await this.save();
    if (done) this.ended = true;
    return { type: 'result', result: this.clock.fill(metrics, checkpoint), checkpoint };
  }

  /** Save now; the stored checkpoint's path. */
  async save(): Promise<string | undefined> {
    const instance = await this.ready();
    if (typeof instance.saveCheckpoint !== 'function') return undefined;
    const dir = await this.clock.fresh();
    await instance.saveCheckpoint(dir);
    return dir;
  }

  /** A new trial on this instance (reuseActors): false if the class cannot take a new config. */
  async reset(spec: TrialSpec): Promise<boolean> {
    const instance = await this.ready();
    if (typeof instance.resetConfig !== 'function') return false;
    if ((await instance.resetConfig(spec.config)) !== true) return false;
    instance.config = spec.config;
    this.spec = spec;
    this.clock = new ResultClock(spec);
    this.ended = false;
    if (spec.restore !== undefined) await instance.loadCheckpoint?.(spec.restore.path);
    return true;
  }

  async cleanup(): Promise<void> {
    await this.instance?.cleanup?.();
  }

  private async ready(): Promise<Instance> {
    if (this.instance !== undefined) return this.instance;
    const instance = new this.Cls(this.spec.config);
    instance.config = this.spec.config;
    await instance.setup?.(this.spec.config);
    if (this.spec.restore !== undefined) {
      if (typeof instance.loadCheckpoint !== 'function') {
        throw new TypeError(
          `${this.Cls.name} has no loadCheckpoint(dir), so its trial cannot be restored from a checkpoint.`,
        );
      }
      await instance.loadCheckpoint(this.spec.restore.path);
    }
    this.instance = instance;
    return instance;
  }
}
