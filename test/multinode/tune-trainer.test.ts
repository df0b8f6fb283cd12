// A @tray/train DataParallelTrainer tuned by @tray/tune on a real local cluster (2 CPUs): the
// Tuner runs one trial per train_loop_config of a grid search, each trial a trainer of 2 worker
// actors ({ CPU: 1 } each, so the two trials' worker groups take turns); rank 0's reports are the
// trial's results (with their checkpoints), and a stop condition or ASHA ends a trainer trial
// early with its worker actors gone.
// Lives in test/ because tune must not depend on train.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tray from '@tray/core';
import { cleanUp, isAlive, tempDir, waitFor } from '@tray/test-support';
import * as train from '@tray/train';
import * as tune from '@tray/tune';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';

beforeAll(async () => {
  await tray.init({ numCpus: 2, includeDashboard: false });
});

afterAll(async () => {
  await tray.shutdown();
});

afterEach(cleanUp);

/**
 * Each worker records its pid, then reports `steps` times; rank 0's score is base + lr * step.
 * Source text, as a user's file would send it: vitest rewrites `train` in test files to its own
 * import binding, which the workers cannot see.
 */
const loop = new Function(`return (async (config) => {
  const fs = require('node:fs'); const p = require('node:path');
  const ctx = train.getContext();
  fs.writeFileSync(p.join(config.pidDir, String(process.pid)), JSON.stringify({ lr: config.lr, started: Date.now() }));
  for (let step = 1; step <= config.steps; step++) {
    const metrics = { score: config.base + config.lr * step, rank: ctx.worldRank, world: ctx.worldSize, lr: config.lr };
    if (config.checkpoint && ctx.worldRank === 0) {
      const dir = fs.mkdtempSync(p.join(config.pidDir, 'ckpt-'));
      fs.writeFileSync(p.join(dir, 'state.json'), JSON.stringify({ step }));
      await train.report(metrics, { checkpoint: train.Checkpoint.fromDirectory(dir) });
      fs.rmSync(dir, { recursive: true, force: true });
    } else {
      await train.report(metrics);
    }
  }
  fs.writeFileSync(p.join(config.pidDir, 'ended-' + process.pid), String(Date.now()));
});`)() as (config: unknown) => Promise<void>;

function workerPids(dir: string): number[] {
  return readdirSync(dir)
    .filter((f) => /^\d+$/.test(f))
    .map(Number);
}

/** Per trial (lr): when its first worker started and its last worker's loop ended. */
function spans(dir: string): Map<number, { started: number; ended: number }> {
  const out = new Map<number, { started: number; ended: number }>();
  for (const pid of workerPids(dir)) {
    const { lr, started } = JSON.parse(readFileSync(path.join(dir, String(pid)), 'utf8'));
    const ended = Number(readFileSync(path.join(dir, `ended-${pid}`), 'utf8'));
    const s = out.get(lr) ?? { started, ended };
    out.set(lr, { started: Math.min(s.started, started), ended: Math.max(s.ended, ended) });
  }
  return out;
}

it('a Tuner over a DataParallelTrainer runs a trial per train_loop_config with rank 0 results', async () => {
  const storagePath = tempDir('tune-trainer-');
  const pidDir = tempDir('tune-trainer-pids-');
  const trainer = new train.DataParallelTrainer(loop, {
    trainLoopConfig: { lr: 0, base: 100, steps: 3, pidDir },
    scalingConfig: { numWorkers: 2 },
  });
  const grid = await new tune.Tuner(trainer, {
    paramSpace: { train_loop_config: { lr: tune.gridSearch([1, 5]) } },
    tuneConfig: { metric: 'score', mode: 'max' },
    runConfig: { name: 'grid', storagePath, verbose: 0 },
  }).fit();

  expect(grid.errors.map((e) => e.message)).toEqual([]); // none, and any one is shown
  expect(grid.length).toBe(2);
  const results = [grid.get(0)!, grid.get(1)!];
  for (const lr of [1, 5]) {
    const r = results.find((x) => (x.config.train_loop_config as { lr: number }).lr === lr)!;
    // The trainer's own trainLoopConfig (base, steps) merged with the trial's lr.
    expect(r.metrics).toMatchObject({ score: 100 + lr * 3, rank: 0, world: 2, lr, training_iteration: 3 });
    expect(r.metricsHistory.map((m) => m.score)).toEqual([100 + lr, 100 + 2 * lr, 100 + 3 * lr]);
    expect(r.metricsHistory.every((m) => m.rank === 0)).toBe(true);
  }
  const best = grid.getBestResult();
  expect((best.config.train_loop_config as { lr: number }).lr).toBe(5);
  // 2 trials × 2 workers of { CPU: 1 } on 2 CPUs: the second trial's group waited for the first's.
  expect(workerPids(pidDir)).toHaveLength(4);
  const [a, b] = [...spans(pidDir).values()].sort((x, y) => x.started - y.started);
  expect(b!.started).toBeGreaterThanOrEqual(a!.ended);
  await waitFor(() => workerPids(pidDir).every((pid) => !isAlive(pid)), {
    timeoutMs: 30_000,
    what: 'every worker actor of both trials to exit',
  });
});

it('a stop condition ends a trainer trial early and its worker actors exit', async () => {
  const storagePath = tempDir('tune-trainer-stop-');
  const pidDir = tempDir('tune-trainer-stop-pids-');
  const trainer = new train.DataParallelTrainer(loop, {
    trainLoopConfig: { lr: 1, base: 0, steps: 1000, pidDir },
    scalingConfig: { numWorkers: 2 },
  });
  const grid = await new tune.Tuner(trainer, {
    paramSpace: { trainLoopConfig: { lr: 2 } },
    runConfig: { name: 'stop', storagePath, verbose: 0, stop: { training_iteration: 2 } },
  }).fit();

  expect(grid.errors.map((e) => e.message)).toEqual([]); // none, and any one is shown
  const r = grid.get(0)!;
  expect(r.metrics).toMatchObject({ training_iteration: 2, score: 4, rank: 0 });
  expect(r.metricsHistory).toHaveLength(2);
  const pids = workerPids(pidDir);
  expect(pids).toHaveLength(2);
  await waitFor(() => pids.every((pid) => !isAlive(pid)), {
    timeoutMs: 30_000,
    what: 'the stopped trial’s worker actors to exit',
  });
  // The worker group's placement group went with it: both CPUs are free again.
  await waitFor(async () => (await tray.availableResources()).CPU === 2, {
    timeoutMs: 30_000,
    what: 'the stopped trial’s 2 CPUs to be free',
  });
  // The trainer ran in the trial's own directory.
  expect(existsSync(path.join(r.path, 'train'))).toBe(true);
});

it('ASHA stops the worse trainer trial at its first rung; the better keeps its checkpoints', async () => {
  const storagePath = tempDir('tune-trainer-asha-');
  const pidDir = tempDir('tune-trainer-asha-pids-');
  const trainer = new train.DataParallelTrainer(loop, {
    trainLoopConfig: { base: 0, steps: 4, pidDir, checkpoint: true },
    scalingConfig: { numWorkers: 2 },
  });
  const grid = await new tune.Tuner(trainer, {
    paramSpace: { train_loop_config: { lr: tune.gridSearch([5, 1]) } },
    tuneConfig: {
      metric: 'score',
      mode: 'max',
      maxConcurrentTrials: 1,
      scheduler: new tune.ASHAScheduler({ gracePeriod: 1, maxT: 10, reductionFactor: 2 }),
    },
    runConfig: { name: 'asha', storagePath, verbose: 0 },
  }).fit();

  expect(grid.errors.map((e) => e.message)).toEqual([]);
  const results = [grid.get(0)!, grid.get(1)!];
  const lrOf = (r: tune.Result) => (r.config.train_loop_config as { lr: number }).lr;
  const good = results.find((r) => lrOf(r) === 5)!;
  const bad = results.find((r) => lrOf(r) === 1)!;
  expect(good.metricsHistory.map((m) => m.score)).toEqual([5, 10, 15, 20]);
  expect(bad.metricsHistory.map((m) => m.score)).toEqual([1]);
  // Rank 0's checkpoint of the last report is the trial's, copied into the trial's directory.
  expect(good.checkpoint).toBeDefined();
  expect(good.checkpoint!.path.startsWith(good.path)).toBe(true);
  expect(JSON.parse(readFileSync(path.join(good.checkpoint!.path, 'state.json'), 'utf8'))).toEqual({
    step: 4,
  });
  const pids = workerPids(pidDir);
  expect(pids).toHaveLength(4);
  await waitFor(() => pids.every((pid) => !isAlive(pid)), {
    timeoutMs: 30_000,
    what: 'the worker actors of both trials to exit',
  });
});

it('a Tuner refuses an object with fit() but no asTrainable(), saying what to pass', () => {
  expect(() => new tune.Tuner({ fit: async () => ({}) } as never)).toThrow(/asTrainable/);
});
