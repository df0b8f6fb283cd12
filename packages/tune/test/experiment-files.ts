// Reading an experiment directory as a user would after (or during) a run: the state file and
// each trial's result.json lines, so tests assert on what tune wrote, not on its internals.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface StateTrial {
  id: string;
  dirName: string;
  status: string;
  config: Record<string, unknown>;
  numResults: number;
  numFailures: number;
  error?: string;
  checkpoints: { name: string; iteration: number }[];
}

export function readStateFile(dir: string): { trials: StateTrial[] } | undefined {
  const file = path.join(dir, 'experiment_state.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8'));
}

export function resultLines(trialDir: string): Record<string, unknown>[] {
  const file = path.join(trialDir, 'result.json');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}
