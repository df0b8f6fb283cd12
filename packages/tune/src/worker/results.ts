// The fields a trial runner adds to every reported result (Ray's auto-filled fields), and the
// copy of a reported checkpoint into the trial's storage directory.
import { cp, mkdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { checkpointDir } from '../checkpoint.js';
import { checkpointName, type TrialSpec } from './trial-spec.js';

/** The host's name, read once per process (os.hostname() is a system call). */
const HOST = hostname();

export class ResultClock {
  private readonly started = Date.now();
  private last = this.started;
  private iterations = 0;
  private checkpointIndex: number;

  constructor(private readonly spec: TrialSpec) {
    this.checkpointIndex = spec.checkpointIndex;
  }

  /** The iteration the next result will have. */
  get nextIteration(): number {
    return (this.spec.restore?.iteration ?? 0) + this.iterations + 1;
  }

  fill(metrics: Record<string, unknown>, checkpoint?: string): Record<string, unknown> {
    if (metrics === null || typeof metrics !== 'object' || Array.isArray(metrics)) {
      throw new TypeError(
        `tune.report(metrics): metrics must be an object such as { loss: 0.1 }, got ${JSON.stringify(metrics)}.`,
      );
    }
    const now = Date.now();
    this.iterations++;
    const result: Record<string, unknown> = {
      ...metrics,
      trial_id: this.spec.trialId,
      training_iteration: (this.spec.restore?.iteration ?? 0) + this.iterations,
      time_this_iter_s: (now - this.last) / 1000,
      time_total_s: (this.spec.restore?.timeTotal ?? 0) + (now - this.started) / 1000,
      time_since_restore: (now - this.started) / 1000,
      iterations_since_restore: this.iterations,
      timestamp: Math.floor(now / 1000),
      date: new Date(now).toISOString(),
      pid: process.pid,
      hostname: HOST,
      done: metrics.done === true,
    };
    if (checkpoint !== undefined) result.checkpoint_dir_name = path.basename(checkpoint);
    this.last = now;
    return result;
  }

  /** Copy a reported checkpoint into the trial dir; returns the stored copy's path. */
  async store(value: unknown): Promise<string> {
    const source = checkpointDir(value, 'tune.report(metrics, { checkpoint })');
    const target = path.join(this.spec.trialDir, checkpointName(this.checkpointIndex++));
    if (path.resolve(source) !== path.resolve(target)) {
      // A restarted trial may find a half-copied directory of this number from before it died.
      await rm(target, { recursive: true, force: true });
      await mkdir(path.dirname(target), { recursive: true });
      await cp(source, target, { recursive: true });
    }
    return target;
  }

  /** A fresh directory in the trial dir for a class trainable's saveCheckpoint(dir). */
  async fresh(): Promise<string> {
    const target = path.join(this.spec.trialDir, checkpointName(this.checkpointIndex++));
    await rm(target, { recursive: true, force: true });
    await mkdir(target, { recursive: true });
    return target;
  }
}
