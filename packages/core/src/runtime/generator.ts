// Streaming generators on the owner's side: the worker reports each yielded item as it comes
// (ReportGeneratorItemReturns); the ObjectRefGenerator hands out refs to them in yield order and
// ends when the task's reply says how many there were. A generator that fails yields one last
// ref whose get throws the task's error.
// Backpressure (generatorBackpressureNumObjects = N): the worker waits for the reply to each
// report before it asks the generator for its next item, so the owner holds the reply to item i
// until the caller has taken i + 2 - N items: when the generator reaches its next yield, at most
// N of its items are not yet taken. The holds end when the task ends or the caller's
// ObjectRefGenerator is garbage-collected (nobody will take more).
import { ObjectRef } from './object-ref.js';

export class GeneratorStream {
  /** Item object ids, in yield order (hex → id). */
  private readonly items: Buffer[] = [];
  private total: number | undefined;
  private errorItem: Buffer | undefined;
  private waiters: (() => void)[] = [];
  /** Items the caller took (ObjectRefGenerator.next handed them out). */
  private taken = 0;
  /** Report replies held back, with the count of taken items each waits for. */
  private held: { until: number; resolve: () => void }[] = [];

  constructor(
    private readonly owner: {
      address: import('@tray/protocol').tray.v1.IAddress;
      keepAlive<T>(promise: Promise<T>): Promise<T>;
    },
    /** generatorBackpressureNumObjects; undefined: no limit. */
    readonly backpressure?: number,
  ) {}

  /**
   * When the reply to item `index`'s report may go (undefined: now): once the caller took
   * enough items that the generator's next one keeps at most `backpressure` untaken.
   */
  replyWhen(index: number): Promise<void> | undefined {
    if (this.backpressure === undefined) return undefined;
    const until = index + 2 - this.backpressure;
    if (this.taken >= until || this.total !== undefined) return undefined;
    return new Promise<void>((resolve) => this.held.push({ until, resolve }));
  }

  /** The caller took `count` items in all. */
  took(count: number): void {
    if (count <= this.taken) return;
    this.taken = count;
    if (this.held.length === 0) return;
    const still: { until: number; resolve: () => void }[] = [];
    for (const h of this.held) {
      if (this.taken >= h.until) h.resolve();
      else still.push(h);
    }
    this.held = still;
  }

  /** Lets every held reply go: the task ended, or nobody takes items any more. */
  unblock(): void {
    this.took(Number.POSITIVE_INFINITY);
  }

  itemReported(index: number, id: Buffer): void {
    this.items[index] = id;
    this.wake();
  }

  finished(count: number): void {
    this.total = count;
    this.unblock();
    this.wake();
  }

  /** The task failed: after the items reported so far comes one holding the error. */
  failed(errorObjectId: Buffer): void {
    this.errorItem = errorObjectId;
    this.total = this.items.length + 1;
    this.items.push(errorObjectId);
    this.unblock();
    this.wake();
  }

  get failedObjectId(): Buffer | undefined {
    return this.errorItem;
  }

  /** The id of item `index`, undefined when the stream ended before it. */
  item(index: number): Promise<Buffer | undefined> {
    const id = this.items[index];
    if (id !== undefined) return Promise.resolve(id);
    return this.owner.keepAlive(this.waitItem(index));
  }

  private async waitItem(index: number): Promise<Buffer | undefined> {
    for (;;) {
      const id = this.items[index];
      if (id !== undefined) return id;
      if (this.total !== undefined && index >= this.total) return undefined;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  ownerAddress() {
    return this.owner.address;
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }
}

// A generator the caller dropped takes no more items: its stream's held replies go.
const dropped = new FinalizationRegistry<GeneratorStream>((stream) => stream.unblock());

/** An async iterable of the refs a streaming task yields, in yield order. */
export class ObjectRefGenerator<T = unknown> implements AsyncIterableIterator<ObjectRef<T>> {
  #next = 0;
  readonly #stream: GeneratorStream;
  readonly #taskIdHex: string;

  /** @internal Made by `.remote()` of a function with numReturns 'streaming'. */
  constructor(stream: GeneratorStream, taskIdHex: string) {
    this.#stream = stream;
    this.#taskIdHex = taskIdHex;
    if (stream.backpressure !== undefined) dropped.register(this, stream);
  }

  async next(): Promise<IteratorResult<ObjectRef<T>, undefined>> {
    const id = await this.#stream.item(this.#next);
    if (id === undefined) return { done: true, value: undefined };
    this.#next++;
    this.#stream.took(this.#next);
    return { done: false, value: new ObjectRef<T>(id, this.#stream.ownerAddress(), true) };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The streaming task's id, as hex. */
  taskId(): string {
    return this.#taskIdHex;
  }

  toString(): string {
    return `ObjectRefGenerator(${this.#taskIdHex})`;
  }
}
