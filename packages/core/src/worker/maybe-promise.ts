// Values that are ready now or later. The worker's hot paths return a plain value when a task
// finished synchronously, so its reply is written in the same tick (no promise, no microtask
// hop per task), and a promise only when something really waits.
export type MaybePromise<T> = T | Promise<T>;

export function isPromise<T>(value: MaybePromise<T> | unknown): value is Promise<T> {
  return value instanceof Promise;
}

/** A thenable (a user's function may return any promise-like). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}
