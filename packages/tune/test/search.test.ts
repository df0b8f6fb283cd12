// A real search on a real local cluster (2 CPUs, trials as actors in their own processes): 20
// random trials over a function with a known optimum find a config near it; ASHA stops trials at
// the rungs a hand computation predicts; a throwing trainable is ERROR with its message while the
// others finish; bad input fails with messages that name the problem.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tray from '@tray/core';
import { cleanUp, tempDir } from '@tray/test-support';
import * as tune from '@tray/tune';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readStateFile, resultLines } from './experiment-files.js';

beforeAll(async () => {
  await tray.init({ numCpus: 2, includeDashboard: false });
});

afterAll(async () => {
  await tray.shutdown();
});

afterEach(cleanUp);

type Session = {
  report: typeof tune.report;
  getCheckpoint: typeof tune.getCheckpoint;
  context: tune.TrialContext;
};

// Trainables get tune's session as their second argument too: test code is compiled by vitest,
// which renames imported namespaces (`tune` becomes `__vi_import_0__`), so they use that form.

it('20 random trials over a known optimum: the best config found is near it', async () => {
  const storagePath = tempDir('tune-search-');
  const tuner = new tune.Tuner(
    async (config: Record<string, number>, session: { report: typeof tune.report }) => {
      for (let i = 1; i <= 3; i++) {
        // Optimum at x = 1.5, layers = 2; each iteration a little closer.
        const loss = (config.x! - 1.5) ** 2 + (config.layers! - 2) ** 2 + 1 / i;
        await session.report({ loss });
      }
    },
    {
      paramSpace: { x: tune.uniform(-5, 5), layers: tune.choice([1, 2, 3]) },
      tuneConfig: { metric: 'loss', mode: 'min', numSamples: 20, seed: 7 },
      runConfig: { name: 'quadratic', storagePath, verbose: 0 },
    },
  );
  const grid = await tuner.fit();
  expect(grid.length).toBe(20);
  expect(grid.errors).toEqual([]);
  const best = grid.getBestResult();
  expect(best.config.layers).toBe(2);
  expect(Math.abs((best.config.x as number) - 1.5)).toBeLessThan(1);
  // What the result files say agrees: every trial reported 3 results, and no trial's last loss beats the best's.
  const dir = path.join(storagePath, 'quadratic');
  const state = readStateFile(dir)!;
  expect(state.trials.map((t) => t.status)).toEqual(Array(20).fill('TERMINATED'));
  const lastLosses = state.trials.map((t) => {
    const lines = resultLines(path.join(dir, t.dirName));
    expect(lines.map((l) => l.training_iteration)).toEqual([1, 2, 3]);
    expect(JSON.parse(readFileSync(path.join(dir, t.dirName, 'params.json'), 'utf8'))).toEqual(t.config);
    expect(
      readFileSync(path.join(dir, t.dirName, 'progress.csv'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(4);
    return lines.at(-1)!.loss as number;
  });
  expect(best.metrics!.loss).toBe(Math.min(...lastLosses));
  expect(best.metricsHistory).toHaveLength(3);
  expect(grid.toRows()).toHaveLength(20);
});

it('ASHA stops trials at the rungs a hand computation gives (one trial at a time, so the order is fixed)', async () => {
  const storagePath = tempDir('tune-asha-');
  // score at t=1 is `early`, after that late·t. Rungs (maxT 4, grace 1, rf 2) at 1, 2 and 4; a
  // trial stops at a rung when below the median of the scores recorded there before it:
  // A(3,3) runs to 4 · B(1) stops at 1 (1 < 3) · C(5,1) passes 1 (5 >= 2) and stops at 2 (2 < 6) ·
  // D(4,4) passes 1 (4 >= 3) and 2 (8 >= 4), runs to 4 · E(2) stops at 1 (2 < 3.5).
  const cases = { A: [3, 3], B: [1, 1], C: [5, 1], D: [4, 4], E: [2, 2] };
  const grid = await new tune.Tuner(
    async (config: { c: keyof typeof cases }, session: { report: typeof tune.report }) => {
      const [early, late] = (
        { A: [3, 3], B: [1, 1], C: [5, 1], D: [4, 4], E: [2, 2] } as Record<string, number[]>
      )[config.c]!;
      for (let t = 1; t <= 10; t++) await session.report({ score: t === 1 ? early : late! * t });
    },
    {
      paramSpace: { c: tune.gridSearch(Object.keys(cases)) },
      tuneConfig: {
        metric: 'score',
        mode: 'max',
        maxConcurrentTrials: 1,
        scheduler: new tune.ASHAScheduler({ maxT: 4, gracePeriod: 1, reductionFactor: 2 }),
      },
      runConfig: { name: 'asha', storagePath, verbose: 0 },
    },
  ).fit();
  const stoppedAt = Object.fromEntries(
    [...grid].map((r) => [r.config.c, r.metricsHistory.at(-1)!.training_iteration]),
  );
  expect(stoppedAt).toEqual({ A: 4, B: 1, C: 2, D: 4, E: 1 });
  expect(grid.getBestResult().config.c).toBe('D');
});

it('PBT lifts a population where exploiting a better trial’s checkpoint provably helps', async () => {
  const storagePath = tempDir('tune-pbt-');
  // score = h, and each step adds lr to h: a trial with lr 0.001 or 0.003 alone ends at 0.012 or
  // 0.036 after 12 steps, while 1 and 1.1 end near 12 and 13. Cloning a good trial's checkpoint (its
  // h) is the only way a bad one ends above 0.036, whatever lr it explores next.
  const pbt = new tune.PopulationBasedTraining({
    timeAttr: 'training_iteration',
    perturbationInterval: 2,
    hyperparamMutations: { lr: [0.001, 0.003, 1, 1.1] },
    seed: 3,
  });
  const grid = await new tune.Tuner(
    tune.withResources(
      async (config: { lr: number }, session: Session) => {
        const fs = require('node:fs');
        const p = require('node:path');
        const checkpoint = session.getCheckpoint();
        let { t, h } = checkpoint
          ? JSON.parse(fs.readFileSync(p.join(checkpoint.path, 'h.json'), 'utf8'))
          : { t: 0, h: 0 };
        while (t < 12) {
          await new Promise((r) => setTimeout(r, 60));
          t += 1;
          h += config.lr;
          const dir = fs.mkdtempSync(p.join(session.context.trialDir, 'scratch-'));
          fs.writeFileSync(p.join(dir, 'h.json'), JSON.stringify({ t, h }));
          await session.report({ score: h, lr: config.lr }, { checkpoint: dir });
          fs.rmSync(dir, { recursive: true, force: true });
        }
      },
      { CPU: 0.5 },
    ),
    {
      paramSpace: { lr: tune.gridSearch([0.001, 0.003, 1, 1.1]) },
      tuneConfig: { metric: 'score', mode: 'max', scheduler: pbt },
      runConfig: { name: 'pbt', storagePath, verbose: 0, checkpointConfig: { numToKeep: 2 } },
    },
  ).fit();
  expect(grid.errors).toEqual([]);
  expect(pbt.numPerturbations).toBeGreaterThanOrEqual(1);
  const finals = [...grid].map((r) => r.metrics!.score as number);
  // The trial that started with lr 0.001 was the worst at its first perturbation point.
  expect(finals[0]).toBeGreaterThan(0.036);
  const alone = (0.012 + 0.036 + 12 + 13.2) / 4;
  expect(finals.reduce((a, b) => a + b, 0) / 4).toBeGreaterThan(alone);
});

it('HyperBand pauses trials at its round times, resumes them from their checkpoints and stops the losers', async () => {
  const storagePath = tempDir('tune-hyperband-');
  const grid = await new tune.Tuner(
    async (config: { q: number }, session: Session) => {
      const fs = require('node:fs');
      const p = require('node:path');
      const checkpoint = session.getCheckpoint();
      let t = checkpoint ? JSON.parse(fs.readFileSync(p.join(checkpoint.path, 's.json'), 'utf8')).t : 0;
      while (t < 9) {
        t++;
        const dir = fs.mkdtempSync(p.join(session.context.trialDir, 'scratch-'));
        fs.writeFileSync(p.join(dir, 's.json'), JSON.stringify({ t }));
        await session.report({ score: config.q * t }, { checkpoint: dir });
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    {
      paramSpace: { q: tune.gridSearch([1, 2, 3, 4, 5, 6, 7, 8, 9]) },
      tuneConfig: {
        metric: 'score',
        mode: 'max',
        scheduler: new tune.HyperBandScheduler({ maxT: 9, reductionFactor: 3 }),
      },
      runConfig: { name: 'hyperband', storagePath, verbose: 0 },
    },
  ).fit();
  expect(grid.errors).toEqual([]);
  const results = [...grid];
  expect(results.every((r) => r.status === 'TERMINATED')).toBe(true);
  // Every iteration reported once, however often a trial was paused and resumed.
  for (const r of results) {
    expect(r.metricsHistory.map((m) => m.training_iteration)).toEqual(
      Array.from({ length: r.metricsHistory.length }, (_, i) => i + 1),
    );
  }
  // Some trials were stopped before maxT; a paused and resumed trial ran in more than one process.
  expect(results.some((r) => r.metricsHistory.length < 9)).toBe(true);
  expect(results.some((r) => new Set(r.metricsHistory.map((m) => m.pid)).size > 1)).toBe(true);
  expect(grid.getBestResult().config.q).toBe(9);
  expect(grid.getBestResult().metrics!.training_iteration).toBe(9);
});

it('a throwing trainable: that trial is ERROR with its message, the others finish', async () => {
  const storagePath = tempDir('tune-error-');
  const grid = await new tune.Tuner(
    async (config: { x: number }, session: { report: typeof tune.report }) => {
      await session.report({ y: config.x });
      if (config.x === 2) throw new RangeError(`x=${config.x} is out of range`);
      await session.report({ y: config.x * 10 });
    },
    {
      paramSpace: { x: tune.gridSearch([1, 2, 3]) },
      tuneConfig: { metric: 'y', mode: 'max' },
      runConfig: { name: 'errors', storagePath, verbose: 0 },
    },
  ).fit();
  expect([...grid].map((r) => r.status)).toEqual(['TERMINATED', 'ERROR', 'TERMINATED']);
  expect(grid.errors).toHaveLength(1);
  expect(grid.errors[0]!.message).toMatch(/RangeError: x=2 is out of range/);
  const failed = grid.get(1)!;
  expect(failed.metrics!.y).toBe(2);
  expect(readFileSync(path.join(failed.path, 'error.txt'), 'utf8')).toMatch(/x=2 is out of range/);
  expect(grid.getBestResult().metrics!.y).toBe(30);
});

describe('bad input gets a clear error', () => {
  it('a metric no result has fails the fit at the first result, naming what was reported', async () => {
    const storagePath = tempDir('tune-bad-');
    const tuner = new tune.Tuner(
      async (_c: object, session: { report: typeof tune.report }) => {
        await session.report({ los: 1 });
      },
      { tuneConfig: { metric: 'loss', mode: 'min' }, runConfig: { storagePath, verbose: 0 } },
    );
    await expect(tuner.fit()).rejects.toThrow(/without the metric "loss".*It reported los/);
  });

  it('bad mode, unshippable trainable, non-trainable, unsampleable space', async () => {
    const trainable = async () => {};
    expect(() => new tune.Tuner(trainable, { tuneConfig: { metric: 'a', mode: 'best' as 'min' } })).toThrow(
      /mode must be 'min' or 'max'/,
    );
    const outside = 3;
    expect(() => new tune.Tuner(async () => outside)).toThrow(/`outside`.*tune.withParameters/s);
    expect(() => new tune.Tuner(42 as never)).toThrow(/must be a function.*or a class with step/);
    expect(() => new tune.Tuner(class NoStep {})).toThrow(/has no step\(\) method/);
    const storagePath = tempDir('tune-bad-');
    const tuner = new tune.Tuner(trainable, {
      paramSpace: {
        x: tune.sampleFrom(() => {
          throw new Error('no value');
        }),
      },
      runConfig: { storagePath, verbose: 0 },
    });
    await expect(tuner.fit()).rejects.toThrow(/could not suggest a config.*no value/);
    expect(existsSync(storagePath)).toBe(true);
  });
});
