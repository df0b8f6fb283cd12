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
    // 2 GiB above what the node uses now: only the allocating task crosses it, not other test
    // files running beside this one (a 1 GiB margin was crossed by them in CI, killing a retry).
    // The task may allocate up to 8 GiB: for it to stay under, the others would have to free
    // 6 GiB while it runs (seen in CI with a 4 GiB cap under load).
    const threshold = Math.min(0.99, (memory.usedBytes + 2 * GiB) / memory.totalBytes);
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
        for (let i = 0; i < 128; i++) {
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
  }, 200_000); // the driver has 180 s: the hogs are slow on a loaded machine

  it('retries OOM kills within their own budget (TRAY_TASK_OOM_RETRIES), not maxRetries, then fails with OutOfMemoryError', async () => {
    const memory = readNodeMemory();
    const threshold = Math.min(0.99, (memory.usedBytes + 2 * GiB) / memory.totalBytes);
    const file = writeDriverScript(`
      import * as tray from '@tray/core';
      await tray.init({ numCpus: 1, memoryUsageThreshold: ${threshold}, memoryMonitorRefreshMs: 100, logToDriver: false });
      // Attempts below \`hogs\` allocate until they are killed; a later one returns.
      const hog = tray.remote(async (dir, label, hogs) => {
        const { appendFileSync, readdirSync } = await import('node:fs');
        const attempt = readdirSync(dir).filter((f) => f.startsWith(label + '-')).length;
        appendFileSync(dir + '/' + label + '-' + attempt, String(process.pid));
        if (attempt >= hogs) return { label, attempt };
        const held = [];
        for (let i = 0; i < 128; i++) {
          held.push(Buffer.alloc(64 * 1024 * 1024, 1));
          await new Promise((r) => setTimeout(r, 10));
        }
        return { label, attempt, notKilled: held.length };
      });
      const outcome = async (ref) => {
        try { return { value: await tray.get(ref) }; }
        catch (err) { return { name: err.name, message: err.message }; }
      };
      const dir = ${JSON.stringify(attemptsDir)};
      // maxRetries: 1, killed twice: the OOM budget (2) pays for both, and it returns.
      const twice = await outcome(hog.options({ maxRetries: 1, name: 'hog-twice' }).remote(dir, 'twice', 2));
      // Killed on every attempt: 1 + 2 OOM retries, then OutOfMemoryError (its maxRetries untouched).
      const always = await outcome(hog.options({ maxRetries: 1, name: 'hog-always' }).remote(dir, 'always', 99));
      console.log('RESULT ' + JSON.stringify({ twice, always }));
      await tray.shutdown();
    `);
    const run = await runScript(file, {
      env: { TRAY_TASK_OOM_RETRIES: '2', TRAY_TASK_OOM_RETRY_DELAY_BASE_MS: '10' },
      timeoutMs: 180_000,
    });
    const attempts = readdirSync(attemptsDir);
    for (const f of attempts) started.push(Number(readFileSync(path.join(attemptsDir, f), 'utf8')));
    expect(run.code, run.stderr).toBe(0);
    const { twice, always } = resultOf(run) as {
      twice: { value: { label: string; attempt: number } };
      always: { name: string; message: string };
    };
    expect(twice).toEqual({ value: { label: 'twice', attempt: 2 } });
    expect(attempts.filter((f) => f.startsWith('twice-'))).toHaveLength(3);
    expect(always.name).toBe('OutOfMemoryError');
    expect(always.message).toMatch(/hog-always/);
    expect(always.message).toMatch(/no OOM retries left \(TRAY_TASK_OOM_RETRIES=2\)/);
    // Three attempts were killed (the message says the OOM budget of 2 retries is spent), but the
    // last retry can be killed before its first line writes its file: its lease is granted while
    // the monitor still reads the previous hog's memory (seen once in CI). Never more than 1 + 2:
    // the OOM kills did not draw on maxRetries.
    const alwaysRuns = attempts.filter((f) => f.startsWith('always-')).length;
    expect(alwaysRuns).toBeGreaterThanOrEqual(2);
    expect(alwaysRuns).toBeLessThanOrEqual(3);
    await waitFor(() => started.every((pid) => !isAlive(pid)), { what: 'every worker to be gone' });
  }, 200_000); // the driver has 180 s: the hogs are slow on a loaded machine

  it('refuses a TRAY_TASK_OOM_RETRIES that is not a whole number, naming it', async () => {
    const file = writeDriverScript(`
      import * as tray from '@tray/core';
      try { await tray.init({ numCpus: 1 }); console.log('RESULT "started"'); await tray.shutdown(); }
      catch (err) { console.log('RESULT ' + JSON.stringify(err.message)); }
    `);
    const run = await runScript(file, { env: { TRAY_TASK_OOM_RETRIES: 'lots' }, timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toMatch(
      /TRAY_TASK_OOM_RETRIES must be a whole number ≥ -1 \(-1: no limit\), got 'lots'/,
    );
  });
});
