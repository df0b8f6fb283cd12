// DataParallelTrainer on a real local cluster (2 training workers, each an actor in its own
// worker process): ranks and world size, the train dataset split so that every row is seen once
// per epoch across the workers (others given whole), report as a barrier (and a clear error when
// the workers report unequally), checkpoints of every worker merged into one directory, and
// numToKeep with a score attribute.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tray from '@tray/core';
import * as data from '@tray/data';
import * as train from '@tray/train';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loop, removeStorageDirs, storageDir } from './helpers.js';

beforeAll(async () => {
  await tray.init({ numCpus: 4 });
});

afterAll(async () => {
  await tray.shutdown();
  removeStorageDirs();
});

const scaling = { numWorkers: 2, resourcesPerWorker: { CPU: 1 } };

describe('DataParallelTrainer', () => {
  it('gives each worker its ranks and merges every worker checkpoint into one directory', async () => {
    const storagePath = storageDir();
    const trainer = new train.DataParallelTrainer(
      loop(`async (config) => {
        const fs = require('node:fs'); const os = require('node:os'); const path = require('node:path');
        const ctx = train.getContext();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-'));
        fs.writeFileSync(path.join(dir, 'rank-' + ctx.worldRank + '.json'), JSON.stringify({ ...ctx, pid: process.pid, lr: config.lr }));
        await train.report({ loss: 1 / (ctx.worldRank + 1), rank: ctx.worldRank }, { checkpoint: train.Checkpoint.fromDirectory(dir) });
        fs.rmSync(dir, { recursive: true });
      }`),
      { trainLoopConfig: { lr: 0.5 }, scalingConfig: scaling, runConfig: { name: 'ranks', storagePath } },
    );
    const result = await trainer.fit();
    expect(result.error).toBeUndefined();
    expect(result.path).toBe(path.join(storagePath, 'ranks'));
    // rank 0's metrics, with Ray's auto-filled fields
    expect(result.metrics).toMatchObject({ loss: 1, rank: 0, training_iteration: 1 });
    expect(typeof result.metrics!.time_total_s).toBe('number');
    expect(result.checkpoint!.path).toBe(path.join(storagePath, 'ranks', 'checkpoint_000000'));
    expect(readdirSync(result.checkpoint!.path).sort()).toEqual(['rank-0.json', 'rank-1.json']);
    const contexts = [0, 1].map((r) =>
      JSON.parse(readFileSync(path.join(result.checkpoint!.path, `rank-${r}.json`), 'utf8')),
    );
    for (const [r, c] of contexts.entries()) {
      expect(c).toMatchObject({
        worldRank: r,
        worldSize: 2,
        localRank: r,
        localWorldSize: 2,
        nodeRank: 0,
        experimentName: 'ranks',
        trialDir: path.join(storagePath, 'ranks'),
        lr: 0.5,
      });
      expect(c.pid).not.toBe(process.pid);
    }
    expect(contexts[0].pid).not.toBe(contexts[1].pid);
    expect(
      JSON.parse(readFileSync(path.join(result.path, 'trainer_state.json'), 'utf8')).metricsHistory,
    ).toHaveLength(1);
  });

  it("leaves no file of the workers' shared arrays behind once the run is over", async () => {
    // A small tensor goes over TCP, so no operation has every peer map the arrays (which would
    // unlink their files at once), and the workers are killed at the end: only closing the group
    // before the kill removes the files, which are named by their owner's pid.
    const pidDir = mkdtempSync(path.join(os.tmpdir(), 'tray-train-pids-'));
    try {
      const result = await new train.DataParallelTrainer(
        loop(`async (config) => {
          const ctx = train.getContext();
          require('node:fs').writeFileSync(require('node:path').join(config.pidDir, String(ctx.worldRank)), String(process.pid));
          const t = train.sharedArray(Float32Array, 16);
          t.fill(ctx.worldRank + 1);
          await train.allReduce(t, { op: 'sum', out: t });
          await train.report({ sum: t[0] });
        }`),
        {
          trainLoopConfig: { pidDir },
          scalingConfig: scaling,
          runConfig: { name: 'shared-files', storagePath: storageDir() },
        },
      ).fit();
      expect(result.error).toBeUndefined();
      expect(result.metrics!.sum).toBe(3);
      const pids = readdirSync(pidDir).map((f) => readFileSync(path.join(pidDir, f), 'utf8'));
      expect(pids).toHaveLength(2);
      const left = (dir: string) => {
        try {
          return readdirSync(dir).filter((f) => pids.some((pid) => f.startsWith(`tray-coll-${pid}-`)));
        } catch {
          return [];
        }
      };
      expect([...left('/dev/shm'), ...left(path.join(os.tmpdir(), 'tray-store'))]).toEqual([]);
    } finally {
      rmSync(pidDir, { recursive: true, force: true });
    }
  });

  it('splits the train dataset so every row is seen once per epoch, and gives other datasets whole', async () => {
    const storagePath = storageDir();
    const rows = 200;
    const trainer = new train.DataParallelTrainer(
      loop(`async (config) => {
        const fs = require('node:fs'); const path = require('node:path');
        const ctx = train.getContext();
        const shard = train.getDatasetShard('train');
        const valid = train.getDatasetShard('valid');
        const dir = path.join(ctx.trialDir, 'seen-' + ctx.worldRank);
        fs.mkdirSync(dir, { recursive: true });
        for (let epoch = 0; epoch < config.epochs; epoch++) {
          const ids = [];
          for await (const batch of shard.iterBatches({ batchSize: 16 })) ids.push(...batch.id);
          let validRows = 0;
          for await (const row of valid.iterRows()) validRows++;
          fs.writeFileSync(path.join(dir, 'epoch-' + epoch + '.json'), JSON.stringify({ ids, validRows }));
          await train.report({ epoch, rows: ids.length });
        }
      }`),
      {
        trainLoopConfig: { epochs: 2 },
        scalingConfig: scaling,
        runConfig: { name: 'shards', storagePath },
        datasets: { train: data.range(rows, { overrideNumBlocks: 10 }), valid: data.range(30) },
      },
    );
    const result = await trainer.fit();
    expect(result.error).toBeUndefined();
    expect(result.metricsHistory.map((m) => m.epoch)).toEqual([0, 1]);
    for (let epoch = 0; epoch < 2; epoch++) {
      const seen = [0, 1].map((r) =>
        JSON.parse(readFileSync(path.join(result.path, `seen-${r}`, `epoch-${epoch}.json`), 'utf8')),
      );
      expect(seen.map((s) => s.ids.length)).toEqual([rows / 2, rows / 2]);
      const all = seen.flatMap((s) => s.ids).sort((a: number, b: number) => a - b);
      expect(all).toEqual(Array.from({ length: rows }, (_, i) => i));
      expect(seen.map((s) => s.validRows)).toEqual([30, 30]);
    }
  });

  it('makes report a barrier, and fails the run clearly when workers report unequally', async () => {
    const storagePath = storageDir();
    // Rank 1 reports only after rank 0 is inside report(); rank 0's report returns only once
    // rank 1's has begun (the marker rank 1 writes just before it calls report).
    const barrier = await new train.DataParallelTrainer(
      loop(`async () => {
        const fs = require('node:fs'); const path = require('node:path');
        const ctx = train.getContext();
        const entered = path.join(ctx.trialDir, 'rank0-entered');
        const marker = path.join(ctx.trialDir, 'rank1-reporting');
        if (ctx.worldRank === 1) {
          while (!fs.existsSync(entered)) await new Promise((r) => setTimeout(r, 10));
          fs.writeFileSync(marker, '');
          await train.report({ step: 1 });
        } else {
          fs.writeFileSync(entered, '');
          await train.report({ step: 1, rank1WasReporting: fs.existsSync(marker) });
          await train.report({ step: 2, rank1WasReporting: fs.existsSync(marker) });
          return;
        }
        await train.report({ step: 2 });
      }`),
      { scalingConfig: scaling, runConfig: { name: 'barrier', storagePath } },
    ).fit();
    expect(barrier.error).toBeUndefined();
    expect(barrier.metricsHistory.map((m) => [m.step, m.training_iteration])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(barrier.metricsHistory[1]!.rank1WasReporting).toBe(true);

    const unequal = await new train.DataParallelTrainer(
      loop(`async () => {
        const n = train.getContext().worldRank === 0 ? 2 : 3;
        for (let i = 0; i < n; i++) await train.report({ i });
      }`),
      {
        scalingConfig: scaling,
        runConfig: { name: 'unequal', storagePath, failureConfig: { maxFailures: 2 } },
      },
    ).fit();
    expect(unequal.error).toBeInstanceOf(train.TrainingFailedError);
    expect(unequal.error!.message).toMatch(
      /barrier .* worker 0 returned from the training function after 2 report\(s\) while worker 1 called report\(\) a 3rd time/,
    );
    expect(unequal.metricsHistory).toHaveLength(2);
  });

  it('keeps numToKeep checkpoints, the best by the score attribute and the latest, merging same-named files whole', async () => {
    const storagePath = storageDir();
    const scores = [3, 9, 4, 1, 5];
    const result = await new train.DataParallelTrainer(
      loop(`async (config) => {
        const fs = require('node:fs'); const os = require('node:os'); const path = require('node:path');
        const ctx = train.getContext();
        for (const [i, score] of config.scores.entries()) {
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-'));
          fs.writeFileSync(path.join(dir, 'w' + ctx.worldRank), String(i));
          // the same name from both workers: the merged file is one worker's, whole
          fs.writeFileSync(path.join(dir, 'shared'), String(ctx.worldRank).repeat(1 << 20));
          await train.report({ score, i }, { checkpoint: train.Checkpoint.fromDirectory(dir) });
          fs.rmSync(dir, { recursive: true });
        }
      }`),
      {
        trainLoopConfig: { scores },
        scalingConfig: scaling,
        runConfig: {
          name: 'keep',
          storagePath,
          checkpointConfig: { numToKeep: 2, checkpointScoreAttribute: 'score', checkpointScoreOrder: 'max' },
        },
      },
    ).fit();
    expect(result.error).toBeUndefined();
    const dirs = readdirSync(result.path)
      .filter((d) => d.startsWith('checkpoint_'))
      .sort();
    // best two by score: 9 (index 1) and 5 (index 4, also the latest)
    expect(dirs).toEqual(['checkpoint_000001', 'checkpoint_000004']);
    // Result.checkpoint is the latest; the best is asked for by metric
    expect(result.checkpoint!.path).toBe(path.join(result.path, 'checkpoint_000004'));
    const best = result.getBestCheckpoint('score', 'max')!;
    expect(best.path).toBe(path.join(result.path, 'checkpoint_000001'));
    expect(result.getBestCheckpoint('score', 'min')!.path).toBe(result.checkpoint!.path);
    expect(readdirSync(best.path).sort()).toEqual(['shared', 'w0', 'w1']);
    const shared = readFileSync(path.join(best.path, 'shared'), 'utf8');
    expect([0, 1].map((r) => String(r).repeat(1 << 20))).toContain(shared);
    expect(result.bestCheckpoints.map(([, m]) => m.score)).toEqual([9, 5]);
    expect(existsSync(path.join(result.path, 'checkpoint_000000'))).toBe(false);
  });
});
