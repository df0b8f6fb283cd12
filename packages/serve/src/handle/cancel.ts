// A request's cancellation on the hot path: what AbortController does for serve's own code
// (aborted, reason, a callback when it aborts) without making an AbortSignal — an EventTarget
// whose construction and listeners were ~10% of the proxy's CPU per request. APIs that need a
// real AbortSignal (a web Request, user code) get one from `signal`, made on first use.

export class Cancel {
  aborted = false;
  reason: unknown = undefined;
  #listeners: Array<() => void> | undefined;
  #controller: AbortController | undefined;

  /** Aborts (once): listeners run, and `signal`, if made, aborts with the same reason. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.#controller?.abort(reason);
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners !== undefined) for (const fn of listeners) fn();
  }

  /** Calls `fn` once when this aborts (now, if it has); returns what stops that. */
  onAbort(fn: () => void): () => void {
    if (this.aborted) {
      fn();
      return noop;
    }
    (this.#listeners ??= []).push(fn);
    return () => {
      const at = this.#listeners?.indexOf(fn) ?? -1;
      if (at >= 0) this.#listeners!.splice(at, 1);
    };
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }

  /** An AbortSignal that aborts with this (made on first use). */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort(this.reason);
    }
    return this.#controller.signal;
  }
}

const noop = () => {};

/** The promise's value, or the cancel's reason (a RequestCancelledError) as soon as it aborts. */
export function untilAborted<T>(value: Promise<T>, cancel: Cancel | undefined): Promise<T> {
  if (cancel === undefined) return value;
  if (cancel.aborted) return Promise.reject(cancel.reason);
  return new Promise<T>((resolve, reject) => {
    const off = cancel.onAbort(() => reject(cancel.reason));
    value.then(
      (v) => {
        off();
        resolve(v);
      },
      (e) => {
        off();
        reject(e);
      },
    );
  });
}
