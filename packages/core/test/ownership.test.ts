// Ownership across processes: objects a task puts are owned by its worker and can be returned
// to (and read by) the caller; cancelling a chain's head cancels the chain; recursive cancel
// reaches the tasks a cancelled task submitted; a non-forced cancel of a running task makes it
// TaskCancelledError and is visible to the task through getRuntimeContext().isCanceled().
import { isAlive, waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tray from '../src/index.js';
import { remoteSource } from './helpers.js';

beforeAll(async () => {
  await tray.init({ numCpus: 2 });
});

afterAll(async () => {
  await tray.shutdown();
});

describe('borrowed refs', () => {
  it('reads objects a task put and returned inside its result', async () => {
    const make = tray.remote(
      remoteSource<
        (n: number) => Promise<{ small: tray.ObjectRef<number>; big: tray.ObjectRef<Float64Array> }>
      >(`async (n) => ({ small: await tray.put(n), big: await tray.put(new Float64Array(200000).fill(n)) })`),
    );
    const holder = await tray.get(make.remote(3));
    expect(await tray.get(holder.small)).toBe(3);
    const big = await tray.get(holder.big);
    expect(big.length).toBe(200000);
    expect(big[199999]).toBe(3);
    // The worker-owned objects can be passed on to other tasks.
    const sum = tray.remote((a: Float64Array, b: number) => a[0]! + b);
    expect(await tray.get(sum.remote(holder.big, holder.small))).toBe(6);
  });
});

describe('cancellation', () => {
  const sleep = tray.remote(async (ms: number) => {
    await new Promise((r) => setTimeout(r, ms));
    return ms;
  });

  it('cancels a dependency chain from its head', async () => {
    const head = sleep.remote(10_000);
    const inc = tray.remote((x: number) => x + 1);
    const second = inc.remote(head);
    const third = inc.remote(second);
    await tray.cancel(head, { force: true });
    await expect(tray.get(head)).rejects.toBeInstanceOf(tray.TaskCancelledError);
    await expect(tray.get(third)).rejects.toBeInstanceOf(tray.TaskCancelledError);
  });

  it('fails a running task with TaskCancelledError at once and lets it see isCanceled()', async () => {
    const { existsSync, rmSync } = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const marker = path.join(os.tmpdir(), `tray-noticed-${process.pid}`);
    rmSync(marker, { force: true });
    const polite = tray.remote(
      remoteSource<(m: string) => Promise<string>>(`async (m) => {
        while (!tray.getRuntimeContext().isCanceled()) await new Promise((r) => setTimeout(r, 10));
        require('node:fs').writeFileSync(m, 'noticed');
        return 'noticed';
      }`),
    );
    const ref = polite.remote(marker);
    await expect(tray.get(ref, { timeoutMs: 300 })).rejects.toBeInstanceOf(tray.GetTimeoutError);
    await tray.cancel(ref);
    await expect(tray.get(ref)).rejects.toBeInstanceOf(tray.TaskCancelledError);
    await waitFor(() => existsSync(marker), { what: 'the task to notice the cancellation' });
    rmSync(marker, { force: true });
  });

  it('cancels the tasks a cancelled task submitted (recursive, forced)', async () => {
    const { existsSync, readFileSync, rmSync } = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const marker = path.join(os.tmpdir(), `tray-child-pid-${process.pid}`);
    rmSync(marker, { force: true });
    const child = tray.remote(async (m: string) => {
      require('node:fs').writeFileSync(m, String(process.pid));
      await new Promise((r) => setTimeout(r, 60_000));
      return 'child finished';
    });
    const parent = tray.remote(
      remoteSource<(m: string) => Promise<unknown>>('async (m) => tray.get(child.remote(m))'),
      { captures: { child } },
    );
    const ref = parent.remote(marker);
    await waitFor(() => existsSync(marker) && readFileSync(marker, 'utf8').length > 0, {
      what: 'the child task to start',
    });
    const childPid = Number(readFileSync(marker, 'utf8'));
    await tray.cancel(ref, { force: true, recursive: true });
    await expect(tray.get(ref)).rejects.toBeInstanceOf(tray.TaskCancelledError);
    await waitFor(() => !isAlive(childPid), { what: "the child task's worker to be killed" });
    rmSync(marker, { force: true });
  });
});
