// tune.report / tune.getCheckpoint / tune.getContext: what a function trainable calls from inside
// its trial. The trial's runner (worker/function-runner.ts) installs a session on globalThis under
// a registered symbol, so that every copy of this module in the worker process (the actor bundle,
// @tray/tune's ESM or CJS build required by user code) reaches the same one.
import type { Checkpoint } from './checkpoint.js';

export interface ReportOptions {
  /** A directory of files to keep with this result (copied into the trial's storage dir). */
  checkpoint?: Checkpoint | { path: string } | string;
}

/** What a running trial knows about itself. */
export interface TrialContext {
  trialId: string;
  trialName: string;
  /** The trial's directory under storagePath/name. */
  trialDir: string;
  experimentName: string;
  /** How many times this trial has been restarted after failing (0 the first time). */
  numFailures: number;
}

export interface TrialSession {
  report(metrics: Record<string, unknown>, options?: ReportOptions): Promise<void>;
  getCheckpoint(): Checkpoint | undefined;
  context: TrialContext;
}

const SESSION = Symbol.for('tray.tune.session');

type WithSession = { [SESSION]?: TrialSession };

export function installSession(session: TrialSession | undefined): void {
  (globalThis as WithSession)[SESSION] = session;
}

function current(what: string): TrialSession {
  const session = (globalThis as WithSession)[SESSION];
  if (session === undefined) {
    throw new Error(
      `tune.${what}() was called outside a Tune trial: call it from the trainable given to new tune.Tuner(...), ` +
        'which runs inside a trial actor.',
    );
  }
  return session;
}

/**
 * Report one result (a flat or nested object of metrics), optionally with a checkpoint. Resolves
 * once the driver has applied its scheduler's decision; a trial the scheduler stops never resumes.
 */
export function report(metrics: Record<string, unknown>, options?: ReportOptions): Promise<void> {
  return current('report').report(metrics, options);
}

/** The checkpoint this trial was (re)started from, or undefined on a fresh start. */
export function getCheckpoint(): Checkpoint | undefined {
  return current('getCheckpoint').getCheckpoint();
}

export function getContext(): TrialContext {
  return current('getContext').context;
}
