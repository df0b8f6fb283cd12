// What handle calls return. DeploymentResponse is a thenable (await it; it rejects with the
// replica's error) that can also be passed as an argument to another handle call, which waits
// for it before sending. DeploymentResponseGenerator is the async iterable of a streaming call.
// Both can be cancelled (Ray's response.cancel()): the caller gets RequestCancelledError, and the
// replica's method sees its request's signal abort (serve.getRequestContext().signal).

export class DeploymentResponse<T = unknown> implements PromiseLike<T> {
  readonly #promise: Promise<T>;
  readonly #cancel: () => void;

  /** @internal Made by handle calls. */
  constructor(promise: Promise<T>, cancel: () => void = () => {}) {
    this.#promise = promise;
    this.#cancel = cancel;
    // A response nobody awaits must not become an unhandled rejection.
    promise.catch(() => {});
  }

  // biome-ignore lint/suspicious/noThenProperty: a DeploymentResponse is awaitable by design (Ray's)
  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#promise.then(onFulfilled, onRejected);
  }

  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<T | B> {
    return this.#promise.catch(onRejected);
  }

  /** The result (Ray's response.result()). */
  result(): Promise<T> {
    return this.#promise;
  }

  /**
   * Cancels the request (no-op once it has finished): awaiting it rejects with
   * RequestCancelledError, and the replica's method sees its request signal abort.
   */
  cancel(): void {
    this.#cancel();
  }
}

export class DeploymentResponseGenerator<T = unknown> implements AsyncIterable<T> {
  readonly #iterate: () => AsyncGenerator<T>;
  readonly #cancel: () => void;
  #used = false;

  /** @internal Made by streaming handle calls. */
  constructor(iterate: () => AsyncGenerator<T>, cancel: () => void = () => {}) {
    this.#iterate = iterate;
    this.#cancel = cancel;
  }

  /** Cancels the stream: the pending and later reads reject with RequestCancelledError. */
  cancel(): void {
    this.#cancel();
  }

  [Symbol.asyncIterator](): AsyncGenerator<T> {
    if (this.#used) throw new Error('a DeploymentResponseGenerator can be iterated once');
    this.#used = true;
    return this.#iterate();
  }
}
