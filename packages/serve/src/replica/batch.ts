// serve.batch: turns a function of a list into a function of one item. Calls that arrive within
// batchWaitTimeoutMs of the first, up to maxBatchSize, run as one call of the wrapped function,
// which returns one result per item in order; each caller gets its own result, and an error
// (thrown, or a result list of the wrong length) fails every call of that batch. Use it for a
// replica method: `predict = serve.batch(async function (xs) { ... })` (inside shipped code,
// serve comes from `require('@tray/serve')`).

export interface BatchOptions {
  maxBatchSize?: number;
  batchWaitTimeoutMs?: number;
}

interface Pending<T, R> {
  item: T;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

export function batch<T, R, This = unknown>(
  fn: (this: This, items: T[]) => R[] | Promise<R[]>,
  options: BatchOptions = {},
): (this: This, item: T) => Promise<R> {
  if (typeof fn !== 'function')
    throw new TypeError('serve.batch(fn, options): fn must be a function of a list of items');
  const maxBatchSize = options.maxBatchSize ?? 10;
  const waitMs = options.batchWaitTimeoutMs ?? 10;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) {
    throw new TypeError(
      `serve.batch: maxBatchSize must be an integer >= 1, got ${JSON.stringify(maxBatchSize)}`,
    );
  }
  if (typeof waitMs !== 'number' || !(waitMs >= 0)) {
    throw new TypeError(
      `serve.batch: batchWaitTimeoutMs must be a number >= 0, got ${JSON.stringify(waitMs)}`,
    );
  }
  let queue: Pending<T, R>[] = [];
  let timer: NodeJS.Timeout | undefined;
  let self: This;

  const flush = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const batchItems = queue.slice(0, maxBatchSize);
    queue = queue.slice(maxBatchSize);
    if (queue.length > 0) timer = setTimeout(flush, waitMs);
    void (async () => {
      try {
        const results = await fn.call(
          self,
          batchItems.map((p) => p.item),
        );
        if (!Array.isArray(results) || results.length !== batchItems.length) {
          throw new TypeError(
            `serve.batch: the batched function must return one result per item (${batchItems.length}), ` +
              `got ${Array.isArray(results) ? results.length : typeof results}`,
          );
        }
        for (const [i, p] of batchItems.entries()) p.resolve(results[i]!);
      } catch (error) {
        for (const p of batchItems) p.reject(error);
      }
    })();
  };

  return function (this: This, item: T): Promise<R> {
    self = this;
    return new Promise<R>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (queue.length >= maxBatchSize) flush();
      else timer ??= setTimeout(flush, waitMs);
    });
  };
}
