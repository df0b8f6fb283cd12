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
import { type Allocation, allocate, type OperatorUsage } from './reservations.js';
import { Stats } from './stats.js';

/**
 * Blocks a task may have made and the executor not yet taken (Ray Data's 2 blocks of buffer per
 * streaming generator); each block is two objects (its bytes and its metadata).
 */
export const GENERATOR_BUFFER_BLOCKS = 2;

/**
 * One operator's account in an execution: its tasks running and the store bytes of its outputs
 * that nobody downstream has let go of yet (queued here, in the next operator's input or in a
 * task of it, or held by the consumer). The reservations (reservations.ts) decide from these.
 */
export class OperatorAccount {
  running = 0;
  /** Running tasks held back by generator backpressure (each may hold its buffer's blocks). */
  held = 0;
  outputBytes = 0;
  peakOutputBytes = 0;
  private blocks = 0;
  private bytes = 0;
  /** Its tasks started being launched (an operator not started yet reserves nothing). */
  started = false;
  /** No more tasks will be launched (its input is done). */
  inputsDone = false;

  constructor(
    readonly name: string,
    readonly taskCpus: number,
    /** A task operator the reservations apply to (false: its use comes out of the shared rest). */
    readonly eligible: boolean,
  ) {}

  /** The average block this operator made so far (0 before its first). */
  get blockBytes(): number {
    return this.blocks === 0 ? 0 : this.bytes / this.blocks;
  }

  get completed(): boolean {
    return this.inputsDone && this.running === 0;
  }

  recordBlock(bytes: number): void {
    this.blocks++;
    this.bytes += bytes;
  }
}

/** Shared by the operators of one execution: the cluster's size and the store budget. */
export class Execution {
  readonly stats = new Stats();
  private readonly accounts: OperatorAccount[] = [];
  /** Blocks made outside any task operator (all-to-all results, a limit's slice). */
  private readonly others: OperatorAccount;
  private outstanding = 0;
  private produced = 0;
  private producedBytes = 0;
  /** Most store bytes the accounts held at once (outputs and running tasks' estimated pending). */
  peakAccountedBytes = 0;
  erroredBlocks = 0;

  constructor(
    readonly cpus: number,
    readonly budgetBytes: number,
    readonly context: DataContext,
  ) {
    this.others = this.operator('(other)', 0, false);
    const self = this;
    this.stats.budget = {
      budgetBytes,
      get peakBytes() {
        return self.peakAccountedBytes;
      },
      countedBytes: () => this.outstanding,
    };
  }

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
   * An operator's account, in plan order (call it for an operator's input first, so upstream
   * operators come first). `eligible`: a task operator (reservations apply).
   */
  operator(name: string, taskCpus: number, eligible = true): OperatorAccount {
    const account = new OperatorAccount(name, taskCpus, eligible);
    this.accounts.push(account);
    return account;
  }

  private allocation(account: OperatorAccount): Allocation | undefined {
    const live = this.accounts.filter(
      (a) => a === account || (a.started && !a.completed) || a.outputBytes > 0 || a.running > 0,
    );
    const usages = live.map((a): OperatorUsage => {
      const blockBytes = a.blockBytes || this.averageBlock();
      return {
        taskCpus: a.taskCpus,
        blockBytes,
        runningCpus: a.running * a.taskCpus,
        pendingBytes: (a.running + a.held * (GENERATOR_BUFFER_BLOCKS - 1)) * blockBytes,
        outputBytes: a.outputBytes,
        eligible: a.eligible && !a.completed,
      };
    });
    return allocate({ cpus: this.cpus, memory: this.budgetBytes }, usages)[live.indexOf(account)];
  }

  /** The operator's reservation and its part of the shared rest fit one more of its tasks. */
  canLaunch(account: OperatorAccount): boolean {
    return this.allocation(account)?.canLaunch ?? true;
  }

  /**
   * Generator backpressure: the executor may take another block from the operator's running
   * tasks (the next block, at the operator's average, fits what it may read).
   */
  mayTakeOutput(account: OperatorAccount): boolean {
    const max = this.allocation(account)?.maxOutputBytesToRead ?? Number.POSITIVE_INFINITY;
    return max >= Math.max(1, account.blockBytes || this.averageBlock());
  }

  /** Bytes of produced blocks not yet consumed. */
  get outstandingBytes(): number {
    return this.outstanding;
  }

  private averageBlock(): number {
    return this.produced === 0 ? 0 : this.producedBytes / this.produced;
  }

  /**
   * Counts a produced block against its operator (and the budget); the returned function gives
   * it back (once).
   */
  track(bytes: number, account: OperatorAccount = this.others): () => void {
    this.outstanding += bytes;
    this.produced++;
    this.producedBytes += bytes;
    account.outputBytes += bytes;
    account.peakOutputBytes = Math.max(account.peakOutputBytes, account.outputBytes);
    account.recordBlock(bytes);
    this.peakAccountedBytes = Math.max(this.peakAccountedBytes, this.outstanding);
    this.changed();
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.outstanding -= bytes;
        account.outputBytes -= bytes;
        this.changed();
      }
    };
  }

  private waiters: (() => void)[] = [];

  /** Resolves at the next change of any account (a block made or let go, a task started or ended). */
  nextChange(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Tells the waiters that an account changed. */
  changed(): void {
    if (this.waiters.length === 0) return;
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }

  /**
   * A block this execution made, counted against its operator until released, its ref let go
   * (not left to V8's collector) by whoever drops it. Only blocks this process read pin store
   * memory past that, in views V8 must collect: every quarter of the budget of those, the
   * driver's heap is collected (collect.ts).
   */
  made(block: tray.ObjectRef<Uint8Array>, meta: BlockMeta, account?: OperatorAccount): BlockRef {
    const release = this.track(meta.sizeBytes, account);
    const letGo = (viewed: boolean) => {
      if (tray.experimental.release(block) === 1 && viewed) {
        this.viewCollector ??= new ReleaseCollector(Math.max(1, this.budgetBytes / 4));
        this.viewCollector.released(meta.sizeBytes);
      }
    };
    return {
      block,
      meta,
      release,
      drop: (viewed) => {
        release();
        letGo(viewed === true);
      },
      handOver: () => {
        letGo(false);
        return release;
      },
    };
  }

  private viewCollector: ReleaseCollector | undefined;

  /**
   * Tasks of this shape that may be launched and not yet handed out at once (the reservations
   * decide how many run; this bounds the blocks waiting to be handed out in order): the CPUs
   * they fit on, twice over, or `concurrency`.
   */
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
