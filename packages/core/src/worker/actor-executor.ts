// The actor side of a worker process. The creation task makes this worker the actor: it runs
// `new Class(...args)` (a constructor that throws is reported as the creation's error) and keeps
// the instance. Calls run on the instance in arrival order — each caller sends its calls in
// order over one connection — through concurrency groups: 'default' admits maxConcurrency calls
// at once, each named group its own limit, so async methods interleave up to the limit and
// never beyond. exitActor() ends the actor after the current call: the GCS records why (no
// restart), queued calls fail, and the process exits. Other tasks go to the task executor.
import {
  type Connection,
  CoreWorkerService,
  ErrorType,
  type Message,
  type tray,
  tray as trayProto,
} from '@tray/protocol';
import { type ActorContext, setCurrentActor } from '../actor/actor-context.js';
import { ActorRuntime } from '../actor/actor-runtime.js';
import type { CoreWorker } from '../runtime/core-worker.js';
import { errorInfoFromThrown } from '../runtime/error-info.js';
import { hex, objectIdOf } from '../runtime/ids.js';
import { endState } from '../runtime/task-events.js';
import { isPromise, isThenable, type MaybePromise } from './maybe-promise.js';
import { RUNTIME_ENV_WORKING_DIR } from './task-env.js';
import type { TaskExecutor } from './task-executor.js';

type Reply = Message<tray.v1.PushTaskReply>;

interface QueuedCall {
  spec: tray.v1.ITaskSpec;
  resolve: (reply: MaybePromise<Reply>) => void;
}

interface ConcurrencyGroup {
  name: string;
  limit: number;
  running: number;
  queue: QueuedCall[];
}

/** Gives the process a moment to write the last replies before it exits. */
const EXIT_FLUSH_MS = 100;

export class ActorExecutor {
  private instance: Record<string, unknown> | undefined;
  private context: ActorContext | undefined;
  private readonly groups = new Map<string, ConcurrencyGroup>();
  private readonly methodGroups = new Map<string, string>();
  private exitInfo: tray.v1.IErrorInfo | undefined;

  constructor(
    private readonly core: CoreWorker,
    private readonly tasks: TaskExecutor,
  ) {}

  /** No actor call runs or waits here. */
  get idle(): boolean {
    for (const g of this.groups.values()) if (g.running > 0 || g.queue.length > 0) return false;
    return true;
  }

  /** Serve PushTask (actor creation and calls here, other tasks to the task executor) and KillActor. */
  serve(connection: Connection): void {
    connection.handle(CoreWorkerService.PushTask, (request, c) => this.push(request, c));
    connection.handle(CoreWorkerService.KillActor, (request) => this.kill(request));
  }

  private push(request: tray.v1.PushTaskRequest, connection: Connection): MaybePromise<Reply> {
    const type = request.task?.type ?? trayProto.v1.TaskType.NORMAL_TASK;
    if (type === trayProto.v1.TaskType.ACTOR_CREATION_TASK) {
      const events = this.core.taskEvents;
      if (!events.enabled) return this.create(request);
      // This worker's tasks are over (it is the actor's now): what it ran is reported at once,
      // not left for a timer that an actor killed with its job may never see.
      void events.flush();
      events.executor(request.task!, 'RUNNING');
      return this.create(request).then((reply) => this.ended(request.task!, reply));
    }
    if (type === trayProto.v1.TaskType.ACTOR_TASK) return this.call(request.task!);
    return this.tasks.push(request, connection);
  }

  /** Report how a creation or call ended (task events), and pass its reply on. */
  private ended(spec: tray.v1.ITaskSpec, reply: Reply): Reply {
    const { state, error } = endState(reply);
    this.core.taskEvents.executor(spec, state, error);
    return reply;
  }

  private async create(request: tray.v1.PushTaskRequest): Promise<Reply> {
    const core = this.core;
    const spec = request.task!;
    const creation = spec.actorCreation!;
    const className = spec.function?.name || spec.name || 'Actor';
    if (this.instance !== undefined) {
      return failedCreation(new Error('this worker already runs an actor'), className, core);
    }
    // The actor owns this process: its devices and env vars stay set for its whole life.
    if (request.visibleDevices?.CUDA_VISIBLE_DEVICES)
      process.env.CUDA_VISIBLE_DEVICES = request.visibleDevices.CUDA_VISIBLE_DEVICES;
    for (const [k, v] of Object.entries(spec.runtimeEnv?.envVars ?? {})) process.env[k] = v;
    if (spec.jobId && spec.jobId.length > 0) core.jobId = Buffer.from(spec.jobId);
    // A runtime env's working dir (this worker's cwd) replaces the driver's directory.
    if (spec.function?.workingDir && !RUNTIME_ENV_WORKING_DIR) core.workingDir = spec.function.workingDir;
    core.currentTaskId = Buffer.from(spec.taskId!);
    core.currentDepth = spec.depth ?? 1;
    const actorId = Buffer.from(creation.actorId!);
    this.context = {
      actorId,
      actorIdHex: hex(actorId),
      className,
      wasRestarted: (spec.attemptNumber ?? 0) > 0,
      exiting: false,
    };
    setCurrentActor(this.context);
    // The actor's lease holds its lifetime resources; with no CPU among them a blocking get has
    // nothing to lend the raylet (Ray's actors never release resources when they block).
    core.lendsCpuWhenBlocked = (spec.requiredResources?.quantities?.CPU ?? 0) > 0;
    this.groups.set('default', group('default', creation.maxConcurrency || 1));
    for (const g of creation.concurrencyGroups ?? []) {
      this.groups.set(g.name!, group(g.name!, g.maxConcurrency || 1));
      for (const m of g.methods ?? []) this.methodGroups.set(m, g.name!);
    }
    try {
      const Class = (await this.tasks.load(spec.function!)) as new (
        ...args: unknown[]
      ) => Record<string, unknown>;
      const args = await this.tasks.resolveArgs(spec.args ?? []);
      this.instance = new Class(...args);
    } catch (err) {
      setCurrentActor(undefined);
      return failedCreation(err, className, core);
    }
    // Replies wait for the borrows made meanwhile to be recorded (as the task executor's do).
    await core.borrows.whenAcknowledged();
    return { returnObjects: [] };
  }

  /**
   * A call runs at once when its group has room and nothing of the group waits (a synchronous
   * method then answers in this tick); otherwise it queues in arrival order.
   */
  private call(spec: tray.v1.ITaskSpec): MaybePromise<Reply> {
    const name = spec.name || spec.methodName || 'call';
    if (this.instance === undefined) {
      return errorReply(spec, {
        type: ErrorType.ACTOR_DIED,
        message: `${name}: this worker runs no actor (its creation failed or it never started)`,
      });
    }
    if (this.exitInfo) return errorReply(spec, this.exitInfo);
    const method = spec.methodName ?? '';
    const groupName = spec.concurrencyGroup || this.methodGroups.get(method) || 'default';
    const g = this.groups.get(groupName);
    if (g === undefined) {
      const known = [...this.groups.keys()].join(', ');
      return errorReply(
        spec,
        errorInfoFromThrown(
          new TypeError(`${name}: the actor has no concurrency group '${groupName}' (its groups: ${known})`),
          name,
          this.core.codec,
        ),
        true,
      );
    }
    if (g.running < g.limit && g.queue.length === 0) return this.start(g, spec);
    return new Promise((resolve) => {
      g.queue.push({ spec, resolve });
      this.drain(g);
    });
  }

  /** Run a call in group `g`; when it is done, the group's queue moves on. */
  private start(g: ConcurrencyGroup, spec: tray.v1.ITaskSpec): MaybePromise<Reply> {
    g.running++;
    const events = this.core.taskEvents.enabled;
    if (events) this.core.taskEvents.executor(spec, 'RUNNING');
    const out = this.run(spec);
    if (!isPromise(out)) {
      g.running--;
      return events ? this.ended(spec, out) : out;
    }
    return out.then((reply) => {
      g.running--;
      this.drain(g);
      return events ? this.ended(spec, reply) : reply;
    });
  }

  private drain(g: ConcurrencyGroup): void {
    while (g.running < g.limit && g.queue.length > 0 && this.exitInfo === undefined) {
      const next = g.queue.shift()!;
      next.resolve(this.start(g, next.spec));
    }
  }

  private run(spec: tray.v1.ITaskSpec): MaybePromise<Reply> {
    const core = this.core;
    const name = spec.name || `${this.context!.className}.${spec.methodName}`;
    core.currentTaskId = Buffer.from(spec.taskId!);
    const failed = (err: unknown) => errorReply(spec, errorInfoFromThrown(err, name, core.codec), true);
    let out: MaybePromise<Reply>;
    try {
      const fn = this.instance![spec.methodName ?? ''];
      if (typeof fn !== 'function') {
        throw new TypeError(`${this.context!.className} has no method ${JSON.stringify(spec.methodName)}`);
      }
      const args = this.tasks.resolveArgs(spec.args ?? []);
      out = isPromise(args)
        ? args.then((a) => this.returned(spec, name, (fn as Function).apply(this.instance, a)))
        : this.returned(spec, name, (fn as Function).apply(this.instance, args));
    } catch (err) {
      out = failed(err);
    }
    if (isPromise(out))
      return out.then(
        (reply) => this.afterCall(reply),
        (err) => this.afterCall(failed(err)),
      );
    return this.afterCall(out);
  }

  /** The reply for what a method returned (awaited when it is a promise). */
  private returned(spec: tray.v1.ITaskSpec, name: string, result: unknown): MaybePromise<Reply> {
    if (isThenable(result)) return Promise.resolve(result).then((value) => this.returned(spec, name, value));
    const value = this.tasks.packReturn(
      objectIdOf(spec.taskId!, 1),
      result,
      `the return value of ${name}`,
      spec,
    );
    return isPromise(value) ? value.then((v) => ({ returnObjects: [v] })) : { returnObjects: [value] };
  }

  /**
   * A call's reply goes out once the borrows it made are recorded (as the task executor's do);
   * one that ran exitActor() ends the actor first.
   */
  private afterCall(reply: Reply): MaybePromise<Reply> {
    const acknowledged = this.core.borrows.whenAcknowledged();
    if (acknowledged !== undefined) return acknowledged.then(() => this.exitIfAsked(reply));
    return this.exitIfAsked(reply);
  }

  private exitIfAsked(reply: Reply): MaybePromise<Reply> {
    if (!this.context!.exiting) return reply;
    return this.exit().then(() => {
      reply.actorExiting = true;
      return reply;
    });
  }

  /** exitActor() was called: record the death (no restart), fail what waits, then exit. */
  private async exit(): Promise<void> {
    if (this.exitInfo !== undefined) return;
    const actorId = this.context!.actorId;
    const reason = 'exited by exitActor()';
    this.exitInfo = { type: ErrorType.ACTOR_DIED, message: `The actor died: it ${reason}`, reason, actorId };
    try {
      await ActorRuntime.of(this.core).gcs.reportActorDeath(actorId, this.exitInfo, true);
    } catch (err) {
      process.stderr.write(`tray: could not tell the GCS that the actor exited: ${(err as Error).message}\n`);
    }
    for (const g of this.groups.values()) {
      for (const queued of g.queue.splice(0)) queued.resolve(errorReply(queued.spec, this.exitInfo));
    }
    this.exitSoon();
  }

  private kill(request: tray.v1.KillActorRequest): Message<tray.v1.KillActorReply> {
    if (request.forceKill) setImmediate(() => process.exit(1));
    else this.exitSoon();
    return {};
  }

  /** Exit once the replies are out and the last task events are sent (at most 1 s for those). */
  private exitSoon(): void {
    setTimeout(() => {
      void this.core.taskEvents.close(1000).finally(() => process.exit(0));
    }, EXIT_FLUSH_MS);
  }
}

function group(name: string, limit: number): ConcurrencyGroup {
  return { name, limit, running: 0, queue: [] };
}

function errorReply(spec: tray.v1.ITaskSpec, error: tray.v1.IErrorInfo, application = false): Reply {
  return {
    returnObjects: [{ objectId: objectIdOf(spec.taskId!, 1), error }],
    isApplicationError: application,
  };
}

function failedCreation(err: unknown, className: string, core: CoreWorker): Reply {
  return {
    returnObjects: [{ error: errorInfoFromThrown(err, `${className}.constructor`, core.codec) }],
    isApplicationError: true,
  };
}
