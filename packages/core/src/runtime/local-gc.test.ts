import { waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { collectWhenIdle } from './local-gc.js';

// collectGarbage() takes globalThis.gc when the process exposes one: count its calls.
let collections = 0;
(globalThis as { gc?: () => void }).gc = () => {
  collections++;
};

/** Keeps this process's event loop busy (~30% of each 100 ms). */
function busyLoop(): () => void {
  const timer = setInterval(() => {
    const until = performance.now() + 30;
    while (performance.now() < until) {}
  }, 100);
  return () => clearInterval(timer);
}

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

describe('collectWhenIdle', () => {
  it('collects a worker whose busy loop is running task after task (their dropped views must go)', async () => {
    let tasks = 0;
    let heapChange: number[] = [];
    stops.push(busyLoop());
    const ticking = setInterval(() => {
      tasks++;
      heapChange = new Array(1000).fill(tasks); // the heap changes between checks
    }, 50);
    stops.push(() => clearInterval(ticking));
    stops.push(
      collectWhenIdle(
        () => true,
        () => heapChange.length > 0,
        () => tasks,
      ),
    );
    await waitFor(() => collections > 0, { timeoutMs: 10_000, what: 'a collection between tasks' });
    expect(collections).toBeGreaterThan(0);
  });
});
