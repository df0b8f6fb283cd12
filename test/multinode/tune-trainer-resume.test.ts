// A @tray/train trainer tuned by @tray/tune whose trial is restarted, on a real local 2-CPU
// cluster (each trial a trainer of 2 worker actors of 1 CPU): the trial's actor SIGKILLed, or one
// of its train workers SIGKILLed, while the run waits at step 3 with step 2 checkpointed → the
// trial restarts with that checkpoint as the trainer's resumeFromCheckpoint (train.getCheckpoint()
// in the loop), its first iteration after the restart is 3, and its results count each iteration
// once. And a trial actor killed with no failures left takes its worker group's placement group
// with it (the GCS removes an actor's groups when it dies), so the next trial gets the CPUs.
// Lives in test/ because tune must not depend on train.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tray from '@tray/core';
import { cleanUp, isAlive, killAndWait, onCleanup, tempDir, waitFor } from '@tray/test-support';
import * as train from '@tray/train';
import * as tune from '@tray/tune';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { trainLoop } from '../fixtures/tune-trainer-loop.mjs';

beforeAll(async () => {
  await tray.init({ numCpus: 2, includeDashboard: false });
});

afterAll(async () => {
  await tray.shutdown();
});

afterEach(cleanUp);

/** The workers' and trial actors' pids this test saw: killed at the end even when it fails. */
function track(pidDir: string, experiment: string): () => number[] {
  const seen = new Set<number>();
  const look = () => {
    for (const f of readdirSync(pidDir)) if (f.startsWith('worker-')) seen.add(Number(f.slice(7)));
    for (const pid of trialPids(experiment)) seen.add(pid);
    return [...seen];
  };
  onCleanup(() => killAndWait(look().filter(isAlive)));
  return look;
}

/** The pids of the trial actors that reported results (result.json's pid field). */
function trialPids(experiment: string): number[] {
  if (!existsSync(experiment)) return [];
  const pids = new Set<number>();
  for (const d of readdirSync(experiment, { withFileTypes: true })) {
    const file = path.join(experiment, d.name, 'result.json');
    if (!d.isDirectory() || !existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').trim().split('\n').filter(Boolean))
      pids.add(JSON.parse(line).pid);
  }
  return [...pids];
}

/** Workers of the lr trial waiting at their hold step: [rank, pid]. */
function holding(pidDir: string, lr: number): [number, number][] {
  return readdirSync(pidDir)
    .filter((f) => f.startsWith(`holding-${lr}-`))
    .map((f) => f.split('-').slice(2).map(Number) as [number, number]);
}

function starts(pidDir: string, lr: number): number[] {
  const file = path.join(pidDir, `starts-${lr}.log`);
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').map(Number) : [];
}

const iterations = (r: tune.Result) => r.metricsHistory.map((m) => [m.training_iteration, m.step]);

async function killMidRun(victim: 'trial actor' | 'train worker') {
  const storagePath = tempDir('tune-trainer-resume-');
  const pidDir = tempDir('tune-trainer-resume-pids-');
  const experiment = path.join(storagePath, 'resume');
  const pids = track(pidDir, experiment);
  const trainer = new train.DataParallelTrainer(trainLoop(), {
    trainLoopConfig: { steps: 5, holdLr: 1, holdAt: 3, pidDir },
    scalingConfig: { numWorkers: 2 },
  });
  const fit = new tune.Tuner(trainer, {
    paramSpace: { train_loop_config: { lr: 1 } },
    tuneConfig: { metric: 'score', mode: 'max' },
    runConfig: { name: 'resume', storagePath, verbose: 0, failureConfig: { maxFailures: 1 } },
  }).fit();
  // Both workers wait at step 3: step 2 is reported, checkpointed and in the trial's results.
  await waitFor(() => holding(pidDir, 1).length === 2, {
    timeoutMs: 120_000,
    what: 'both workers to wait at step 3',
  });
  const [trialPid] = trialPids(experiment);
  const worker = holding(pidDir, 1).find(([rank]) => rank === 1)![1];
  process.kill(victim === 'trial actor' ? trialPid! : worker, 'SIGKILL');
  const grid = await fit;
  pids();

  expect(grid.errors.map((e) => e.message)).toEqual([]);
  const r = grid.get(0)!;
  expect(r.status).toBe('TERMINATED');
  // The restarted run started from the checkpoint of step 2 (train.getCheckpoint() in the loop)...
  expect(starts(pidDir, 1)).toEqual([0, 2]);
  // ...so the first iteration after the restart is 3, and each iteration is counted once.
  expect(iterations(r)).toEqual([
    [1, 1],
    [2, 2],
    [3, 3],
    [4, 4],
    [5, 5],
  ]);
  const lines = readFileSync(path.join(r.path, 'result.json'), 'utf8').trim().split('\n');
  expect(lines.map((l) => JSON.parse(l).training_iteration)).toEqual([1, 2, 3, 4, 5]);
  expect(lines.map((l) => JSON.parse(l).step)).toEqual([1, 2, 3, 4, 5]);
  expect(JSON.parse(readFileSync(path.join(r.checkpoint!.path, 'state.json'), 'utf8'))).toEqual({ step: 5 });
  if (victim === 'trial actor') expect(new Set(trialPids(experiment)).size).toBe(2);
  await waitFor(async () => ((await tray.availableResources()).CPU ?? 0) === 2, {
    timeoutMs: 60_000,
    what: 'both CPUs to be free after the experiment',
  });
}

it('a trainer trial whose actor is SIGKILLed mid-run resumes from its checkpoint', { timeout: 300_000 }, () =>
  killMidRun('trial actor'),
);

it(
  'a trainer trial whose train worker is SIGKILLed mid-run resumes from its checkpoint',
  {
    timeout: 300_000,
  },
  () => killMidRun('train worker'),
);

it('a trainer trial whose actor dies with no failures left frees its worker group’s CPUs for the next trial', {
  timeout: 300_000,
}, async () => {
  const storagePath = tempDir('tune-trainer-freed-');
  const pidDir = tempDir('tune-trainer-freed-pids-');
  const experiment = path.join(storagePath, 'freed');
  const pids = track(pidDir, experiment);
  const trainer = new train.DataParallelTrainer(trainLoop(), {
    trainLoopConfig: { steps: 3, holdLr: 1, holdAt: 2, pidDir },
    scalingConfig: { numWorkers: 2 },
  });
  const fit = new tune.Tuner(trainer, {
    paramSpace: { train_loop_config: { lr: tune.gridSearch([1, 2]) } },
    tuneConfig: { metric: 'score', mode: 'max', maxConcurrentTrials: 1 },
    runConfig: { name: 'freed', storagePath, verbose: 0 },
  }).fit();
  await waitFor(() => holding(pidDir, 1).length === 2, {
    timeoutMs: 120_000,
    what: 'the first trial’s workers to wait at step 2',
  });
  const [trialPid] = trialPids(experiment);
  process.kill(trialPid!, 'SIGKILL');
  // Its worker group held both CPUs: the second trial runs only if they were given back.
  const grid = await fit;
  pids();

  const lrOf = (r: tune.Result) => (r.config.train_loop_config as { lr: number }).lr;
  const results = [grid.get(0)!, grid.get(1)!];
  const dead = results.find((r) => lrOf(r) === 1)!;
  const next = results.find((r) => lrOf(r) === 2)!;
  expect(dead.status).toBe('ERROR');
  expect(grid.errors).toHaveLength(1);
  expect(next.status).toBe('TERMINATED');
  expect(iterations(next)).toEqual([
    [1, 1],
    [2, 2],
    [3, 3],
  ]);
  expect(starts(pidDir, 2)).toEqual([0]);
});
