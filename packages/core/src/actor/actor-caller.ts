// One process's calls to one actor (Ray's per-actor submit queue): calls are sent straight to
// the actor's worker over one framed connection, in submission order (a call whose ref
// arguments are not ready holds back the calls after it). Where the actor is comes from the GCS:
// the creator learns it from CreateActor, others (and everyone after a failure) ask
// GetActorInfo until the actor is ALIVE at a new worker or DEAD. When the connection closes,
// calls in flight are resent after a restart while maxTaskRetries allows; others fail with
// ActorUnavailableError (restarting) or ActorDiedError (dead, saying why). A refresh asked for
// while one runs is not dropped: the running one goes round again, so a worker that cannot be
// reached at the address the GCS gave makes the caller ask the GCS again, however often.

import type { GcsClient } from '@tray/gcs/client';
import {
  actorTaskSpec,
  type Connection,
  CoreWorkerService,
  ErrorType,
  RemoteError,
  type tray,
  tray as trayProto,
} from '@tray/protocol';
import { PendingCallsLimitExceededError } from '../errors.js';
import { recordCallSites, userCallSite } from '../runtime/call-sites.js';
import type { CoreWorker } from '../runtime/core-worker.js';
import { hex, newTaskId, objectIdOf } from '../runtime/ids.js';
import { ObjectRef } from '../runtime/object-ref.js';
import { encodeLeaseFields, encodePushTask, type SpecTemplate } from '../runtime/push-encoding.js';
import type { PendingTask } from '../runtime/task-manager.js';
import { buildCallArgs, resolveCallArgs } from './call-args.js';

const State = trayProto.v1.ActorTableData.State;
const POLL_MIN_MS = 10;
const POLL_MAX_MS = 500;

type Status = 'pending' | 'alive' | 'restarting' | 'dead';

interface Call {
  task: PendingTask;
  ready: boolean;
  retriesLeft: number;
  keepAlive: ObjectRef<unknown>[];
}

export interface CallOptions {
  concurrencyGroup?: string;
}

export class ActorCaller {
  status: Status = 'pending';
  /** The creator is waiting for CreateActor: no need to ask the GCS meanwhile. */
  creating = false;
  /** Settles once the GCS knows the actor (the creator's registration is done or failed). */
  registered: Promise<void> = Promise.resolve();
  private connection: Connection | undefined;
  private workerIdHex = '';
  private lostWorkerHex = '';
  private deathInfo: tray.v1.IErrorInfo | undefined;
  private readonly queue: Call[] = [];
  private readonly inFlight = new Map<PendingTask, Call>();
  /** Calls whose worker died and that may not be resent: failed once the actor's fate is known. */
  private orphans: Call[] = [];
  private sequence = 0;
  /**
   * What every call of one method (and concurrency group) shares in its PushTask, encoded once
   * (push-encoding.ts): per call only its ids, arguments, attempt, depth and sequence number are.
   */
  private templates = new Map<string, SpecTemplate>();
  /** The PushTaskRequest fields of the worker the actor runs on (its intended worker id). */
  private workerFields: Uint8Array = new Uint8Array(0);
  private refreshing = false;
  /** A refresh was asked for while one ran: the running one asks the GCS again. */
  private refreshAgain = false;
  /** Set when every handle went out of scope: called once no call is queued or running. */
  private whenIdle: (() => void) | undefined;

  constructor(
    public id: Buffer,
    readonly className: string,
    private readonly core: CoreWorker,
    private readonly gcs: GcsClient,
    public maxTaskRetries: number,
    public maxPendingCalls: number,
  ) {}

  get idHex(): string {
    return hex(this.id);
  }

  /** The caller follows another actor (getIfExists found one): calls are encoded afresh. */
  follow(id: Buffer): void {
    this.id = id;
    this.templates = new Map();
  }

  /** Run `fn` once the actor is created and no call of this process is queued or running. */
  onIdle(fn: () => void): void {
    this.whenIdle = fn;
    this.checkIdle();
  }

  private checkIdle(): void {
    const fn = this.whenIdle;
    if (fn === undefined) return;
    if (this.status === 'dead') {
      this.whenIdle = undefined;
      return;
    }
    if (this.creating || this.queue.length > 0 || this.inFlight.size > 0) return;
    this.whenIdle = undefined;
    fn();
  }

  /** Submit `method(...args)`; the ref of its result. */
  call(method: string, args: readonly unknown[], options: CallOptions = {}): ObjectRef<unknown> {
    const core = this.core;
    const name = `${this.className}.${method}`;
    if (this.maxPendingCalls > 0 && this.queue.length + this.inFlight.size >= this.maxPendingCalls) {
      throw new PendingCallsLimitExceededError(
        `${name}.remote(): the actor already has ${this.maxPendingCalls} pending calls from this process ` +
          '(its maxPendingCalls); wait for some results before submitting more, or raise maxPendingCalls',
      );
    }
    const a = buildCallArgs(core, args, name);
    const group = options.concurrencyGroup ?? '';
    const key = group === '' ? method : `${method}\0${group}`;
    let template = this.templates.get(key);
    if (template === undefined) {
      template = { schedulingKey: '', fixed: undefined, specOf: undefined };
      this.templates.set(key, template);
    }
    const taskId = newTaskId(core.jobId);
    const spec = actorTaskSpec(core, {
      taskId,
      name,
      args: a.args,
      actorId: this.id,
      methodName: method,
      sequenceNumber: this.sequence++,
      callerId: core.workerId,
      concurrencyGroup: group,
    });
    const returnId = objectIdOf(taskId, 1);
    const returnHex = hex(returnId);
    const task: PendingTask = {
      spec,
      taskIdHex: hex(taskId),
      name,
      returnHexes: [returnHex],
      argRefs: a.argRefs,
      retriesLeft: 0,
      status: 'queued',
      cancelled: false,
      schedulingKey: '',
      eventsRow: -1,
      argsAtMs: 0,
      queuedAtMs: 0,
      pushedAtMs: 0,
      pushedTo: undefined,
      template,
    };
    core.refs.addSubmitted(a.refOwners);
    const entry = core.refs.addOwned(returnHex, core.address);
    if (recordCallSites) entry.callSite = userCallSite('actor task call');
    const ref = new ObjectRef(returnId, core.address, false, returnHex);
    core.tasks.add(task);
    core.tasks.events?.owner(task, 'PENDING_ARGS_AVAIL');
    const call: Call = {
      task,
      ready: a.dependencies.length === 0,
      retriesLeft: this.maxTaskRetries,
      keepAlive: a.keepAlive,
    };
    task.onCancel = () => this.dequeue(call);
    this.queue.push(call);
    if (!call.ready) {
      void resolveCallArgs(core, a.args, a.dependencies).then((error) => {
        if (error) {
          this.dequeue(call);
          core.tasks.failed(task, error);
          return;
        }
        call.ready = true;
        this.pump();
      });
    }
    this.pump();
    if (this.status === 'pending' && !this.creating) void this.refresh();
    return ref;
  }

  /** The actor runs at `address` (CreateActor answered, or the GCS says so). */
  async alive(address: tray.v1.IAddress): Promise<void> {
    const workerHex = address.workerId ? hex(address.workerId) : '';
    let connection: Connection;
    try {
      connection = await this.core.peers.get(address);
      if (connection.closed) throw new Error('closed');
    } catch {
      // Gone already: the GCS will say what became of it.
      this.lostWorkerHex = workerHex;
      void this.refresh();
      return;
    }
    if (this.status === 'dead') return;
    this.connection = connection;
    this.workerIdHex = workerHex;
    this.workerFields = encodeLeaseFields(Buffer.from(workerHex, 'hex'), {});
    this.status = 'alive';
    connection.once('close', () => this.lost(connection));
    this.failOrphans(this.unavailable());
    this.pump();
    this.checkIdle();
  }

  /** The actor is dead for `cause`: every call now and later fails saying why. */
  dead(cause: tray.v1.IErrorInfo): void {
    if (this.status === 'dead') return;
    this.status = 'dead';
    this.connection = undefined;
    const reason = cause.reason || (cause.message ?? 'unknown').replace(/^The actor died: /, '');
    this.deathInfo = {
      ...cause,
      type: ErrorType.ACTOR_DIED,
      message: `The actor ${this.className} (${this.idHex}) died: ${reason}`,
      actorId: this.id,
    };
    this.failOrphans(this.deathInfo);
    for (const call of this.inFlight.values()) this.fail(call, this.deathInfo);
    this.inFlight.clear();
    this.pump();
  }

  /**
   * This process killed the actor through the GCS: its worker is done even if its process has
   * not exited yet, so later calls wait for what the GCS says (dead, or alive at a new worker).
   */
  killed(): void {
    if (this.connection !== undefined) this.lost(this.connection);
  }

  /** Ask the GCS until the actor is ALIVE at another worker than the lost one, or DEAD. */
  async refresh(): Promise<void> {
    if (this.status === 'dead') return;
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = true;
    try {
      do {
        this.refreshAgain = false;
        await this.askUntilKnown();
      } while (this.refreshAgain && (this.status as Status) !== 'dead' && !this.core.isShutDown);
    } finally {
      this.refreshing = false;
    }
  }

  private async askUntilKnown(): Promise<void> {
    let delay = POLL_MIN_MS;
    while ((this.status as Status) !== 'dead' && !this.core.isShutDown) {
      let actor: tray.v1.ActorTableData | undefined;
      try {
        actor = await this.gcs.getActorInfo(this.id);
      } catch (err) {
        if (err instanceof RemoteError && err.info.type === ErrorType.NOT_FOUND) {
          this.dead({ message: 'no such actor exists in the cluster (it was never created here)' });
          return;
        }
      }
      if (actor?.state === State.DEAD) {
        this.dead(actor.deathCause ?? { message: 'it is dead' });
        return;
      }
      if (
        actor?.state === State.ALIVE &&
        actor.address &&
        hex(actor.address.workerId ?? Buffer.alloc(0)) !== this.lostWorkerHex
      ) {
        await this.alive(actor.address);
        return;
      }
      if (actor && actor.state !== State.ALIVE) {
        if (this.status !== 'pending') this.status = 'restarting';
        this.failOrphans(this.unavailable());
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, POLL_MAX_MS);
    }
  }

  private pump(): void {
    if (this.status === 'dead') {
      for (const call of this.queue.splice(0)) this.fail(call, this.deathInfo!);
      return;
    }
    const connection = this.connection;
    if (this.status !== 'alive' || connection === undefined) return;
    while (this.queue.length > 0 && this.queue[0]!.ready) this.send(connection, this.queue.shift()!);
  }

  private send(connection: Connection, call: Call): void {
    const task = call.task;
    task.status = 'running';
    this.core.tasks.events?.owner(task, 'SUBMITTED_TO_WORKER');
    this.inFlight.set(task, call);
    task.onCancel = (_task, force, recursive) => {
      connection
        .request(CoreWorkerService.CancelTask, {
          intendedTaskId: task.spec.taskId,
          forceKill: force,
          recursive,
        })
        .catch(() => {});
    };
    connection
      .requestEncoded(
        CoreWorkerService.PushTask,
        encodePushTask(task.spec, task.template!, this.workerFields),
      )
      .then(
        (reply) => {
          if (!this.inFlight.delete(task)) return;
          call.keepAlive.length = 0;
          this.core.tasks.completed(task, reply);
          // exitActor(): the actor is going away; later calls learn why from the GCS.
          if (reply.actorExiting) this.lost(connection);
          else this.checkIdle();
        },
        (err: Error) => {
          if (err instanceof RemoteError && this.inFlight.delete(task)) {
            this.core.tasks.failed(task, err.info);
            this.checkIdle();
            return;
          }
          this.lost(connection);
        },
      );
  }

  /** The connection to the actor's worker closed (or the actor is exiting). */
  private lost(connection: Connection): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    this.lostWorkerHex = this.workerIdHex;
    this.status = 'restarting';
    const resend: Call[] = [];
    for (const call of this.inFlight.values()) {
      if (call.retriesLeft !== 0) {
        if (call.retriesLeft > 0) call.retriesLeft--;
        call.task.spec.attemptNumber = (call.task.spec.attemptNumber ?? 0) + 1;
        call.task.status = 'queued';
        call.task.onCancel = () => this.dequeue(call);
        resend.push(call);
      } else {
        this.orphans.push(call);
      }
    }
    this.inFlight.clear();
    this.queue.unshift(...resend);
    void this.refresh();
  }

  private unavailable(): tray.v1.IErrorInfo {
    return {
      type: ErrorType.ACTOR_UNAVAILABLE,
      message:
        `The actor ${this.className} (${this.idHex}) is restarting after its worker died; this call was ` +
        'running there and is not resent (maxTaskRetries: 0). Set maxTaskRetries to resend calls.',
      actorId: this.id,
    };
  }

  private failOrphans(info: tray.v1.IErrorInfo): void {
    for (const call of this.orphans.splice(0)) this.fail(call, info);
  }

  private fail(call: Call, info: tray.v1.IErrorInfo): void {
    call.keepAlive.length = 0;
    this.core.tasks.failed(call.task, info);
  }

  private dequeue(call: Call): void {
    const i = this.queue.indexOf(call);
    if (i >= 0) this.queue.splice(i, 1);
    this.pump();
    this.checkIdle();
  }
}
