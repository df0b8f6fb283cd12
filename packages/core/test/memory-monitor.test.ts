// The raylet's memory monitor through the public API: with a threshold just above what the
// node uses now, a task that allocates pushes the node over it; the monitor kills that task's
// worker. A task that cannot be retried fails with OutOfMemoryError naming it and the memory
// seen; a retriable one is run again (its attempts are counted in files) and returns. The
// driver is a real program; every process it started is gone afterwards.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readNodeMemory } from '@tray/raylet';
import { isAlive, resultOf, runScript, waitFor } from '@tray/test-support';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDriverScript } from './helpers.js';

const GiB = 1024 ** 3;
const attemptsDir = mkdtempSync(path.join(os.tmpdir(), 'tray-oom-'));
const started: number[] = [];

afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  rmSync(attemptsDir, { recursive: true, force: true });
});

describe('memory monitor', () => {
  it('kills the worker of a task that allocates past the threshold: retried when it can be, else OutOfMemoryError', async () => {
    const memory = readNodeMemory();
    // 1 GiB above what the node uses now: only the allocating task crosses it.
    const threshold = Math.min(0.99, (memory.usedBytes + GiB) / memory.totalBytes);
    const file = writeDriverScript(`
      import * as tray from '@tray/core';
      await tray.init({ numCpus: 1, memoryUsageThreshold: ${threshold}, memoryMonitorRefreshMs: 100, logToDriver: false });
      // Each attempt leaves a file (with its pid); the first allocates until it is killed.
      const hog = tray.remote(async (dir, label) => {
        const { appendFileSync, readdirSync } = await import('node:fs');
        const attempt = readdirSync(dir).filter((f) => f.startsWith(label + '-')).length;
        appendFileSync(dir + '/' + label + '-' + attempt, String(process.pid));
        if (attempt > 0) return { label, attempt };
        const held = [];
        for (let i = 0; i < 64; i++) {
          held.push(Buffer.alloc(64 * 1024 * 1024, 1)); // touched: really resident
          await new Promise((r) => setTimeout(r, 10));
        }
        return { label, attempt, notKilled: held.length };
      });
      const outcome = async (ref) => {
        try { return { value: await tray.get(ref) }; }
        catch (err) { return { name: err.name, message: err.message }; }
      };
      const once = await outcome(hog.options({ maxRetries: 0, name: 'hog-once' }).remote(${JSON.stringify(attemptsDir)}, 'once'));
      const retried = await outcome(hog.options({ maxRetries: 3, name: 'hog-retried' }).remote(${JSON.stringify(attemptsDir)}, 'retried'));
      console.log('RESULT ' + JSON.stringify({ once, retried }));
      await tray.shutdown();
    `);
    const run = await runScript(file, { timeoutMs: 180_000 });
    const attempts = readdirSync(attemptsDir);
    for (const f of attempts) started.push(Number(readFileSync(path.join(attemptsDir, f), 'utf8')));
    expect(run.code, run.stderr).toBe(0);
    const { once, retried } = resultOf(run) as {
      once: { name: string; message: string };
      retried: { value: { label: string; attempt: number } };
    };
    expect(once.name).toBe('OutOfMemoryError');
    expect(once.message).toMatch(/hog-once/);
    expect(once.message).toMatch(/memory monitor killed the worker/);
    expect(once.message).toMatch(/using [\d.]+ GiB of [\d.]+ GiB .* above the memory usage threshold/);
    expect(attempts.filter((f) => f.startsWith('once-'))).toHaveLength(1);
    // Killed on its first attempt, run again, and answered.
    expect(retried.value.label).toBe('retried');
    expect(retried.value.attempt).toBeGreaterThanOrEqual(1);
    expect(attempts.filter((f) => f.startsWith('retried-')).length).toBe(retried.value.attempt + 1);
    // No worker outlived the driver.
    await waitFor(() => started.every((pid) => !isAlive(pid)), { what: 'every worker to be gone' });
  });
});
