// experiment_state.json: everything a restored driver needs (options, trials with their status,
// configs, last results and checkpoints, searcher and scheduler state), written after every
// change through a temporary file and a rename, so a driver killed at any moment leaves either
// the previous state or the new one, never half of one.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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

export function writeState(dir: string, state: ExperimentState): void {
  const file = path.join(dir, STATE_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  state.updatedAt = new Date().toISOString();
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, file);
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
