// The worker side of a training attempt: one Session per training worker process, kept in a
// slot of globalThis under a registered symbol, so that every copy of this package a process
// loads (the worker bundle, the ESM or CJS build a user's module imports) sees the same one.
// The train API's top-level functions (session/api.ts) act on it.
import type { CollectiveGroup } from '../collective/types.js';
import type { TrainContextValues, WorkerEvent } from '../protocol.js';
import { type Metrics, mergeInto, partialDir } from '../storage.js';

const SLOT = Symbol.for('@tray/train.session');

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

export class Session {
  reports = 0;
  group: CollectiveGroup | undefined;
  private readonly events: WorkerEvent[] = [];
  private pollers: ((e: WorkerEvent) => void)[] = [];
  private readonly acks = new Map<number, Waiter<void>>();
  private readonly shards = new Map<number, Waiter<unknown>>();
  private nextShard = 0;
  private readonly epochs = new Map<string, number>();

  constructor(
    readonly context: TrainContextValues,
    readonly checkpoint: string | undefined,
    readonly datasetNames: string[],
  ) {}

  static current(): Session | undefined {
    return (globalThis as Record<symbol, Session | undefined>)[SLOT];
  }

  static install(session: Session | undefined): void {
    (globalThis as Record<symbol, Session | undefined>)[SLOT] = session;
  }

  emit(event: WorkerEvent): void {
    const poller = this.pollers.shift();
    if (poller) poller(event);
    else this.events.push(event);
  }

  /** The next event for the driver (waits for one). */
  next(): Promise<WorkerEvent> {
    const e = this.events.shift();
    if (e) return Promise.resolve(e);
    return new Promise((resolve) => this.pollers.push(resolve));
  }

  /** report(): copies the checkpoint's files into this report's partial directory, then waits at the barrier. */
  async report(metrics: Metrics, checkpointDir: string | undefined): Promise<void> {
    const index = this.reports++;
    if (checkpointDir !== undefined) {
      mergeInto(checkpointDir, partialDir(this.context.trialDir, this.context.attempt, index));
    }
    const acked = new Promise<void>((resolve, reject) => this.acks.set(index, { resolve, reject }));
    this.emit({ type: 'report', index, metrics, checkpoint: checkpointDir !== undefined });
    await acked;
  }

  ack(index: number, error?: string): void {
    const waiter = this.acks.get(index);
    this.acks.delete(index);
    if (error === undefined) waiter?.resolve();
    else waiter?.reject(new Error(error));
  }

  /** The next epoch's iterator of a dataset's shard, from the driver. */
  shard(name: string): Promise<unknown> {
    const epoch = this.epochs.get(name) ?? 0;
    this.epochs.set(name, epoch + 1);
    const id = this.nextShard++;
    const delivered = new Promise<unknown>((resolve, reject) => this.shards.set(id, { resolve, reject }));
    this.emit({ type: 'shard', id, name, epoch });
    return delivered;
  }

  deliver(id: number, iterator: unknown, error?: string): void {
    const waiter = this.shards.get(id);
    this.shards.delete(id);
    if (error === undefined) waiter?.resolve(iterator);
    else waiter?.reject(new Error(error));
  }
}

/** The session of this worker, or a clear error outside a training function. */
export function session(where: string): Session {
  const s = Session.current();
  if (s === undefined)
    throw new Error(
      `train.${where}() is only available inside a training function run by DataParallelTrainer.fit()`,
    );
  return s;
}
