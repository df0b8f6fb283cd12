// From `.remote(...args)` to a queued task: build the task spec, serialize the arguments at
// once (so bad arguments fail at `.remote()`), make the return refs, resolve top-level ref
// arguments before the task is pushed (a failed one fails the task with the upstream error;
// nested refs travel as refs), and cancel tasks wherever they stand.
import { ErrorType, normalTaskSpec, type tray } from '@tray/protocol';
import { recordCallSites, userCallSite } from './call-sites.js';
import { systemError } from './error-info.js';
import { GeneratorStream, ObjectRefGenerator } from './generator.js';
import { hex, newTaskId, objectIdOf, TASK_ID_BYTES, taskIdOfObject } from './ids.js';
import type { ObjectFetcher } from './object-fetcher.js';
import { checkArgRef, isObjectRef, ObjectRef } from './object-ref.js';
import { INLINE_LIMIT_BYTES, type ObjectStorage } from './object-storage.js';
import { type SpecTemplate, taskSpecOf } from './push-encoding.js';
import type { ReferenceCounter } from './reference-counter.js';
import { uploadsDone } from './runtime-env.js';
import type { SerializedValue } from './serialization.js';
import type { PendingTask, TaskManager } from './task-manager.js';
import type { TaskSubmitter } from './task-submitter.js';

/** What launching and cancelling tasks needs of its process (the core worker gives itself). */
export interface LauncherContext {
  readonly jobId: Buffer;
  readonly address: tray.v1.IAddress;
  /** The task submitting (the parent of what it submits) and its depth in the task tree. */
  readonly currentTaskId: Buffer;
  readonly currentDepth: number;
  readonly refs: ReferenceCounter;
  readonly storage: ObjectStorage;
  readonly tasks: TaskManager;
  readonly submitter: TaskSubmitter;
  /** Top-level ref arguments are resolved before the task is queued. */
  readonly fetcher: ObjectFetcher;
  serialize(value: unknown, label: string): SerializedValue;
  /** A new id for an object owned here (a large argument put into the store). */
  nextPutId(): Buffer;
  storeSerialized(value: SerializedValue, id: Buffer): { ref: ObjectRef<unknown>; stored: Promise<void> };
  /** A driver stays alive while the user waits (on a streaming generator's next item). */
  keepAlive<T>(promise: Promise<T>): Promise<T>;
}

export interface TaskRequest {
  descriptor: tray.v1.IFunctionDescriptor;
  name: string;
  args: unknown[];
  numReturns: number | 'streaming';
  /** Streaming: at most this many yielded items not yet taken by the caller (unset: no limit). */
  generatorBackpressureNumObjects?: number;
  resources: Record<string, number>;
  maxRetries: number;
  retryExceptions: boolean;
  retryExceptionAllowlist: string[];
  runtimeEnv?: tray.v1.IRuntimeEnv;
  schedulingStrategy?: tray.v1.ISchedulingStrategy;
  /**
   * Set by callers that reuse one object for every call with the same fields (all but `args`):
   * what those tasks share is then worked out and encoded once (push-encoding.ts).
   */
  template?: object;
}

export interface Submitted {
  refs: ObjectRef<unknown>[];
  generator?: ObjectRefGenerator<unknown>;
}

export class TaskLauncher {
  private readonly templates = new WeakMap<object, SpecTemplate>();

  constructor(private readonly core: LauncherContext) {}

  /** Submit a task; `args` (default: request.args) lets a caller reuse one request object. */
  submit(request: TaskRequest, args: readonly unknown[] = request.args): Submitted {
    const core = this.core;
    const taskId = newTaskId(core.jobId);
    const taskIdHex = hex(taskId);
    // The common task (inline arguments holding no refs) allocates no ref bookkeeping.
    let refOwners: [string, tray.v1.IAddress | undefined][] | undefined;
    let dependencies: { index: number; ref: ObjectRef<unknown> }[] | undefined;
    let keepAlive: ObjectRef<unknown>[] | undefined;
    const n = args.length;
    const specArgs: tray.v1.ITaskArg[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const arg = args[i];
      if (isObjectRef(arg)) {
        checkArgRef(arg, argumentLabel(i));
        specArgs[i] = { objectRef: { objectId: arg.id, ownerAddress: arg.ownerAddress ?? core.address } };
        (dependencies ??= []).push({ index: i, ref: arg });
        (refOwners ??= []).push([arg.hex(), arg.ownerAddress]);
        continue;
      }
      const value = core.serialize(arg, argumentLabel(i));
      if (value.size > INLINE_LIMIT_BYTES && core.storage.available) {
        // Large arguments go through the store once, as objects owned here.
        const { ref } = core.storeSerialized(value, core.nextPutId());
        (keepAlive ??= []).push(ref);
        specArgs[i] = { objectRef: { objectId: ref.id, ownerAddress: core.address } };
        (dependencies ??= []).push({ index: i, ref });
        (refOwners ??= []).push([ref.hex(), core.address]);
        continue;
      }
      if (value.refs.length === 0) {
        specArgs[i] = { inlineValue: value.toBuffer() };
        continue;
      }
      specArgs[i] = {
        inlineValue: value.toBuffer(),
        nestedRefs: value.refs.map((r) => ({ objectId: r.id, ownerAddress: r.ownerAddress ?? core.address })),
      };
      for (const r of value.refs) (refOwners ??= []).push([r.hex(), r.ownerAddress]);
    }
    // Refs inside the function's captures are held like argument refs while the task runs.
    const captureRefs = request.descriptor.captureRefs;
    if (captureRefs != null && captureRefs.length > 0)
      (refOwners ??= []).push(...captureRefOwners(captureRefs));
    const argRefs = refOwners === undefined ? NO_ARG_REFS : refOwners.map(([idHex]) => idHex);

    const streaming = request.numReturns === 'streaming';
    const numReturns = streaming ? 0 : (request.numReturns as number);
    let template: SpecTemplate | undefined;
    if (request.template !== undefined) {
      template = this.templates.get(request.template);
      if (template === undefined) {
        template = { schedulingKey: schedulingKey(request), fixed: undefined, specOf: undefined };
        this.templates.set(request.template, template);
      }
    }
    let spec: tray.v1.ITaskSpec;
    if (template?.specOf !== undefined) {
      spec = new template.specOf(taskId, core.jobId, core.currentTaskId, specArgs, core.currentDepth + 1);
    } else {
      spec = normalTaskSpec(core, {
        taskId,
        function: request.descriptor,
        args: specArgs,
        numReturns,
        streaming,
        resources: request.resources,
        maxRetries: request.maxRetries,
        retryExceptions: request.retryExceptions,
        retryExceptionAllowlist: request.retryExceptionAllowlist,
        runtimeEnv: request.runtimeEnv,
        name: request.name,
        schedulingStrategy: request.schedulingStrategy,
      });
      if (template !== undefined) template.specOf = taskSpecOf(spec);
    }
    const returnHexes: string[] = new Array(numReturns);
    for (let i = 0; i < numReturns; i++) returnHexes[i] = taskIdHex + returnIndexHex(i + 1);
    const task: PendingTask = {
      spec,
      taskIdHex,
      name: request.name,
      returnHexes,
      argRefs,
      retriesLeft: request.maxRetries,
      status: 'resolving',
      cancelled: false,
      schedulingKey: '',
      eventsRow: -1,
      argsAtMs: 0,
      queuedAtMs: 0,
      pushedAtMs: 0,
      pushedTo: undefined,
      // Set later, declared here so that they are in the object, not in a property array of its own.
      template: undefined,
      onCancel: undefined,
      runningOn: undefined,
    };
    if (template !== undefined) {
      task.template = template;
      task.schedulingKey = template.schedulingKey;
    } else {
      task.schedulingKey = schedulingKey(request);
    }
    if (refOwners !== undefined) core.refs.addSubmitted(refOwners);
    const refs: ObjectRef<unknown>[] = new Array(numReturns);
    const site = recordCallSites && numReturns > 0 ? userCallSite('task call') : undefined;
    for (let i = 0; i < numReturns; i++) {
      const entry = core.refs.addOwned(returnHexes[i]!, core.address);
      if (site !== undefined) entry.callSite = site;
      refs[i] = new ObjectRef(undefined, core.address, false, returnHexes[i]);
    }
    let generator: ObjectRefGenerator<unknown> | undefined;
    if (streaming) {
      task.stream = new GeneratorStream(core, request.generatorBackpressureNumObjects);
      generator = new ObjectRefGenerator(task.stream, task.taskIdHex);
    }
    core.tasks.add(task);
    const uploaded = uploadsDone(core, spec.runtimeEnv);
    if (uploaded !== undefined) {
      // The env's packages are still going to the GCS: submit once they are there.
      uploaded.then(
        () => {
          if (task.status !== 'resolving') return;
          if (dependencies === undefined) core.submitter.submit(task);
          else void this.resolveDependencies(task, dependencies, keepAlive ?? []);
        },
        (err: Error) => {
          if (task.status === 'resolving')
            core.tasks.failed(task, systemError(ErrorType.RUNTIME_ENV_SETUP_FAILED, err.message));
        },
      );
    } else if (dependencies === undefined) core.submitter.submit(task);
    else void this.resolveDependencies(task, dependencies, keepAlive ?? []);
    return { refs, generator };
  }

  private async resolveDependencies(
    task: PendingTask,
    dependencies: { index: number; ref: ObjectRef<unknown> }[],
    _keepAlive: ObjectRef<unknown>[],
  ): Promise<void> {
    const stored = await Promise.all(dependencies.map((d) => this.core.fetcher.ready(d.ref)));
    if (task.status !== 'resolving') return; // cancelled meanwhile
    const args = task.spec.args!;
    for (let i = 0; i < dependencies.length; i++) {
      const s = stored[i]!;
      if (s.error) {
        this.core.tasks.failed(task, s.error);
        return;
      }
      if (!s.inPlasma) {
        args[dependencies[i]!.index] = { inlineValue: s.data, nestedRefs: s.nestedRefs };
      }
    }
    this.core.submitter.submit(task);
  }

  /** Cancel the task that produces `ref` (API.md's tray.cancel). */
  cancel(ref: ObjectRef<unknown>, force: boolean, recursive: boolean): Promise<void> {
    const task = this.core.tasks.get(hex(taskIdOfObject(ref.id)));
    return task === undefined ? Promise.resolve() : this.cancelTask(task, force, recursive);
  }

  /**
   * Queued or resolving: dequeued and failed at once. Running: the worker is told (force kills
   * it), and the task fails with TaskCancelledError at once — a JavaScript task cannot be
   * interrupted, so one that ignores isCanceled() finishes in the background, its result dropped.
   */
  cancelTask(task: PendingTask, force: boolean, recursive: boolean): Promise<void> {
    if (task.status === 'done') return Promise.resolve();
    task.cancelled = true;
    const told =
      task.status === 'running' || task.status === 'queued'
        ? task.onCancel?.(task, force, recursive)
        : undefined;
    this.core.tasks.failed(task, systemError(ErrorType.TASK_CANCELLED, `task ${task.name} was cancelled`));
    return Promise.resolve(told);
  }

  /** Cancel what the task `parentHex` (running in this process) submitted. */
  async cancelChildren(parentHex: string, force: boolean): Promise<void> {
    await Promise.all(
      this.core.tasks.childrenOf(parentHex).map((child) => this.cancelTask(child, force, true)),
    );
  }
}

const NO_ARG_REFS: string[] = [];
const ARGUMENT_LABELS = Array.from({ length: 16 }, (_, i) => `argument ${i + 1}`);
const INDEX_HEX = Array.from({ length: 16 }, (_, i) =>
  hex(objectIdOf(Buffer.alloc(TASK_ID_BYTES), i).subarray(TASK_ID_BYTES)),
);

/** "argument 3": how serialization errors name an argument (no string built per call). */
function argumentLabel(i: number): string {
  return ARGUMENT_LABELS[i] ?? `argument ${i + 1}`;
}

/** The hex of an object id's 4-byte little-endian index (a return id is its task id's hex + this). */
function returnIndexHex(index: number): string {
  return INDEX_HEX[index] ?? hex(objectIdOf(Buffer.alloc(TASK_ID_BYTES), index).subarray(TASK_ID_BYTES));
}

/** Tasks of one class share leases: same resources, code, runtime env and strategy. */
function schedulingKey(request: TaskRequest): string {
  const resources = Object.keys(request.resources)
    .sort()
    .map((k) => `${k}=${request.resources[k]}`)
    .join(',');
  const code = request.descriptor.hash ? hex(request.descriptor.hash) : request.name;
  return `${resources}|${code}|${request.runtimeEnv?.serialized ?? ''}|${JSON.stringify(request.schedulingStrategy ?? {})}`;
}

/** The ids and owners of the refs inside a function's captures (descriptor.captureRefs). */
export function captureRefOwners(
  refs: readonly tray.v1.IObjectReference[],
): [string, tray.v1.IAddress | undefined][] {
  return refs.map((r) => [hex(r.objectId!), r.ownerAddress ?? undefined]);
}
