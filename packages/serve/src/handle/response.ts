// What handle calls return. DeploymentResponse is a thenable (await it; it rejects with the
// replica's error) that can also be passed as an argument to another handle call, which waits
// for it before sending. DeploymentResponseGenerator is the async iterable of a streaming call.

export class DeploymentResponse<T = unknown> implements PromiseLike<T> {
  readonly #promise: Promise<T>;

  /** @internal Made by handle calls. */
  constructor(promise: Promise<T>) {
    this.#promise = promise;
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
}

export class DeploymentResponseGenerator<T = unknown> implements AsyncIterable<T> {
  readonly #iterate: () => AsyncGenerator<T>;
  #used = false;

  /** @internal Made by streaming handle calls. */
  constructor(iterate: () => AsyncGenerator<T>) {
    this.#iterate = iterate;
  }

  [Symbol.asyncIterator](): AsyncGenerator<T> {
    if (this.#used) throw new Error('a DeploymentResponseGenerator can be iterated once');
    this.#used = true;
    return this.#iterate();
  }
}
