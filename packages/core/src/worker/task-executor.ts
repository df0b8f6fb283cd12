// Running pushed tasks in a worker process, one at a time in arrival order: resolve the
// arguments, load the function (compiled once per code and captures), apply the lease's visible
// devices and the task's env vars, run it (sync, async, or an async generator streaming its
// items to the owner), and answer with the returns — small ones inline, large ones written into
// the node's store — or with the error the task threw.
import { type Connection, CoreWorkerService, type Message, type tray } from '@tray/protocol';
import type { CoreWorker } from '../runtime/core-worker.js';
import { errorInfoFromThrown } from '../runtime/error-info.js';
import { hex, objectIdOf } from '../runtime/ids.js';
import { nowMs, type RunningTask } from '../runtime/task-events.js';
import { loadRemote } from '../shipping/index.js';
import { functionKey, shippedCodeOf } from './function-descriptor.js';
import { isPromise, isThenable, type MaybePromise } from './maybe-promise.js';
import { applyEnv, RUNTIME_ENV_WORKING_DIR } from './task-env.js';

type Reply = Message<tray.v1.PushTaskReply>;

interface Queued {
  request: tray.v1.PushTaskRequest;
  connection: Connection;
  /** Set while the task waits in the queue. */
  resolve: ((reply: MaybePromise<Reply>) => void) | undefined;
  cancelled: boolean;
  forceCancel: boolean;
}

export class TaskExecutor {
  private readonly queue: Queued[] = [];
  private running: Queued | undefined;
  private readonly functions = new Map<string, Promise<Function>>();
  /** The functions of `functions` that finished loading, so a task can start in the same tick. */
  private readonly loadedFunctions = new Map<string, Function>();

  /** When the running task started (ms; task events). */
  private runningSince = 0;
  /** The connection whose caller was last adopted as this worker's way to reach it. */
  private adoptedConnection: unknown;

  constructor(
    private readonly core: CoreWorker,
    private readonly api: unknown,
  ) {
    if (core.taskEvents.enabled) core.taskEvents.whileRunning(this.runningTask);
  }

  /** Serve PushTask and CancelTask on a connection. */
  serve(connection: Connection): void {
    connection.handle(CoreWorkerService.PushTask, (request, c) => this.push(request, c));
    connection.handle(CoreWorkerService.CancelTask, (request) => this.cancel(request));
  }

  /**
   * Run a pushed task, or queue it behind the one running. A synchronous function whose code is
   * loaded and whose arguments are inline runs at once and its reply is returned (not a promise),
   * so the replies to a batch of pushed tasks leave in one write.
   */
  push(request: tray.v1.PushTaskRequest, connection: Connection): MaybePromise<Reply> {
    const q: Queued = { request, connection, resolve: undefined, cancelled: false, forceCancel: false };
    if (this.running === undefined && this.queue.length === 0) return this.run(q);
    return new Promise((resolve) => {
      q.resolve = resolve;
      this.queue.push(q);
    });
  }

  /** No task runs or waits here. */
  /** Tasks started so far (the idle collector tells a worker busy with tasks from one busy without). */
  tasksRun = 0;

  get idle(): boolean {
    return this.running === undefined && this.queue.length === 0;
  }

  /** True while a task runs and its owner asked to cancel it (getRuntimeContext().isCanceled()). */
  get currentCancelled(): boolean {
    return this.running?.cancelled ?? false;
  }

  private async cancel(request: tray.v1.CancelTaskRequest): Promise<Message<tray.v1.CancelTaskReply>> {
    const idHex = hex(request.intendedTaskId);
    // Children first, so a forced exit below cannot lose their cancellation.
    if (request.recursive) {
      await Promise.race([
        this.core.launcher.cancelChildren(idHex, request.forceKill),
        new Promise((r) => setTimeout(r, 1000)),
      ]);
    }
    const i = this.queue.findIndex((q) => hex(q.request.task!.taskId!) === idHex);
    if (i >= 0) {
      const [q] = this.queue.splice(i, 1);
      q!.resolve!({ wasCancelled: true });
      return { attemptSucceeded: true, requestedTaskRunning: false };
    }
    const running = this.running;
    if (running && hex(running.request.task!.taskId!) === idHex) {
      running.cancelled = true;
      if (request.forceKill) {
        // Force: the process goes away; the owner sees the connection close and reports the
        // task as cancelled.
        setImmediate(() => process.exit(1));
      }
      return { attemptSucceeded: true, requestedTaskRunning: true };
    }
    return { attemptSucceeded: false, requestedTaskRunning: false };
  }

  /**
   * Run `q` now (nothing else is running); the next queued task starts when it is done. With task
   * events on, the reply carries when it started and ended: the owner writes the attempt's row.
   */
  private run(q: Queued): MaybePromise<Reply> {
    this.running = q;
    this.tasksRun++;
    const events = this.core.taskEvents.enabled;
    if (events) this.runningSince = nowMs();
    let out: MaybePromise<Reply>;
    try {
      out = this.execute(q);
    } catch (err) {
      out = workerFailed(err);
    }
    if (!isPromise(out)) {
      this.running = undefined;
      if (events) this.stamp(out);
      return this.finalReply(q, out);
    }
    return out.then(
      (reply) => this.ran(q, reply),
      (err: Error) => this.ran(q, workerFailed(err)),
    );
  }

  private ran(q: Queued, reply: Reply): MaybePromise<Reply> {
    this.running = undefined;
    if (this.core.taskEvents.enabled) this.stamp(reply);
    this.drain();
    return this.finalReply(q, reply);
  }

  private stamp(reply: Reply): void {
    reply.startedAtMs = this.runningSince;
    reply.endedAtMs = nowMs();
  }

  /** The task running now, for task events' report (a long task shows RUNNING before its end). */
  private readonly runningTask = (): RunningTask | undefined =>
    this.running === undefined ? undefined : { spec: this.running.request.task!, sinceMs: this.runningSince };

  /**
   * The reply goes out once the owners of the refs the task borrowed recorded those borrows: the
   * caller drops its own hold on the arguments when it reads the reply (borrow-updates.ts).
   */
  private finalReply(q: Queued, reply: Reply): MaybePromise<Reply> {
    if (q.cancelled) reply.wasCancelled = true;
    const acknowledged = this.core.borrows.whenAcknowledged();
    return acknowledged === undefined ? reply : acknowledged.then(() => reply);
  }

  private drain(): void {
    while (this.running === undefined && this.queue.length > 0) {
      const next = this.queue.shift()!;
      next.resolve!(this.run(next));
    }
  }

  private execute(q: Queued): MaybePromise<Reply> {
    const core = this.core;
    const spec = q.request.task!;
    const name = spec.name || spec.function?.name || 'task';
    const restoreEnv = applyEnv(q.request.visibleDevices, spec.runtimeEnv?.envVars);
    const caller = spec.callerAddress;
    // Once per connection that became the caller's (adopting makes a hex and a key string).
    if (caller && q.connection !== this.adoptedConnection && core.peers.adopt(caller, q.connection))
      this.adoptedConnection = q.connection;
    core.currentTaskId = Buffer.from(spec.taskId!);
    core.currentDepth = spec.depth ?? 1;
    // Tasks this task submits inherit its runtime env (Ray's semantics).
    core.defaultRuntimeEnv = spec.runtimeEnv ?? undefined;
    if (spec.jobId && spec.jobId.length > 0 && !sameBytes(core.jobId, spec.jobId))
      core.jobId = Buffer.from(spec.jobId);
    // A runtime env's working dir (this worker's cwd) replaces the driver's directory.
    if (spec.function?.workingDir && !RUNTIME_ENV_WORKING_DIR) core.workingDir = spec.function.workingDir;
    let out: MaybePromise<Reply>;
    try {
      const fn = spec.streaming ? undefined : this.loadedFunctions.get(functionKey(spec.function!));
      const args = fn === undefined ? undefined : this.resolveArgs(spec.args ?? []);
      if (fn === undefined || args === undefined || isPromise(args)) {
        // Arguments being read from the store are read once: executeAsync waits for them.
        out = this.executeAsync(q, name, args);
      } else {
        const result = fn(...args);
        out = isThenable(result)
          ? Promise.resolve(result).then((value) => this.returns(spec, name, value))
          : this.returns(spec, name, result);
      }
    } catch (err) {
      out = failure(spec, name, err, core);
    }
    if (!isPromise(out)) {
      restoreEnv();
      return out;
    }
    return out.then(
      (reply) => {
        restoreEnv();
        return reply;
      },
      (err) => {
        restoreEnv();
        return failure(spec, name, err, core);
      },
    );
  }

  /** The general path: the code is still loading, an argument is in the store, or it streams. */
  private async executeAsync(
    q: Queued,
    name: string,
    reading: MaybePromise<unknown[]> | undefined,
  ): Promise<Reply> {
    const spec = q.request.task!;
    // Read while the code loads; a failed read is this task's error (never unhandled).
    const args = reading ?? this.resolveArgs(spec.args ?? []);
    if (isPromise(args)) args.catch(() => {});
    const fn = await this.load(spec.function!);
    if (spec.streaming) return await this.stream(q, fn, await args, name);
    let result = fn(...(await args));
    if (isThenable(result)) result = await result;
    return await this.returns(spec, name, result);
  }

  /** The reply for what the function returned (split into numReturns values). */
  private returns(spec: tray.v1.ITaskSpec, name: string, result: unknown): MaybePromise<Reply> {
    let values: unknown[];
    if ((spec.numReturns ?? 1) > 1) {
      if (!Array.isArray(result) || result.length !== spec.numReturns) {
        throw new TypeError(
          `${name} was declared with numReturns: ${spec.numReturns}, so it must return an array of ` +
            `${spec.numReturns} values; it returned ${Array.isArray(result) ? `an array of ${result.length}` : typeof result}`,
        );
      }
      values = result;
    } else {
      values = [result];
    }
    const label = `the return value of ${name}`;
    const returnObjects = values.map((v, i) =>
      this.packReturn(objectIdOf(spec.taskId!, i + 1), v, label, spec),
    );
    if (!returnObjects.some(isPromise)) return { returnObjects: returnObjects as tray.v1.IObjectValue[] };
    return Promise.all(returnObjects).then((all) => ({ returnObjects: all }));
  }

  private async stream(
    q: Queued,
    fn: Function,
    args: unknown[],
    name: string,
  ): Promise<Message<tray.v1.PushTaskReply>> {
    const spec = q.request.task!;
    const taskId = Buffer.from(spec.taskId!);
    const generator = fn(...args) as AsyncIterable<unknown> | Iterable<unknown>;
    if (
      generator === null ||
      typeof generator !== 'object' ||
      (!(Symbol.asyncIterator in generator) && !(Symbol.iterator in generator))
    ) {
      throw new TypeError(
        `${name} was declared with numReturns: 'streaming', so it must be a generator function (async function* or function*)`,
      );
    }
    const core = this.core;
    let index = 0;
    for await (const item of generator as AsyncIterable<unknown>) {
      if (q.cancelled) break;
      const id = objectIdOf(taskId, index + 1);
      const value = await this.packReturn(id, item, `item ${index} of ${name}`, spec);
      await core.borrows.whenAcknowledged(); // borrowed refs in the item: the owner is told first
      await q.connection.request(CoreWorkerService.ReportGeneratorItemReturns, {
        generatorId: taskId,
        itemIndex: index,
        item: value,
        attemptNumber: spec.attemptNumber,
      });
      index++;
    }
    return { numStreamed: index };
  }

  /** @internal Also used for actor calls (worker/actor-executor.ts). */
  packReturn(
    id: Buffer,
    value: unknown,
    label: string,
    spec: tray.v1.ITaskSpec,
  ): MaybePromise<tray.v1.IObjectValue> {
    const core = this.core;
    const serialized = core.serialize(value, label);
    if (serialized.refs.length === 0 && !core.storage.belongsInStore(serialized.size)) {
      return { objectId: id, data: serialized.toBuffer(), nestedRefs: [], size: serialized.size };
    }
    // Refs owned here that travel back to the caller: the caller borrows them from now on.
    const caller = spec.callerAddress?.workerId ? hex(spec.callerAddress.workerId) : undefined;
    const nestedRefs = serialized.refs.map((r) => {
      if (caller !== undefined) {
        const entry = core.refs.get(r.hex());
        if (entry?.owned) core.refs.addBorrower(r.hex(), caller);
        else if (entry !== undefined) core.borrows.borrowForCaller(r.id, entry, spec.callerAddress!);
      }
      return { objectId: r.id, ownerAddress: r.ownerAddress ?? core.address };
    });
    if (core.storage.belongsInStore(serialized.size)) {
      return core.storage.put(id, serialized).then(() => ({
        objectId: id,
        inPlasma: true,
        nestedRefs,
        size: serialized.size,
        nodeId: core.nodeId,
      }));
    }
    return { objectId: id, data: serialized.toBuffer(), nestedRefs, size: serialized.size };
  }

  /** @internal Arguments inline in the spec are read at once; others come from the store. */
  resolveArgs(args: tray.v1.ITaskArg[]): MaybePromise<unknown[]> {
    for (const arg of args) if (arg.objectRef) return this.resolveStoredArgs(args);
    const values: unknown[] = new Array(args.length);
    for (let i = 0; i < args.length; i++) {
      values[i] = this.core.deserialize(args[i]!.inlineValue ?? EMPTY);
    }
    return values;
  }

  private async resolveStoredArgs(args: tray.v1.ITaskArg[]): Promise<unknown[]> {
    const values: unknown[] = [];
    for (const arg of args) {
      if (arg.objectRef) {
        const id = arg.objectRef.objectId!;
        const owner = arg.objectRef.ownerAddress;
        // Not in this node's store: the owner knows which node's store has it.
        const bytes = await this.core.readStored(id, () => this.core.locate(id, owner));
        if (bytes === undefined)
          throw new Error(`argument object ${hex(arg.objectRef.objectId!)} is not in the store`);
        values.push(this.core.deserialize(bytes));
      } else {
        values.push(this.core.deserialize(arg.inlineValue ?? EMPTY));
      }
    }
    return values;
  }

  /** @internal */
  load(descriptor: tray.v1.IFunctionDescriptor): Promise<Function> {
    const captures = descriptor.captures ?? EMPTY;
    // Captures holding refs are read for each task and not kept: the refs are borrowed while the
    // task runs (its submitter holds them meanwhile), and released once the function is collected.
    const holdsRefs = descriptor.captureRefs != null && descriptor.captureRefs.length > 0;
    const key = functionKey(descriptor);
    let loaded = holdsRefs ? undefined : this.functions.get(key);
    if (loaded === undefined) {
      const code = shippedCodeOf(descriptor);
      const values = captures.length > 0 ? (this.core.deserialize(captures) as Record<string, unknown>) : {};
      loaded = loadRemote(code, {
        tray: this.api,
        workingDir: RUNTIME_ENV_WORKING_DIR || descriptor.workingDir || process.cwd(),
        captures: values,
      });
      if (holdsRefs) return loaded;
      loaded.then(
        (fn) => {
          if (this.functions.get(key) === loaded) this.loadedFunctions.set(key, fn);
        },
        () => this.functions.delete(key),
      );
      this.functions.set(key, loaded);
    }
    return loaded;
  }
}

const EMPTY = new Uint8Array(0);

function workerFailed(err: unknown): Reply {
  return {
    returnObjects: [
      {
        error: { type: 24, message: `the worker failed to run the task: ${(err as Error)?.message ?? err}` },
      },
    ],
  };
}

/** The task threw (or its result could not be packed): every return is the error. */
function failure(spec: tray.v1.ITaskSpec, name: string, err: unknown, core: CoreWorker): Reply {
  const error = errorInfoFromThrown(err, name, core.codec);
  const numReturns = spec.streaming ? 1 : Math.max(1, spec.numReturns ?? 1);
  const returnObjects = [];
  for (let i = 0; i < numReturns; i++)
    returnObjects.push({ objectId: objectIdOf(spec.taskId!, i + 1), error });
  return { returnObjects, isApplicationError: true };
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
