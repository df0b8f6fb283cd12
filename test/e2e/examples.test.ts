// Every program in examples/ runs on a fresh local cluster and prints what its comments promise.
import path from 'node:path';
import { runScript } from '@tray/test-support';
import { describe, expect, it } from 'vitest';

const example = (name: string) => path.resolve(import.meta.dirname, '..', '..', 'examples', name);

describe('examples', () => {
  it('quickstart.mjs prints the four squares', async () => {
    const run = await runScript(example('quickstart.mjs'));
    expect(run.stdout.trim()).toBe('[ 0, 1, 4, 9 ]');
    expect(run.code).toBe(0);
  });

  it('placement-groups.mjs: tasks in the two bundles, a task outside waits until removal', async () => {
    const run = await runScript(example('placement-groups.mjs'));
    expect(run.stdout.trim().split('\n')).toEqual(['[ 9, 16 ]', '0', '25']);
    expect(run.code).toBe(0);
  });

  it('data-pipeline.mjs: four Parquet files, and the mean id of each bucket', async () => {
    const run = await runScript(example('data-pipeline.mjs'), { timeoutMs: 120_000 });
    expect(run.stdout.trim().split('\n'), run.stderr).toEqual(['4', '[ 498, 499, 500, 501 ]']);
    expect(run.code).toBe(0);
  });

  it('tune-search.mjs: four trials, and x = 2 the best', async () => {
    const run = await runScript(example('tune-search.mjs'), { timeoutMs: 120_000 });
    expect(run.stdout.trim().split('\n').slice(-2), run.stderr).toEqual(['4', '2']);
    expect(run.stdout).toContain('[tune] 4 trials in');
    expect(run.code).toBe(0);
  });

  it('counters.mjs: four actors, each incremented three times', async () => {
    const run = await runScript(example('counters.mjs'));
    expect(run.stdout.trim()).toBe('[ 3, 3, 3, 3 ]');
    expect(run.code).toBe(0);
  });
});
