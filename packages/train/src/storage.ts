// The run's directory in storage: storagePath/name holds checkpoint_NNNNNN directories (each the
// merge of every worker's files for one report) and trainer_state.json (the metrics history and
// the checkpoints kept), rewritten after every report so that a run whose driver died leaves what
// a later resumeFromCheckpoint needs. Workers copy their files into a partial directory that the
// driver renames once every worker has reported: a checkpoint directory is always complete.
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { removeDir } from './checkpoint.js';

export const STATE_FILE = 'trainer_state.json';

export type Metrics = Record<string, unknown>;

export interface KeptCheckpoint {
  path: string;
  metrics: Metrics;
  /** Order of creation (the NNNNNN of its name). */
  index: number;
}

/** Where worker `rank`'s files for report `report` of attempt `attempt` go before the merge. */
export function partialDir(runDir: string, attempt: number, report: number): string {
  return path.join(runDir, `.partial_${attempt}_${report}`);
}

export function checkpointName(index: number): string {
  return `checkpoint_${String(index).padStart(6, '0')}`;
}

/** The index after the highest checkpoint_NNNNNN already in the run directory (0 if none). */
export function nextCheckpointIndex(runDir: string): number {
  if (!existsSync(runDir)) return 0;
  let next = 0;
  for (const entry of readdirSync(runDir)) {
    const m = /^checkpoint_(\d{6,})$/.exec(entry);
    if (m) next = Math.max(next, Number(m[1]) + 1);
  }
  return next;
}

/**
 * Copies the files under `src` into `dest`, which other workers fill at the same time: each file
 * is copied to a name of its own and renamed into place, so two workers writing the same name
 * never see each other's half-made file (the last rename wins, as Ray's merge does).
 */
export function mergeInto(src: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  for (const entry of readdirSync(src, { withFileTypes: true })) {
    const from = path.join(src, entry.name);
    const to = path.join(dest, entry.name);
    if (entry.isDirectory()) mergeInto(from, to);
    else if (entry.isFile()) {
      const tmp = `${to}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      copyFileSync(from, tmp);
      renameSync(tmp, to);
    }
  }
}

/** Removes partial directories a run that died left behind. */
export function removePartials(runDir: string): void {
  if (!existsSync(runDir)) return;
  for (const entry of readdirSync(runDir))
    if (entry.startsWith('.partial_')) removeDir(path.join(runDir, entry));
}

/**
 * The checkpoints of a run: committed as reports complete, pruned to numToKeep — the best by
 * the score attribute (or the latest without one), and always the latest, which a restart needs.
 */
export class CheckpointManager {
  readonly kept: KeptCheckpoint[] = [];
  private next: number;

  constructor(
    private readonly runDir: string,
    private readonly numToKeep: number | undefined,
    private readonly scoreAttribute: string | undefined,
    private readonly scoreOrder: 'max' | 'min',
  ) {
    mkdirSync(runDir, { recursive: true });
    removePartials(runDir);
    this.next = nextCheckpointIndex(runDir);
  }

  /** Renames the merged partial directory into the next checkpoint_NNNNNN; returns the kept entry. */
  commit(partial: string, metrics: Metrics): KeptCheckpoint {
    const index = this.next++;
    const dir = path.join(this.runDir, checkpointName(index));
    removeDir(dir);
    renameSync(partial, dir);
    const entry = { path: dir, metrics, index };
    this.kept.push(entry);
    this.prune();
    return entry;
  }

  get latest(): KeptCheckpoint | undefined {
    return this.kept[this.kept.length - 1];
  }

  /** Best first; checkpoints without a numeric score come last, the newer first among equals. */
  private compare(a: KeptCheckpoint, b: KeptCheckpoint): number {
    const score = (c: KeptCheckpoint) => {
      const v = c.metrics[this.scoreAttribute!];
      return typeof v === 'number' && !Number.isNaN(v) ? v : undefined;
    };
    const sa = score(a);
    const sb = score(b);
    if (sa === undefined || sb === undefined) {
      if (sa === sb) return b.index - a.index;
      return sa === undefined ? 1 : -1;
    }
    if (sa !== sb) return this.scoreOrder === 'max' ? sb - sa : sa - sb;
    return b.index - a.index;
  }

  private prune(): void {
    if (this.numToKeep === undefined || this.kept.length <= this.numToKeep) return;
    const latest = this.latest!;
    const ranked =
      this.scoreAttribute === undefined
        ? [...this.kept].sort((a, b) => b.index - a.index)
        : [...this.kept].sort((a, b) => this.compare(a, b));
    const keep = new Set(ranked.slice(0, this.numToKeep));
    keep.add(latest);
    for (let i = this.kept.length - 1; i >= 0; i--) {
      const c = this.kept[i]!;
      if (!keep.has(c)) {
        removeDir(c.path);
        this.kept.splice(i, 1);
      }
    }
  }
}

/** Writes the run's state file atomically (a temporary file renamed over it). */
export function writeState(runDir: string, state: unknown): void {
  const file = path.join(runDir, STATE_FILE);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 1));
  renameSync(tmp, file);
}
