// Runs a function trainable inside its trial actor. The function runs on its own (a promise the
// actor does not await); tune.report() hands a result to the actor's pending next() call and
// then waits until the driver calls next() again — which it does only after applying the
// scheduler's decision. So a STOP takes effect at the report: the function never resumes.
import { Checkpoint } from '../checkpoint.js';
import {
  getCheckpoint,
  getContext,
  installSession,
  type ReportOptions,
  report,
  type TrialSession,
} from '../session.js';
import { Trainable } from '../trainable/trainable.js';
import { ResultClock } from './results.js';
import type { RunnerEvent, TrialSpec } from './trial-spec.js';

type Outcome = RunnerEvent | { type: 'error'; error: unknown };

export class FunctionRunner {
  private readonly clock: ResultClock;
  private started = false;
  private queued: Outcome | undefined;
  private waiter: ((o: Outcome) => void) | undefined;
  private resume: (() => void) | undefined;
  private abortReport: ((error: Error) => void) | undefined;
  private returned: Promise<unknown> | undefined;
  private reporting = false;
  private finished = false;

  constructor(
    private readonly fn: (config: Record<string, unknown>, session: TrialSession) => unknown,
    private readonly spec: TrialSpec,
  ) {
    this.clock = new ResultClock(spec);
  }

  /** The next result, or done; throws what the function threw. */
  async next(): Promise<RunnerEvent> {
    if (this.finished && this.queued === undefined) return { type: 'done' };
    const resume = this.resume;
    this.resume = undefined;
    this.abortReport = undefined;
    if (!this.started) this.start();
    else resume?.();
    const outcome =
      this.queued ??
      (await new Promise<Outcome>((resolve) => {
        this.waiter = resolve;
      }));
    this.queued = undefined;
    if (outcome.type === 'error') throw outcome.error;
    return outcome;
  }

  private emit(outcome: Outcome): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter !== undefined) waiter(outcome);
    else this.queued = outcome;
  }

  private start(): void {
    this.started = true;
    const restored = this.spec.restore === undefined ? undefined : new Checkpoint(this.spec.restore.path);
    const session: TrialSession = {
      report: (metrics, options) => this.report(metrics, options),
      getCheckpoint: () => restored,
      context: {
        trialId: this.spec.trialId,
        trialName: this.spec.trialName,
        trialDir: this.spec.trialDir,
        experimentName: this.spec.experimentName,
        numFailures: this.spec.numFailures,
      },
    };
    installSession(session);
    let returned: Promise<unknown>;
    try {
      returned = Promise.resolve(this.fn(this.spec.config, session));
    } catch (error) {
      returned = Promise.reject(error);
    }
    this.returned = returned;
    returned.then(
      async (value) => {
        // A returned object of metrics is the last result, as Ray's function trainables.
        if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
          let result: Record<string, unknown>;
          try {
            result = this.clock.fill({ ...(value as Record<string, unknown>), done: true });
          } catch (error) {
            this.finished = true;
            this.emit({ type: 'error', error });
            return;
          }
          this.finished = true;
          this.emit({ type: 'result', result });
          return;
        }
        this.finished = true;
        this.emit({ type: 'done' });
      },
      (error) => {
        this.finished = true;
        this.emit({ type: 'error', error });
      },
    );
  }

  /**
   * The trial ended while the function is parked in report() (a STOP): that report throws, so the
   * function unwinds and frees what it holds (a trainer's worker group); resolves once it returned.
   */
  async abort(): Promise<void> {
    const abort = this.abortReport;
    this.abortReport = undefined;
    this.resume = undefined;
    if (abort === undefined || this.returned === undefined) return;
    abort(new Error('the trial was stopped (tune.report() does not return in a stopped trial)'));
    await this.returned.catch(() => {});
  }

  private async report(metrics: Record<string, unknown>, options?: ReportOptions): Promise<void> {
    if (this.reporting) {
      throw new Error(
        'tune.report() was called again before the previous call resolved: await each tune.report().',
      );
    }
    this.reporting = true;
    try {
      const checkpoint =
        options?.checkpoint === undefined ? undefined : await this.clock.store(options.checkpoint);
      const result = this.clock.fill(metrics, checkpoint);
      await new Promise<void>((resolve, reject) => {
        this.resume = resolve;
        this.abortReport = reject;
        this.emit({ type: 'result', result, checkpoint });
      });
    } finally {
      this.reporting = false;
    }
  }
}

const tune = { report, getCheckpoint, getContext, Checkpoint, Trainable };

/** The values bound in the trainable's factory, by name (trainable/define.ts INJECTED_NAMES). */
export const INJECTED: Record<string, unknown> = {
  tune,
  report,
  getCheckpoint,
  getContext,
  Checkpoint,
  Trainable,
};
