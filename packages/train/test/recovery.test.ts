// Failures on a real cluster: a training worker SIGKILLed (by pid) mid-training, while its peer
// waits in an allReduce with it, makes the whole group restart from the latest checkpoint, with
// the same ranks, losing no epoch beyond it (and with maxFailures 0 the run ends with
// Result.error set, not thrown, naming the killed worker); a loop that throws is retried the
// same way; a driver SIGKILLed
// mid-training leaves storage from which resumeFromCheckpoint continues the run.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tray from '@tray/core';
import { descendants, isAlive, waitFor } from '@tray/test-support';
import * as train from '@tray/train';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs fixture without types
import { EPOCHS_LOOP } from './fixtures/loops.mjs';
import { loop, removeStorageDirs, storageDir } from './helpers.js';

const started: number[] = [];

beforeAll(async () => {
  await tray.init({ numCpus: 4 });
});

afterEach(() => {
  for (const pid of started.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
});

afterAll(async () => {
  await tray.shutdown();
  removeStorageDirs();
});

const readPid = (dir: string, rank: number) => {
  const file = path.join(dir, `pid-${rank}`);
  return existsSync(file) ? Number(readFileSync(file, 'utf8')) : undefined;
};

function trainer(storagePath: string, name: string, maxFailures: number) {
  return new train.DataParallelTrainer(loop(EPOCHS_LOOP), {
    trainLoopConfig: { epochs: 6, hangAt: 3 },
    scalingConfig: { numWorkers: 2 },
    runConfig: { name, storagePath, failureConfig: { maxFailures }, verbose: false },
  });
}

describe('failures', () => {
  it('restarts the whole group from the latest checkpoint when a worker is SIGKILLed', async () => {
    const storagePath = storageDir();
    const fitting = trainer(storagePath, 'kill-worker', 1).fit();
    const runDir = path.join(storagePath, 'kill-worker');
    const victim = await waitFor(() => readPid(runDir, 1), {
      what: 'rank 1 to reach epoch 3',
      timeoutMs: 90_000,
    });
    process.kill(victim, 'SIGKILL');
    const result = await fitting;
    expect(result.error).toBeUndefined();
    const h = result.metricsHistory;
    expect(h.map((m) => m.epoch)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(h.map((m) => m.attempt)).toEqual([0, 0, 0, 1, 1, 1]);
    // the restart began right after the last checkpoint (epoch 2): no epoch lost or repeated
    expect(h[3]!.from).toBe(3);
    expect(h.map((m) => m.training_iteration)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(h.every((m) => m.workers === 2)).toBe(true); // the new group's allReduce has both
    expect(new Set(h.slice(3).map((m) => m.pid)).has(h[0]!.pid)).toBe(false);
    expect(isAlive(victim)).toBe(false);
    expect(JSON.parse(readFileSync(path.join(result.checkpoint!.path, 'state.json'), 'utf8'))).toEqual({
      epoch: 5,
    });
  });

  it('sets Result.error (not thrown) when a worker dies and maxFailures is 0', async () => {
    const storagePath = storageDir();
    const fitting = trainer(storagePath, 'no-retry', 0).fit();
    const runDir = path.join(storagePath, 'no-retry');
    const victim = await waitFor(() => readPid(runDir, 0), {
      what: 'rank 0 to reach epoch 3',
      timeoutMs: 90_000,
    });
    process.kill(victim, 'SIGKILL');
    const result = await fitting;
    expect(result.error).toBeInstanceOf(train.TrainingFailedError);
    expect(result.error!.message).toMatch(new RegExp(`worker 0 \\(pid ${victim}\\)`));
    expect(result.metricsHistory.map((m) => m.epoch)).toEqual([0, 1, 2]);
    expect(path.basename(result.checkpoint!.path)).toBe('checkpoint_000002');
  });

  it('restarts from the checkpoint when the loop throws, and reports the error once retries run out', async () => {
    const storagePath = storageDir();
    const throwing = loop(`async (config) => {
      const fs = require('node:fs'); const os = require('node:os'); const path = require('node:path');
      const ctx = train.getContext();
      const start = train.getCheckpoint();
      const from = start === undefined ? 0 : Number(fs.readFileSync(path.join(start.path, 'epoch'), 'utf8')) + 1;
      for (let epoch = from; epoch < 4; epoch++) {
        if (epoch === 2 && ctx.worldRank === 1 && ctx.attempt < config.throwIn) throw new RangeError('bad batch ' + epoch);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-'));
        fs.writeFileSync(path.join(dir, 'epoch'), String(epoch));
        await train.report({ epoch, attempt: ctx.attempt }, { checkpoint: train.Checkpoint.fromDirectory(dir) });
        fs.rmSync(dir, { recursive: true });
      }
    }`);
    const fit = (name: string, throwIn: number, maxFailures: number) =>
      new train.DataParallelTrainer(throwing, {
        trainLoopConfig: { throwIn },
        scalingConfig: { numWorkers: 2 },
        runConfig: { name, storagePath, failureConfig: { maxFailures }, verbose: false },
      }).fit();
    const recovered = await fit('throws-once', 1, -1);
    expect(recovered.error).toBeUndefined();
    expect(recovered.metricsHistory.map((m) => [m.epoch, m.attempt])).toEqual([
      [0, 0],
      [1, 0],
      [2, 1],
      [3, 1],
    ]);
    const failed = await fit('throws-always', 99, 2);
    expect(failed.error).toBeInstanceOf(train.TrainingFailedError);
    expect(failed.error!.message).toMatch(/^worker 1 \(pid \d+\): RangeError: bad batch 2$/);
    // three attempts (maxFailures 2), each restarted from epoch 1's checkpoint
    expect(failed.metricsHistory.map((m) => m.epoch)).toEqual([0, 1]);
  });

  it('continues a run whose driver was SIGKILLed with resumeFromCheckpoint', async () => {
    const storagePath = storageDir();
    const driver = spawn(
      process.execPath,
      [path.join(import.meta.dirname, 'fixtures', 'driver.mjs'), storagePath, 'kill-driver', '6', '3'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    started.push(driver.pid!);
    const runDir = path.join(storagePath, 'kill-driver');
    await waitFor(() => readPid(runDir, 0) && readPid(runDir, 1), {
      what: 'the driver run to reach epoch 3',
      timeoutMs: 90_000,
    });
    const tree = descendants(driver.pid!);
    started.push(...tree);
    driver.kill('SIGKILL');
    await waitFor(() => [driver.pid!, ...tree].every((p) => !isAlive(p)), {
      what: 'the driver and its cluster to exit',
      timeoutMs: 30_000,
    });
    const state = JSON.parse(readFileSync(path.join(runDir, 'trainer_state.json'), 'utf8'));
    expect(state.metricsHistory.map((m: { epoch: number }) => m.epoch)).toEqual([0, 1, 2]);
    expect(path.basename(state.latestCheckpoint)).toBe('checkpoint_000002');

    const result = await new train.DataParallelTrainer(loop(EPOCHS_LOOP), {
      trainLoopConfig: { epochs: 6, resumed: true },
      scalingConfig: { numWorkers: 2 },
      runConfig: { name: 'kill-driver', storagePath, verbose: false },
      resumeFromCheckpoint: train.Checkpoint.fromDirectory(state.latestCheckpoint),
    }).fit();
    expect(result.error).toBeUndefined();
    expect(result.metricsHistory.map((m) => [m.epoch, m.from])).toEqual([
      [3, 3],
      [4, 3],
      [5, 3],
    ]);
    // the old checkpoints stay; the new ones are numbered after them
    expect(
      readdirSync(runDir)
        .filter((d) => d.startsWith('checkpoint_'))
        .sort(),
    ).toEqual([0, 1, 2, 3, 4, 5].map((i) => `checkpoint_00000${i}`));
  });
});
