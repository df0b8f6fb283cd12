// waitFor resolves with the condition's first truthy value, fails at its deadline naming what it
// waited for, stops on a condition's error, and refuses options that make no sense; track shows
// a promise's settled state without awaiting it.
import { expect, it } from 'vitest';
import { track, waitFor } from './wait.js';

it('resolves with the first truthy value, after the condition became true', async () => {
  let calls = 0;
  const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), { intervalMs: 1 });
  expect(value).toEqual({ calls: 3 });
  expect(calls).toBe(3);
});

it('awaits async conditions', async () => {
  let calls = 0;
  expect(await waitFor(async () => ++calls === 2 && 'done', { intervalMs: 1 })).toBe('done');
});

it('fails at the deadline with what it waited for', async () => {
  await expect(waitFor(() => false, { timeoutMs: 50, what: 'the moon to turn blue' })).rejects.toThrow(
    'timed out after 50 ms waiting for the moon to turn blue',
  );
});

it('stops at once when the condition throws', async () => {
  let calls = 0;
  const failing = waitFor(
    () => {
      calls++;
      throw new Error('the process it watched exited');
    },
    { timeoutMs: 10_000 },
  );
  await expect(failing).rejects.toThrow('the process it watched exited');
  expect(calls).toBe(1);
});

it('refuses a timeout or interval that is not a positive number, saying which', async () => {
  await expect(waitFor(() => true, { timeoutMs: 0 })).rejects.toThrow(/timeoutMs must be a positive number/);
  await expect(waitFor(() => true, { intervalMs: Number.NaN })).rejects.toThrow(/intervalMs must be/);
  await expect(waitFor('ready' as any)).rejects.toThrow(/condition must be a function/);
});

it('track shows whether a promise has settled, and how', async () => {
  let resolve!: (v: number) => void;
  const pending = track(new Promise<number>((r) => (resolve = r)));
  const failed = track(Promise.reject(new Error('no')));
  expect(pending.done).toBe(false);
  resolve(7);
  await waitFor(() => pending.done && failed.done, { what: 'both to settle' });
  expect(pending.value).toBe(7);
  expect((failed.error as Error).message).toBe('no');
});
