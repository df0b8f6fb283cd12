// The actor classes tune runs (trial runners), shipped by reference: workers import this module
// by file URL (dist/worker/actors.js) once per process. One TrialRunner actor runs one trial at a
// time; the driver (tuner/trial-executor.ts) calls start(spec), then next() once per result,
// and kills the actor when the trial ends (or reuses it with reset(spec), reuseActors).
import { hostname } from 'node:os';
import { installSession } from '../session.js';
import { ClassRunner } from './class-runner.js';
import { FunctionRunner, INJECTED } from './function-runner.js';
import type { RunnerEvent, TrialSpec } from './trial-spec.js';

export type { RunnerEvent, TrialSpec } from './trial-spec.js';

export class TrialRunner {
  private runner: FunctionRunner | ClassRunner | undefined;

  /** Load the trainable and get ready to run `spec`; the process it runs in. */
  async start(spec: TrialSpec): Promise<{ pid: number; hostname: string }> {
    this.runner = await makeRunner(spec);
    return { pid: process.pid, hostname: hostname() };
  }

  /** Run until the next result (or the end). */
  next(): Promise<RunnerEvent> {
    if (this.runner === undefined) return Promise.reject(new Error('TrialRunner.next() before start()'));
    return this.runner.next();
  }

  /** A checkpoint saved now (class trainables), or undefined when the trainable cannot save on demand. */
  async save(): Promise<string | undefined> {
    return this.runner instanceof ClassRunner ? this.runner.save() : undefined;
  }

  /** Run another trial in this actor (reuseActors); false if the trainable cannot reset. */
  async reset(spec: TrialSpec): Promise<boolean> {
    if (this.runner instanceof ClassRunner) return this.runner.reset(spec);
    installSession(undefined);
    this.runner = await makeRunner(spec);
    return true;
  }

  async stop(): Promise<void> {
    if (this.runner instanceof ClassRunner) await this.runner.cleanup();
    if (this.runner instanceof FunctionRunner) await this.runner.abort();
    installSession(undefined);
    this.runner = undefined;
  }
}

async function makeRunner(spec: TrialSpec): Promise<FunctionRunner | ClassRunner> {
  const factory = (await spec.trainable.local()) as (...args: unknown[]) => unknown;
  const target =
    spec.args !== undefined ? factory(...spec.args) : factory(...spec.injected.map((name) => INJECTED[name]));
  if (spec.kind === 'class') {
    return new ClassRunner(target as ConstructorParameters<typeof ClassRunner>[0], spec);
  }
  return new FunctionRunner(target as ConstructorParameters<typeof FunctionRunner>[0], spec);
}
