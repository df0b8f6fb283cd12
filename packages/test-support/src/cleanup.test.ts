// Cleanup runs its steps last-first, runs every step even when one fails (then throws the first
// error), and removes the temporary directories it made.
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { Cleanup } from './cleanup.js';

it('runs steps last-first, all of them, and throws the first failure', async () => {
  const cleanup = new Cleanup();
  const order: string[] = [];
  cleanup.add(() => order.push('first'));
  cleanup.add(() => {
    order.push('failing');
    throw new Error('step failed');
  });
  cleanup.add(async () => order.push('last'));
  await expect(cleanup.run()).rejects.toThrow('step failed');
  expect(order).toEqual(['last', 'failing', 'first']);
  await cleanup.run(); // nothing left to run
  expect(order).toHaveLength(3);
});

it('removes the temporary directories it made', async () => {
  const cleanup = new Cleanup();
  const dir = cleanup.tempDir('tray-cleanup-test-');
  expect(existsSync(dir)).toBe(true);
  await cleanup.run();
  expect(existsSync(dir)).toBe(false);
});
