// Streaming generators on the owner's side: the worker reports each yielded item as it comes
// (ReportGeneratorItemReturns); the ObjectRefGenerator hands out refs to them in yield order and
// ends when the task's reply says how many there were. A generator that fails yields one last
// ref whose get throws the task's error.
import { ObjectRef } from './object-ref.js';

export class GeneratorStream {
  /** Item object ids, in yield order (hex → id). */
  private readonly items: Buffer[] = [];
  private total: number | undefined;
  private errorItem: Buffer | undefined;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly owner: {
      address: import('@tray/protocol').tray.v1.IAddress;
      keepAlive<T>(promise: Promise<T>): Promise<T>;
    },
  ) {}

  itemReported(index: number, id: Buffer): void {
    this.items[index] = id;
    this.wake();
  }

  finished(count: number): void {
    this.total = count;
    this.wake();
  }

  /** The task failed: after the items reported so far comes one holding the error. */
  failed(errorObjectId: Buffer): void {
    this.errorItem = errorObjectId;
    this.total = this.items.length + 1;
    this.items.push(errorObjectId);
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

/** An async iterable of the refs a streaming task yields, in yield order. */
export class ObjectRefGenerator<T = unknown> implements AsyncIterableIterator<ObjectRef<T>> {
  #next = 0;
  readonly #stream: GeneratorStream;
  readonly #taskIdHex: string;

  /** @internal Made by `.remote()` of a function with numReturns 'streaming'. */
  constructor(stream: GeneratorStream, taskIdHex: string) {
    this.#stream = stream;
    this.#taskIdHex = taskIdHex;
  }

  async next(): Promise<IteratorResult<ObjectRef<T>, undefined>> {
    const id = await this.#stream.item(this.#next);
    if (id === undefined) return { done: true, value: undefined };
    this.#next++;
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
