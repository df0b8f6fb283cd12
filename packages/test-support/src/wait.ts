// Waiting on a condition with a deadline: the one way tray's tests synchronise (STYLE.md: no
// sleeps as synchronisation). Polls until the condition returns a truthy value and resolves with
// that value; at the deadline it throws, naming what it waited for, so a failing test says what
// never happened. An error the condition throws ends the wait at once.

export interface WaitOptions {
  /** How long to wait before failing, ms; default 20 s (below the test timeouts: the error names what was awaited). */
  timeoutMs?: number;
  /** Time between polls, ms; default 20. */
  intervalMs?: number;
  /** What is awaited, for the error: "the worker to exit". */
  what?: string;
}

export const DEFAULT_TIMEOUT_MS = 20_000;

export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: WaitOptions = {},
): Promise<NonNullable<T>> {
  const { timeoutMs = DEFAULT_TIMEOUT_MS, intervalMs = 20, what = 'a condition' } = options;
  if (typeof condition !== 'function') {
    throw new TypeError('waitFor: the condition must be a function that returns a value to wait for');
  }
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    throw new RangeError(`waitFor: timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
  }
  if (!(intervalMs >= 0) || !Number.isFinite(intervalMs)) {
    throw new RangeError(`waitFor: intervalMs must be a number of milliseconds >= 0, got ${intervalMs}`);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The settled state of a promise, readable at any time without awaiting it. */
export interface Tracked<T> {
  done: boolean;
  value?: T;
  error?: unknown;
}

/** Watch `promise` settle: lets a test assert that something has not happened (yet). */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const state: Tracked<T> = { done: false };
  promise.then(
    (value) => Object.assign(state, { done: true, value }),
    (error) => Object.assign(state, { done: true, error }),
  );
  return state;
}
