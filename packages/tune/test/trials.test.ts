// Trials on a real cluster as a user would see them fail and wait: a trial whose actor process is
// SIGKILLed restarts from its last checkpoint (no iteration lost or repeated, the new process
// reports what it restored); trials that ask for more CPUs than are free queue until a running
// trial frees them, never running more at once than the 2 CPUs hold.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tray from '@tray/core';
import { cleanUp, isAlive, tempDir, waitFor } from '@tray/test-support';
import * as tune from '@tray/tune';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { readStateFile, resultLines } from './experiment-files.js';

type Session = {
  report: typeof tune.report;
  getCheckpoint: typeof tune.getCheckpoint;
  context: tune.TrialContext;
};

beforeAll(async () => {
  await tray.init({ numCpus: 2, includeDashboard: false });
});

afterAll(async () => {
  await tray.shutdown();
});

afterEach(cleanUp);

/** Counts down from 8 with a checkpoint per step; a restart continues from the checkpoint. */
async function countdown(config: { steps: number; stepMs: number }, session: Session) {
  const fs = require('node:fs');
  const p = require('node:path');
  const checkpoint = session.getCheckpoint();
  const restoredFrom = checkpoint
    ? JSON.parse(fs.readFileSync(p.join(checkpoint.path, 'state.json'), 'utf8')).t
    : 0;
  for (let t = restoredFrom + 1; t <= config.steps; t++) {
    await new Promise((r) => setTimeout(r, config.stepMs));
    // Written in the trial's own dir, so a kill mid-step leaves nothing outside the experiment.
    const dir = fs.mkdtempSync(p.join(session.context.trialDir, 'scratch-'));
    fs.writeFileSync(p.join(dir, 'state.json'), JSON.stringify({ t }));
    await session.report({ t, restored_from: restoredFrom }, { checkpoint: dir });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

it('a trial actor SIGKILLed mid-run restarts from its last checkpoint and finishes', async () => {
  const storagePath = tempDir('tune-kill-');
  const dir = path.join(storagePath, 'kill');
  const fit = new tune.Tuner(countdown, {
    paramSpace: { steps: 8, stepMs: 150 },
    runConfig: {
      name: 'kill',
      storagePath,
      verbose: 0,
      failureConfig: { maxFailures: 1 },
      checkpointConfig: { numToKeep: 2 },
    },
  }).fit();
  const victim = await waitFor(
    () => {
      const trial = readStateFile(dir)?.trials[0];
      const lines = trial === undefined ? [] : resultLines(path.join(dir, trial.dirName));
      return lines.length >= 3 ? (lines.at(-1)!.pid as number) : undefined;
    },
    { timeoutMs: 90_000, what: 'the trial to report 3 results' },
  );
  process.kill(victim, 'SIGKILL');
  const grid = await fit;
  expect(isAlive(victim)).toBe(false);
  const result = grid.get(0)!;
  expect(result.status).toBe('TERMINATED');
  expect(result.error).toBeUndefined();
  const history = result.metricsHistory;
  expect(history.map((r) => r.training_iteration)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  expect(history.map((r) => r.t)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  // After the kill: another process, which started from the checkpoint of the iteration before it.
  const after = history.filter((r) => r.pid !== victim);
  expect(after.length).toBeGreaterThan(0);
  expect(after.length).toBeLessThan(8);
  expect(after[0]!.restored_from).toBe((after[0]!.training_iteration as number) - 1);
  expect(after[0]!.restored_from).toBeGreaterThanOrEqual(3);
  const state = readStateFile(dir)!;
  expect(state.trials[0]!.numFailures).toBe(1);
  expect(state.trials[0]!.checkpoints.map((c) => c.iteration)).toEqual([7, 8]);
  expect(result.checkpoint!.path).toBe(path.join(result.path, state.trials[0]!.checkpoints[1]!.name));
});

it('without maxFailures, a trial whose actor dies is ERROR and says so', async () => {
  const storagePath = tempDir('tune-kill-');
  const dir = path.join(storagePath, 'die');
  const fit = new tune.Tuner(countdown, {
    paramSpace: { steps: 50, stepMs: 100 },
    runConfig: { name: 'die', storagePath, verbose: 0 },
  }).fit();
  const victim = await waitFor(
    () => {
      const trial = readStateFile(dir)?.trials[0];
      return trial === undefined ? undefined : (resultLines(path.join(dir, trial.dirName))[0]?.pid as number);
    },
    { timeoutMs: 90_000, what: 'the first result' },
  );
  process.kill(victim, 'SIGKILL');
  const grid = await fit;
  expect(grid.get(0)!.status).toBe('ERROR');
  expect(grid.errors[0]!.message).toMatch(/died|crashed|unavailable/i);
});

/** The most trials whose [first start, last result] intervals overlap at one moment. */
function maxOverlap(intervals: [number, number][]): number {
  const edges = intervals.flatMap(([a, b]) => [
    [a, 1],
    [b, -1],
  ]);
  edges.sort((x, y) => x[0]! - y[0]! || x[1]! - y[1]!);
  let now = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (now += d!));
  return max;
}

async function timedTrial(config: { cpus: number }, session: Session) {
  const started = Date.now();
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 300));
    await session.report({ started, at: Date.now(), cpus: config.cpus });
  }
}

it('trials queue when the cluster is full and start as resources free', async () => {
  const storagePath = tempDir('tune-queue-');
  const dir = path.join(storagePath, 'queue');
  let sawQueue = false;
  const fit = new tune.Tuner(
    tune.withResources(timedTrial, (config) => ({ CPU: config.cpus as number })),
    {
      paramSpace: { cpus: tune.gridSearch([1, 1, 1, 1, 2, 2]) },
      runConfig: { name: 'queue', storagePath, verbose: 0 },
    },
  ).fit();
  let done = false;
  void fit.finally(() => (done = true));
  // While it runs: at some moment two trials run and another waits for their CPUs.
  await waitFor(
    () => {
      const statuses = readStateFile(dir)?.trials.map((t) => t.status) ?? [];
      if (statuses.filter((s) => s === 'RUNNING').length === 2 && statuses.includes('PENDING'))
        sawQueue = true;
      return sawQueue || done;
    },
    { timeoutMs: 120_000, intervalMs: 5, what: 'two trials running and one pending' },
  );
  const grid = await fit;
  expect(sawQueue).toBe(true);
  expect([...grid].every((r) => r.status === 'TERMINATED' && r.metricsHistory.length === 3)).toBe(true);
  const interval = (r: tune.Result): [number, number] => [
    r.metricsHistory[0]!.started as number,
    r.metricsHistory.at(-1)!.at as number,
  ];
  const ones = [...grid].filter((r) => r.config.cpus === 1).map(interval);
  const twos = [...grid].filter((r) => r.config.cpus === 2).map(interval);
  expect(maxOverlap([...ones, ...twos])).toBe(2);
  // A 2-CPU trial runs alone.
  for (const two of twos)
    expect(maxOverlap([...ones, ...twos.filter((t) => t !== two), two]) >= 1).toBe(true);
  for (const [a, b] of twos) {
    const others = [...ones, ...twos].filter(([x, y]) => !(x === a && y === b));
    expect(others.filter(([x, y]) => x < b && y > a)).toEqual([]);
  }
});

it('a class trainable: setup/step/saveCheckpoint, checkpoints every 2 steps and at the end, one actor reused across trials', async () => {
  const storagePath = tempDir('tune-class-');
  class Counter {
    x = 0;
    inc = 0;
    setup(config: { inc: number }) {
      this.inc = config.inc;
    }
    step() {
      this.x += this.inc;
      return { x: this.x, done: this.x >= 3 * this.inc };
    }
    saveCheckpoint(dir: string) {
      require('node:fs').writeFileSync(require('node:path').join(dir, 'x.json'), JSON.stringify(this.x));
    }
    loadCheckpoint(dir: string) {
      this.x = JSON.parse(require('node:fs').readFileSync(require('node:path').join(dir, 'x.json'), 'utf8'));
    }
    resetConfig(config: { inc: number }) {
      this.inc = config.inc;
      this.x = 0;
      return true;
    }
  }
  const grid = await new tune.Tuner(Counter, {
    paramSpace: { inc: tune.gridSearch([1, 10, 100]) },
    tuneConfig: { metric: 'x', mode: 'max', maxConcurrentTrials: 1, reuseActors: true },
    runConfig: {
      name: 'class',
      storagePath,
      verbose: 0,
      checkpointConfig: { checkpointFrequency: 2, checkpointAtEnd: true },
    },
  }).fit();
  expect([...grid].map((r) => r.metricsHistory.map((m) => m.x))).toEqual([
    [1, 2, 3],
    [10, 20, 30],
    [100, 200, 300],
  ]);
  // reuseActors: the three trials ran one after another in the same actor process.
  expect(new Set([...grid].flatMap((r) => r.metricsHistory.map((m) => m.pid))).size).toBe(1);
  const state = readStateFile(path.join(storagePath, 'class'))!;
  expect(state.trials.map((t) => t.checkpoints.map((c) => c.iteration))).toEqual([
    [2, 3],
    [2, 3],
    [2, 3],
  ]);
  const last = grid.get(2)!.checkpoint!.path;
  expect(JSON.parse(readFileSync(path.join(last, 'x.json'), 'utf8'))).toBe(300);
  expect(grid.getBestResult().config.inc).toBe(100);
});

it('reuseActors with the cluster full: a waiting trial takes a finished trial’s actor, two processes run all six', async () => {
  const storagePath = tempDir('tune-reuse-');
  const grid = await new tune.Tuner(
    async (config: { i: number }, session: Session) => {
      await session.report({ i: config.i });
    },
    {
      paramSpace: { i: tune.gridSearch([0, 1, 2, 3, 4, 5]) },
      tuneConfig: { reuseActors: true },
      runConfig: { name: 'reuse', storagePath, verbose: 0 },
    },
  ).fit();
  expect([...grid].map((r) => r.metrics!.i)).toEqual([0, 1, 2, 3, 4, 5]);
  expect(new Set([...grid].map((r) => r.metrics!.pid)).size).toBeLessThanOrEqual(2);
});

it('runConfig.stop ends each trial at its threshold; timeBudgetMs ends an endless search', async () => {
  const storagePath = tempDir('tune-stop-');
  const endless = async (_config: object, session: Session) => {
    for (let i = 0; ; i++) {
      await new Promise((r) => setTimeout(r, 20));
      await session.report({ i });
    }
  };
  const stopped = await new tune.Tuner(endless, {
    paramSpace: { k: tune.gridSearch([1, 2, 3]) },
    runConfig: { name: 'stop', storagePath, verbose: 0, stop: { training_iteration: 4 } },
  }).fit();
  expect([...stopped].map((r) => r.metricsHistory.length)).toEqual([4, 4, 4]);
  expect([...stopped].map((r) => r.status)).toEqual(['TERMINATED', 'TERMINATED', 'TERMINATED']);

  // The trials never end by themselves: fit() returning at all is the budget at work.
  const budgeted = await new tune.Tuner(endless, {
    tuneConfig: { numSamples: -1, timeBudgetMs: 3000 },
    runConfig: { name: 'budget', storagePath, verbose: 0 },
  }).fit();
  expect(budgeted.length).toBeGreaterThanOrEqual(1);
  // Running trials were stopped at the budget; none is left RUNNING or in ERROR.
  expect([...budgeted].every((r) => r.status === 'TERMINATED' || r.status === 'PENDING')).toBe(true);
});

it('Tuner.restore with restartErrored runs the ERROR trial again and leaves the finished one alone', async () => {
  const storagePath = tempDir('tune-errored-');
  const dir = path.join(storagePath, 'errored');
  const flag = path.join(storagePath, 'fail');
  require('node:fs').writeFileSync(flag, '');
  const flaky = async (config: { x: number; flag: string }, session: Session) => {
    await session.report({ y: config.x });
    if (config.x === 2 && require('node:fs').existsSync(config.flag)) throw new Error('flag set');
    await session.report({ y: config.x * 10 });
  };
  const first = await new tune.Tuner(flaky, {
    paramSpace: { x: tune.gridSearch([1, 2]), flag },
    runConfig: { name: 'errored', storagePath, verbose: 0 },
  }).fit();
  expect([...first].map((r) => r.status)).toEqual(['TERMINATED', 'ERROR']);
  const finishedFile = readFileSync(path.join(first.get(0)!.path, 'result.json'), 'utf8');
  // Without restartErrored the ERROR trial stays as it was.
  const kept = await tune.Tuner.restore(dir, flaky).fit();
  expect([...kept].map((r) => r.status)).toEqual(['TERMINATED', 'ERROR']);
  require('node:fs').rmSync(flag);
  const again = await tune.Tuner.restore(dir, flaky, { restartErrored: true }).fit();
  expect([...again].map((r) => r.status)).toEqual(['TERMINATED', 'TERMINATED']);
  expect(again.get(1)!.metricsHistory.map((m) => m.y)).toEqual([2, 20]);
  expect(readFileSync(path.join(again.get(0)!.path, 'result.json'), 'utf8')).toBe(finishedFile);
});
