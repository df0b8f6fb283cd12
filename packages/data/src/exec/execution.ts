// One execution of a plan, shared by its operators (executor.ts, actor-pool.ts): the cluster's
// CPUs, the store budget blocks in flight must fit, errored-block counting, stats and progress;
// and how a task's failure is shown to the user.
import * as tray from '@tray/core';
import type { BlockMeta } from '../block.js';
import { DataContext } from '../context.js';
import { UserCodeError } from '../stages.js';
import { ReleaseCollector } from './collect.js';
import type { BlockRef, Compute } from './plan.js';
import { Progress } from './progress.js';
import { Stats } from './stats.js';

/**
 * Blocks a task may have made and the executor not yet taken (Ray Data's 2 blocks of buffer per
 * streaming generator); each block is two objects (its bytes and its metadata).
 */
export const GENERATOR_BUFFER_BLOCKS = 2;

/** Shared by the operators of one execution: the cluster's size and the store budget. */
export class Execution {
  readonly stats = new Stats();
  private outstanding = 0;
  private produced = 0;
  private producedBytes = 0;
  erroredBlocks = 0;

  constructor(
    readonly cpus: number,
    readonly budgetBytes: number,
    readonly context: DataContext,
  ) {}

  static async start(): Promise<Execution> {
    const resources = await tray.clusterResources();
    const context = DataContext.getCurrent();
    const store = resources.object_store_memory ?? 2 ** 30;
    const exec = new Execution(
      Math.max(1, resources.CPU ?? 1),
      store * context.objectStoreMemoryFraction,
      context,
    );
    const progress = new Progress(context.enableProgressBars);
    exec.stats.onStart = (op) => progress.add(op);
    exec.stats.onFinish = (op) => progress.finished(op);
    exec.progress = progress;
    return exec;
  }

  progress: Progress | undefined;

  /**
   * Room for another task's output: the blocks produced and not yet consumed, plus the expected
   * output of the tasks in flight (at the average block size so far), stay under the budget.
   * Always true when nothing is in flight, so every operator makes progress.
   */
  hasRoom(inFlight: number): boolean {
    return (
      inFlight === 0 ||
      this.outstanding + this.generatorBufferBytes() + (inFlight + 1) * this.averageBlock() <=
        this.budgetBytes
    );
  }

  /** Paced tasks running (executor.ts): each may hold GENERATOR_BUFFER_BLOCKS untaken. */
  pacedTasks = 0;

  /** The store the paced tasks' untaken blocks may use, at the average block size so far. */
  private generatorBufferBytes(): number {
    return this.pacedTasks * GENERATOR_BUFFER_BLOCKS * this.averageBlock();
  }

  /** Taken blocks and the paced tasks' buffers fill the budget: paced tasks wait. */
  get full(): boolean {
    return this.outstanding + this.generatorBufferBytes() >= this.budgetBytes;
  }

  /** Bytes of produced blocks not yet consumed. */
  get outstandingBytes(): number {
    return this.outstanding;
  }

  private averageBlock(): number {
    return this.produced === 0 ? 0 : this.producedBytes / this.produced;
  }

  /** Counts a produced block against the budget; the returned function gives it back (once). */
  track(bytes: number): () => void {
    this.outstanding += bytes;
    this.produced++;
    this.producedBytes += bytes;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.outstanding -= bytes;
        if (this.releaseWaiters.length > 0) {
          const waiting = this.releaseWaiters;
          this.releaseWaiters = [];
          for (const w of waiting) w();
        }
      }
    };
  }

  private releaseWaiters: (() => void)[] = [];

  /** `wake` is called (once) the next time a block's budget is given back. */
  onRelease(wake: () => void): void {
    this.releaseWaiters.push(wake);
  }

  /**
   * A block this execution made, counted against the budget until released, its ref let go
   * (not left to V8's collector) by whoever drops it. Only blocks this process read pin store
   * memory past that, in views V8 must collect: every quarter of the budget of those, the
   * driver's heap is collected (collect.ts).
   */
  made(block: tray.ObjectRef<Uint8Array>, meta: BlockMeta): BlockRef {
    const release = this.track(meta.sizeBytes);
    return {
      block,
      meta,
      release,
      drop: (viewed) => {
        release();
        if (tray.experimental.release(block) === 1 && viewed === true) {
          this.viewCollector ??= new ReleaseCollector(Math.max(1, this.budgetBytes / 4));
          this.viewCollector.released(meta.sizeBytes);
        }
      },
    };
  }

  private viewCollector: ReleaseCollector | undefined;

  /** Tasks of this shape that may run at once: the CPUs they fit on, twice over to hide latency. */
  maxInFlight(compute: Compute): number {
    const perTask = compute.numCpus ?? 1;
    const fit = perTask > 0 ? Math.max(1, Math.floor(this.cpus / perTask)) : this.cpus;
    const cap = typeof compute.concurrency === 'number' ? compute.concurrency : Number.POSITIVE_INFINITY;
    return Math.max(1, Math.min(fit * 2, cap));
  }
}

/**
 * The holder is done with `b`: a block the execution made goes from the store now, one of a
 * materialized dataset only gives its budget back (the dataset keeps it).
 */
export function dropBlock(b: BlockRef, viewed = false): void {
  if (b.drop !== undefined) b.drop(viewed);
  else b.release?.();
}

/** A task's error as the user should see it: the UserCodeError it carried, else unchanged. */
export function asDataError(error: unknown, operator: string): unknown {
  const cause = (error as { cause?: unknown })?.cause;
  if (cause instanceof Error && cause.name === 'UserCodeError') {
    return new UserCodeError((cause as { operator?: string }).operator ?? operator, cause.message, {
      cause: error,
    });
  }
  // A source's own failure (a missing file, a malformed line) already names its path.
  if (cause instanceof Error && /^(read|write)\w+: /.test(cause.message))
    return new Error(cause.message, { cause: error });
  return error;
}
