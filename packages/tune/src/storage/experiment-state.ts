// experiment_state.json: everything a restored driver needs (options, trials with their status,
// configs, last results and checkpoints, searcher and scheduler state), written after every
// change through a temporary file and a rename, so a driver killed at any moment leaves either
// the previous state or the new one, never half of one. Writes run one at a time off the event
// loop (a rename on a busy disk took 2 ms, more than the rest of a result's handling); changes
// made while one runs go into the next, so the file is at most one write behind.
import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TrialRecord } from '../tuner/trial.js';

export const STATE_FILE = 'experiment_state.json';
const VERSION = 1;

export interface ExperimentState {
  version: number;
  name: string;
  experimentId: string;
  trainable: { name: string; kind: 'function' | 'class' };
  /** The options that survive a restore (JSON-serializable ones). */
  options: Record<string, unknown>;
  searcher: { className: string; state?: unknown; finished: boolean };
  scheduler: { className: string; state?: unknown };
  nextTrialIndex: number;
  /** Milliseconds of the time budget spent before this run. */
  elapsedMs: number;
  trials: TrialRecord[];
  updatedAt: string;
}

export class StateWriter {
  private chain: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;

  constructor(
    private readonly dir: string,
    private readonly snapshot: () => ExperimentState,
  ) {}

  /** Write the state as it is when the write starts; resolves once a write that includes now's state is on disk. */
  write(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    const next = this.chain.then(() => {
      this.queued = undefined;
      const state = this.snapshot();
      state.updatedAt = new Date().toISOString();
      const file = path.join(this.dir, STATE_FILE);
      const tmp = `${file}.tmp-${process.pid}`;
      return writeFile(tmp, JSON.stringify(state)).then(() => rename(tmp, file));
    });
    this.queued = next;
    this.chain = next.catch(() => {});
    return next;
  }
}

export function hasState(dir: string): boolean {
  return existsSync(path.join(dir, STATE_FILE));
}

export function readState(dir: string): ExperimentState {
  const file = path.join(dir, STATE_FILE);
  if (!existsSync(file)) {
    throw new Error(
      `Tuner.restore(${JSON.stringify(dir)}): no ${STATE_FILE} there. Pass the experiment directory ` +
        '(storagePath/name) of an earlier fit(); Tuner.canRestore(path) tells whether one is there.',
    );
  }
  let state: ExperimentState;
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as ExperimentState;
  } catch (error) {
    throw new Error(`Tuner.restore: ${file} is not valid JSON (${(error as Error).message}).`);
  }
  if (
    state === null ||
    typeof state !== 'object' ||
    state.version !== VERSION ||
    !Array.isArray(state.trials)
  ) {
    throw new Error(
      `Tuner.restore: ${file} is not an experiment state this version of @tray/tune wrote (version ${VERSION}).`,
    );
  }
  return state;
}

export { VERSION as STATE_VERSION };
