// Running pushed tasks in a worker process, one at a time in arrival order: resolve the
// arguments, load the function (compiled once per code and captures), apply the lease's visible
// devices and the task's env vars, run it (sync, async, or an async generator streaming its
// items to the owner), and answer with the returns — small ones inline, large ones written into
// the node's store — or with the error the task threw.
import { createHash } from 'node:crypto';
import { type Connection, CoreWorkerService, type Message, type tray } from '@tray/protocol';
import type { CoreWorker } from '../runtime/core-worker.js';
import { errorInfoFromThrown } from '../runtime/error-info.js';
import { hex, objectIdOf } from '../runtime/ids.js';
import { loadRemote, type ShippedCode } from '../shipping/index.js';

interface Queued {
  request: tray.v1.PushTaskRequest;
  connection: Connection;
  resolve: (reply: Message<tray.v1.PushTaskReply>) => void;
  cancelled: boolean;
  forceCancel: boolean;
}

export class TaskExecutor {
  private readonly queue: Queued[] = [];
  private running: Queued | undefined;
  private readonly functions = new Map<string, Promise<Function>>();

  constructor(
    private readonly core: CoreWorker,
    private readonly api: unknown,
  ) {}

  /** Serve PushTask and CancelTask on a connection. */
  serve(connection: Connection): void {
    connection.handle(CoreWorkerService.PushTask, (request, c) => this.push(request, c));
    connection.handle(CoreWorkerService.CancelTask, (request) => this.cancel(request));
  }

  /** Queue a pushed task; resolves with its reply once it ran. */
  push(request: tray.v1.PushTaskRequest, connection: Connection): Promise<Message<tray.v1.PushTaskReply>> {
    return new Promise((resolve) => {
      this.queue.push({ request, connection, resolve, cancelled: false, forceCancel: false });
      this.drain();
    });
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
      q!.resolve({ wasCancelled: true });
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

  private drain(): void {
    if (this.running !== undefined) return;
    const next = this.queue.shift();
    if (next === undefined) return;
    this.running = next;
    this.execute(next)
      .then(
        (reply) => next.resolve({ ...reply, wasCancelled: next.cancelled }),
        (err: Error) =>
          next.resolve({
            returnObjects: [
              { error: { type: 24, message: `the worker failed to run the task: ${err.message}` } },
            ],
          }),
      )
      .finally(() => {
        this.running = undefined;
        this.drain();
      });
  }

  private async execute(q: Queued): Promise<Message<tray.v1.PushTaskReply>> {
    const core = this.core;
    const spec = q.request.task!;
    const name = spec.name || spec.function?.name || 'task';
    const taskId = Buffer.from(spec.taskId!);
    const numReturns = spec.streaming ? 1 : Math.max(1, spec.numReturns ?? 1);
    const restoreEnv = applyEnv(q.request.visibleDevices, spec.runtimeEnv?.envVars);
    const caller = spec.callerAddress?.socketPath;
    if (caller) core.peers.adopt(caller, q.connection);
    core.currentTaskId = taskId;
    core.currentDepth = spec.depth ?? 1;
    // Tasks this task submits inherit its runtime env (Ray's semantics).
    core.defaultRuntimeEnv = spec.runtimeEnv ?? undefined;
    if (spec.jobId && spec.jobId.length > 0) core.jobId = Buffer.from(spec.jobId);
    if (spec.function?.workingDir) core.workingDir = spec.function.workingDir;
    try {
      const fn = await this.load(spec.function!);
      const args = await this.resolveArgs(spec.args ?? []);
      if (spec.streaming) return await this.stream(q, fn, args, name);
      let result = fn(...args);
      if (isThenable(result)) result = await result;
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
      const returnObjects = await Promise.all(
        values.map((v, i) =>
          this.packReturn(objectIdOf(taskId, i + 1), v, `the return value of ${name}`, spec),
        ),
      );
      return { returnObjects };
    } catch (err) {
      const error = errorInfoFromThrown(err, name, core.codec);
      const returnObjects = [];
      for (let i = 0; i < numReturns; i++) returnObjects.push({ objectId: objectIdOf(taskId, i + 1), error });
      return { returnObjects, isApplicationError: true };
    } finally {
      restoreEnv();
    }
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
    let index = 0;
    for await (const item of generator as AsyncIterable<unknown>) {
      if (q.cancelled) break;
      const id = objectIdOf(taskId, index + 1);
      const value = await this.packReturn(id, item, `item ${index} of ${name}`, spec);
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
  async packReturn(
    id: Buffer,
    value: unknown,
    label: string,
    spec: tray.v1.ITaskSpec,
  ): Promise<tray.v1.IObjectValue> {
    const core = this.core;
    const serialized = core.serialize(value, label);
    // Refs owned here that travel back to the caller: the caller borrows them from now on.
    const caller = spec.callerAddress?.workerId ? hex(spec.callerAddress.workerId) : undefined;
    const nestedRefs = serialized.refs.map((r) => {
      if (caller !== undefined && core.refs.get(r.hex())?.owned) core.refs.addBorrower(r.hex(), caller);
      return { objectId: r.id, ownerAddress: r.ownerAddress ?? core.address };
    });
    if (core.storage.belongsInStore(serialized.size)) {
      await core.storage.put(id, serialized);
      return { objectId: id, inPlasma: true, nestedRefs, size: serialized.size, nodeId: core.nodeId };
    }
    return { objectId: id, data: serialized.toBuffer(), nestedRefs, size: serialized.size };
  }

  /** @internal */
  async resolveArgs(args: tray.v1.ITaskArg[]): Promise<unknown[]> {
    const values: unknown[] = [];
    for (const arg of args) {
      if (arg.objectRef) {
        const bytes = await this.core.storage.read(arg.objectRef.objectId!, 0);
        if (bytes === undefined)
          throw new Error(`argument object ${hex(arg.objectRef.objectId!)} is not in the store`);
        values.push(this.core.deserialize(bytes));
      } else {
        values.push(this.core.deserialize(arg.inlineValue ?? new Uint8Array(0)));
      }
    }
    return values;
  }

  /** @internal */
  load(descriptor: tray.v1.IFunctionDescriptor): Promise<Function> {
    const captures = descriptor.captures ?? new Uint8Array(0);
    const key = `${hex(descriptor.hash ?? new Uint8Array(0))}:${descriptor.workingDir ?? ''}:${
      captures.length > 0 ? createHash('sha1').update(captures).digest('hex') : ''
    }`;
    let loaded = this.functions.get(key);
    if (loaded === undefined) {
      const code = shippedCodeOf(descriptor);
      const values = captures.length > 0 ? (this.core.deserialize(captures) as Record<string, unknown>) : {};
      loaded = loadRemote(code, {
        tray: this.api,
        workingDir: descriptor.workingDir || process.cwd(),
        captures: values,
      });
      loaded.catch(() => this.functions.delete(key));
      this.functions.set(key, loaded);
    }
    return loaded;
  }
}

function shippedCodeOf(d: tray.v1.IFunctionDescriptor): ShippedCode {
  const common = {
    kind: d.kind === 1 ? ('class' as const) : ('function' as const),
    name: d.name ?? '',
    arity: d.arity ?? 0,
    hash: hex(d.hash ?? new Uint8Array(0)),
    captures: {},
  };
  if (d.moduleUrl) {
    return { ...common, by: 'reference', moduleUrl: d.moduleUrl, exportName: d.exportName ?? '' };
  }
  return { ...common, by: 'value', source: d.source ?? '', strict: d.strict ?? false };
}

/** Set CUDA_VISIBLE_DEVICES and the task's env vars; returns how to undo it. */
function applyEnv(
  devices: Record<string, string> | undefined,
  envVars: Record<string, string> | null | undefined,
): () => void {
  const saved = new Map<string, string | undefined>();
  const set = (name: string, value: string | undefined) => {
    if (!saved.has(name)) saved.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  };
  set('CUDA_VISIBLE_DEVICES', devices?.CUDA_VISIBLE_DEVICES);
  for (const [k, v] of Object.entries(envVars ?? {})) set(k, v);
  return () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}
