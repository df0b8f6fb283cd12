// The owner's table of the tasks it submitted and has not finished: their specs (kept for
// retries), where each stands, and what happens when one ends — results into the memory store,
// retries (worker crashes up to maxRetries, memory-monitor kills within their own budget;
// exceptions only with retryExceptions), or an error that takes the place of every return.
import { ErrorType, type tray } from '@tray/protocol';
import { systemError } from './error-info.js';
import type { GeneratorStream } from './generator.js';
import { hex, objectIdOf } from './ids.js';
import type { MemoryStore, StoredObject } from './memory-store.js';
import { type OomRetryPolicy, oomRetryDelayMs, oomRetryPolicy } from './oom-retries.js';
import type { SpecTemplate } from './push-encoding.js';
import { InlineReturn } from './push-reply.js';
import type { ReferenceCounter } from './reference-counter.js';
import type { LeasedWorker, TaskEvents } from './task-events.js';

export type TaskStatus = 'resolving' | 'queued' | 'running' | 'done';

export interface PendingTask {
  spec: tray.v1.ITaskSpec;
  taskIdHex: string;
  name: string;
  /** The hex of each return's object id (its ObjectRef makes the id bytes when asked). */
  returnHexes: string[];
  /** Refs the task's arguments hold (top-level and nested), released when it ends. */
  argRefs: string[];
  retriesLeft: number;
  /** Retries left for kills by the memory monitor (set at the first one; -1: no limit). */
  oomRetriesLeft?: number;
  status: TaskStatus;
  cancelled: boolean;
  schedulingKey: string;
  /** Task events' row of this task's attempt (TaskEvents.owner's to set; -1 at first). */
  eventsRow: number;
  /** Task events' times not yet in a row, and the worker pushed to (TaskEvents.queued/pushed). */
  argsAtMs: number;
  queuedAtMs: number;
  pushedAtMs: number;
  pushedTo: LeasedWorker | undefined;
  /** What the task shares with others of its remote function (encoded once). */
  template?: SpecTemplate;
  stream?: GeneratorStream;
  /** Called to stop the task where it is (queued: dequeue; running: CancelTask). */
  onCancel?: (task: PendingTask, force: boolean, recursive: boolean) => Promise<void> | void;
  /** The submitter's record of where the task runs (its lease), while it runs. */
  runningOn?: unknown;
  /**
   * Finished with a return in another node's store, and retries left: its spec and arguments are
   * kept (lineage) so the return can be made again if that node is lost.
   */
  lineage?: boolean;
}

export interface TaskManagerHooks {
  /** True when a store value on `nodeId` is in this process's own node's store. */
  isLocalNode(nodeId: Uint8Array): boolean;
  /** Submit the task again (a retry): its dependencies are already resolved. */
  resubmit(task: PendingTask): void;
  /** A finished return nobody references any more: give back what it holds. */
  discard(value: tray.v1.IObjectValue): void;
}

export class TaskManager {
  private readonly tasks = new Map<string, PendingTask>();
  /** Finished tasks whose returns live in other nodes' stores, by return id (hex). */
  private readonly lineage = new Map<string, PendingTask>();
  /** Where the owner's view of each task's state changes goes (task-events.ts; set by the core worker). */
  events: TaskEvents | undefined;

  constructor(
    private readonly memoryStore: MemoryStore,
    private readonly refs: ReferenceCounter,
    private readonly hooks: TaskManagerHooks,
    /** Read once, so that a bad TRAY_TASK_OOM_RETRIES fails tray.init, not a task. */
    private readonly oomPolicy: OomRetryPolicy = oomRetryPolicy(),
  ) {}

  get numPending(): number {
    return this.tasks.size;
  }

  add(task: PendingTask): void {
    this.tasks.set(task.taskIdHex, task);
    if (task.status === 'resolving') this.events?.made(task);
  }

  get(taskIdHex: string): PendingTask | undefined {
    return this.tasks.get(taskIdHex);
  }

  /** Tasks whose parent is `parentHex` (for recursive cancellation). */
  childrenOf(parentHex: string): PendingTask[] {
    const out: PendingTask[] = [];
    for (const t of this.tasks.values()) {
      if (t.spec.parentTaskId && hex(t.spec.parentTaskId) === parentHex) out.push(t);
    }
    return out;
  }

  /** The worker replied. */
  completed(task: PendingTask, reply: tray.v1.PushTaskReply): void {
    if (task.status === 'done') return;
    if (task.cancelled || reply.wasCancelled) {
      this.failed(task, systemError(ErrorType.TASK_CANCELLED, `task ${task.name} was cancelled`));
      return;
    }
    if (reply.isApplicationError && this.retriesException(task, reply)) {
      this.retry(task, true, reply.returnObjects[0]?.error ?? undefined);
      return;
    }
    if (this.events !== undefined) {
      const error = reply.returnObjects[0]?.error ?? undefined;
      // The executor's start and end times ride on the reply (0 from an executor that sends none).
      this.events.ran(task, reply.startedAtMs, reply.endedAtMs, error);
    }
    if (task.stream !== undefined) {
      const error = reply.returnObjects[0]?.error;
      if (error) this.failStream(task, error);
      else task.stream.finished(Number(reply.numStreamed));
      this.finish(task);
      return;
    }
    const returnHexes = task.returnHexes;
    // Kept (lineage) while a return lives in another node's store and a rerun is allowed; else
    // an ordinary finished task, whose arguments finish() lets go. An earlier run's entries
    // were removed when it was rerun (reconstruct).
    const rerunnable = task.retriesLeft !== 0;
    let kept = false;
    for (let i = 0; i < returnHexes.length; i++) {
      const value = reply.returnObjects[i];
      const idHex = returnHexes[i]!;
      if (!this.refs.has(idHex)) {
        // Nobody references the return any more: what it holds is given back at once.
        if (value !== undefined) this.hooks.discard(value);
      } else if (value === undefined) {
        this.storeReferenced(idHex, {
          error: systemError(ErrorType.ERROR_UNKNOWN, `task ${task.name} returned no value ${i}`),
        });
      } else {
        this.storeReferenced(idHex, storedFromValue(value));
        if (rerunnable && value.inPlasma && value.nodeId?.length && !this.hooks.isLocalNode(value.nodeId)) {
          this.lineage.set(idHex, task);
          kept = true;
        }
      }
    }
    task.lineage = kept;
    this.finish(task);
  }

  /**
   * The worker died while running the task (or could not be reached). `cause` asks its raylet
   * why: killed by the memory monitor, a task with maxRetries ≠ 0 is retried within its own OOM
   * budget (oom-retries.ts), after a backoff, without using up maxRetries, and fails with
   * OutOfMemoryError once that is spent (or at once with maxRetries: 0). Any other death is
   * retried within maxRetries, else fails with WorkerCrashedError.
   */
  workerDied(
    task: PendingTask,
    why: string,
    cause?: () => Promise<tray.v1.IErrorInfo | null | undefined>,
  ): void {
    if (task.status === 'done') return;
    if (task.cancelled) {
      this.failed(task, systemError(ErrorType.TASK_CANCELLED, `task ${task.name} was cancelled`));
      return;
    }
    if (cause === undefined) {
      this.crashed(task, why, undefined);
      return;
    }
    cause().then(
      (info) => this.crashed(task, why, info ?? undefined),
      () => this.crashed(task, why, undefined),
    );
  }

  private crashed(task: PendingTask, why: string, info: tray.v1.IErrorInfo | undefined): void {
    if (task.status === 'done') return;
    const oom = info?.type === ErrorType.OUT_OF_MEMORY;
    if (oom && task.spec.maxRetries !== 0 && task.stream === undefined) {
      task.oomRetriesLeft ??= this.oomPolicy.retries;
      if (task.oomRetriesLeft !== 0) {
        if (task.oomRetriesLeft > 0) task.oomRetriesLeft--;
        this.retry(task, false, info);
        return;
      }
      const limit = `no OOM retries left (TRAY_TASK_OOM_RETRIES=${this.oomPolicy.retries})`;
      this.failed(
        task,
        systemError(ErrorType.OUT_OF_MEMORY, `task ${task.name} failed: ${info.message}; ${limit}`),
      );
      return;
    }
    if (!oom && task.retriesLeft !== 0 && task.stream === undefined) {
      this.retry(
        task,
        true,
        systemError(ErrorType.WORKER_DIED, `the worker running task ${task.name} died (${why})`),
      );
      return;
    }
    this.failed(
      task,
      oom
        ? systemError(ErrorType.OUT_OF_MEMORY, `task ${task.name} failed: ${info.message}`)
        : systemError(
            ErrorType.WORKER_DIED,
            `the worker running task ${task.name} died (${why}); no retries left (maxRetries: ${task.spec.maxRetries})`,
          ),
    );
  }

  /** Task events' report is due: the times noted on pending tasks go into their rows. */
  settleEvents(): void {
    const events = this.events;
    if (events === undefined) return;
    for (const task of this.tasks.values()) events.settle(task);
  }

  /** Every pending task fails with `error` (shutdown). */
  failAll(error: tray.v1.IErrorInfo): void {
    for (const task of [...this.tasks.values()]) this.failed(task, error);
  }

  /** Every return of the task becomes `error`. */
  failed(task: PendingTask, error: tray.v1.IErrorInfo): void {
    if (task.status === 'done') return;
    this.events?.owner(task, 'FAILED', undefined, error);
    if (task.stream !== undefined) this.failStream(task, error);
    else {
      for (const idHex of task.returnHexes) this.store(idHex, { error });
    }
    // A rerun (lineage reconstruction) that failed keeps nothing for another one.
    task.lineage = false;
    this.finish(task);
  }

  private failStream(task: PendingTask, error: tray.v1.IErrorInfo): void {
    const errorId = objectIdOf(task.spec.taskId!, 0x7fffffff);
    const idHex = hex(errorId);
    this.refs.addOwned(idHex, task.spec.callerAddress!);
    this.memoryStore.put(idHex, { error });
    task.stream!.failed(errorId);
  }

  private retriesException(task: PendingTask, reply: tray.v1.PushTaskReply): boolean {
    if (task.retriesLeft === 0 || task.stream !== undefined) return false;
    const allow = task.spec.retryExceptionAllowlist ?? [];
    if (allow.length > 0) {
      const cls = reply.returnObjects[0]?.error?.errorClass ?? '';
      return allow.includes(cls);
    }
    return task.spec.retryExceptions === true;
  }

  /**
   * Runs the task again: a crash uses up one of maxRetries; an OOM kill waits its backoff. The
   * attempt that ended is reported FAILED with `error` (a rerun of a finished one: no error).
   */
  private retry(task: PendingTask, countsAgainstMaxRetries = true, error?: tray.v1.IErrorInfo): void {
    // What the ended attempt reached goes to its row before the attempt number changes.
    if (error !== undefined) this.events?.owner(task, 'FAILED', undefined, error);
    else this.events?.settle(task);
    if (countsAgainstMaxRetries && task.retriesLeft > 0) task.retriesLeft--;
    task.spec.attemptNumber = (task.spec.attemptNumber ?? 0) + 1;
    task.status = 'queued';
    const delayMs = countsAgainstMaxRetries ? 0 : oomRetryDelayMs(this.oomPolicy, task.spec.attemptNumber);
    if (delayMs === 0) {
      this.hooks.resubmit(task);
      return;
    }
    setTimeout(() => {
      if (task.status === 'done') return;
      if (task.cancelled) {
        this.failed(task, systemError(ErrorType.TASK_CANCELLED, `task ${task.name} was cancelled`));
      } else this.hooks.resubmit(task);
    }, delayMs).unref();
  }

  private store(idHex: string, object: StoredObject): void {
    // A return nobody references any more is dropped at once.
    if (this.refs.has(idHex)) this.storeReferenced(idHex, object);
  }

  private storeReferenced(idHex: string, object: StoredObject): void {
    this.memoryStore.put(idHex, object);
    if (object.nestedRefs && object.nestedRefs.length > 0) {
      this.refs.addContained(
        idHex,
        object.nestedRefs.map((r) => [hex(r.objectId!), r.ownerAddress ?? undefined]),
      );
    }
  }

  private finish(task: PendingTask): void {
    task.status = 'done';
    this.tasks.delete(task.taskIdHex);
    // A task kept for lineage holds its arguments until its returns are freed (dropLineage).
    if (task.lineage !== true) this.refs.removeSubmitted(task.argRefs);
  }

  /** Return `idHex` was freed: its task's lineage goes with the last of its returns. */
  dropLineage(idHex: string): void {
    if (this.lineage.size === 0) return; // the common case: no lookup per freed object
    const task = this.lineage.get(idHex);
    if (task === undefined) return;
    this.lineage.delete(idHex);
    if (task.returnHexes.some((h) => this.lineage.get(h) === task)) return;
    if (task.status === 'done' && task.lineage === true) {
      task.lineage = false;
      this.refs.removeSubmitted(task.argRefs);
    }
  }

  /**
   * Return `idHex` was lost with the node whose store held it: run its task again (lineage
   * reconstruction, within its retries) so that gets wait for the new value. False when it cannot.
   */
  reconstruct(idHex: string): boolean {
    // Only finished tasks with retries left are in `lineage` (a rerun takes its entries out).
    const task = this.lineage.get(idHex);
    if (task === undefined) return false;
    for (const h of task.returnHexes) {
      if (this.lineage.get(h) === task) this.lineage.delete(h);
      this.memoryStore.delete(h);
    }
    this.tasks.set(task.taskIdHex, task);
    this.retry(task);
    return true;
  }
}

export function storedFromValue(value: tray.v1.IObjectValue): StoredObject {
  if (value instanceof InlineReturn) return value;
  if (value.error) return { error: value.error };
  return {
    data: value.inPlasma ? undefined : (value.data ?? new Uint8Array(0)),
    inPlasma: value.inPlasma ?? false,
    nodeId: value.inPlasma && value.nodeId?.length ? value.nodeId : undefined,
    nestedRefs: value.nestedRefs ?? [],
    size: Number(value.size ?? 0),
  };
}
