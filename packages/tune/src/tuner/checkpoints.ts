// A trial's kept checkpoints: recording a new one, dropping those beyond numToKeep (the newest
// is always kept, so a failed trial can restart from it; the others by score when
// checkpointScoreAttribute is set, else by age), and PBT's clone of another trial's checkpoint.
import { cpSync } from 'node:fs';
import path from 'node:path';
import { removeCheckpoint } from '../storage/trial-files.js';
import { checkpointName } from '../worker/trial-spec.js';
import type { ResolvedOptions } from './config.js';
import type { StoredCheckpoint, TrialRecord } from './trial.js';

function indexOf(name: string): number {
  const n = Number(name.replace(/^checkpoint_/, ''));
  return Number.isInteger(n) ? n : -1;
}

export function recordCheckpoint(
  trial: TrialRecord,
  trialDir: string,
  stored: string,
  result: Record<string, unknown>,
  options: ResolvedOptions,
): void {
  const name = path.basename(stored);
  const attr = options.checkpointScoreAttribute;
  const score = attr === undefined ? undefined : Number(result[attr]);
  trial.checkpoints.push({
    name,
    iteration: Number(result.training_iteration),
    timeTotal: Number(result.time_total_s),
    ...(score === undefined || !Number.isFinite(score) ? {} : { score }),
  });
  trial.nextCheckpointIndex = Math.max(trial.nextCheckpointIndex, indexOf(name) + 1);
  trial.restoreFrom = undefined;
  prune(trial, trialDir, options);
}

function prune(trial: TrialRecord, trialDir: string, options: ResolvedOptions): void {
  const keep = options.numToKeep;
  if (keep <= 0 || trial.checkpoints.length <= keep) return;
  const newest = trial.checkpoints.at(-1)!;
  const others = trial.checkpoints.slice(0, -1);
  const higherFirst = options.checkpointScoreOrder === 'max';
  if (options.checkpointScoreAttribute !== undefined) {
    // Best first; checkpoints without the score go last (dropped first).
    others.sort((a, b) => {
      if (a.score === undefined) return b.score === undefined ? 0 : 1;
      if (b.score === undefined) return -1;
      return higherFirst ? b.score - a.score : a.score - b.score;
    });
  } else others.reverse();
  const kept = new Set([newest, ...others.slice(0, keep - 1)]);
  for (const c of trial.checkpoints) if (!kept.has(c)) removeCheckpoint(trialDir, c.name);
  trial.checkpoints = trial.checkpoints.filter((c) => kept.has(c));
}

/** Copy `from`'s checkpoint into `trial`'s dir; the copy, to restart `trial` from. */
export function cloneCheckpoint(
  trial: TrialRecord,
  trialDir: string,
  source: StoredCheckpoint,
  sourceDir: string,
): StoredCheckpoint {
  const name = checkpointName(trial.nextCheckpointIndex++);
  cpSync(path.join(sourceDir, source.name), path.join(trialDir, name), { recursive: true });
  const copy: StoredCheckpoint = { ...source, name };
  trial.checkpoints.push(copy);
  trial.restoreFrom = copy;
  return copy;
}
