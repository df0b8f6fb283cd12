// The actor table (ActorInfoGcsService). Owns each actor's lifecycle state
// (DEPENDENCIES_UNREADY → PENDING_CREATION → ALIVE ⇄ RESTARTING → DEAD), names unique per
// namespace among live actors, owner tracking (a non-detached actor dies with its owner's worker,
// node or job) and why each actor died. Every state change is published on ACTOR_CHANNEL keyed by
// actor id. Creating and killing workers is delegated to an injected ActorScheduler. A worker
// that dies while creating the actor is one more restart (counted against maxRestarts), as in
// Ray; only a creation that cannot succeed (constructor threw, owner gone, lease refused) is
// final. CreateActor answers once the actor is ALIVE or DEAD, however many attempts that takes.
import {
  alreadyExists,
  checkId,
  ErrorType,
  errorWithInfo,
  IdBytes,
  invalidArgument,
  notFound,
  requireMessage,
  requireName,
  toErrorInfo,
  tray,
} from '@tray/protocol';
import { Channel, type Publisher } from '../pubsub.js';
import { PersistedTable } from '../storage/persisted-table.js';
import { bytesKey, type GcsStorage, Tables } from '../storage/storage.js';
import type { ActorScheduler } from './actor-scheduler.js';

type Actor = tray.v1.ActorTableData;
const State = tray.v1.ActorTableData.State;
/** A kill's reason is a sentence for the death cause, not a payload. */
const MAX_KILL_REASON_CHARS = 1000;

function deathCause(actorId: Uint8Array, reason: string, type = ErrorType.ACTOR_DIED): tray.v1.IErrorInfo {
  return { type, message: `The actor died: ${reason}`, reason, actorId };
}

export class ActorManager {
  private readonly table: PersistedTable<Actor>;
  private scheduler: ActorScheduler | undefined;
  /** Per actor, the newest scheduling attempt: an older attempt's outcome is ignored. */
  private readonly attempts = new Map<string, number>();
  /** CreateActor calls waiting for their actor to be ALIVE (address) or DEAD (cause). */
  private readonly settled = new Map<string, Array<(actor: Actor) => void>>();
  /** Told of every actor that became DEAD for good (placement groups it created go with it). */
  private readonly deadListeners: Array<(actor: Actor) => void> = [];

  constructor(
    storage: GcsStorage,
    private readonly publisher: Publisher,
  ) {
    this.table = new PersistedTable<Actor>(storage, Tables.actors, tray.v1.ActorTableData);
  }

  load(): Promise<void> {
    return this.table.load();
  }

  onActorDead(listener: (actor: Actor) => void): void {
    this.deadListeners.push(listener);
  }

  /** True when the actor is in the table and DEAD (no restart left). */
  isDead(actorId: Uint8Array): boolean {
    return this.table.get(bytesKey(actorId))?.state === State.DEAD;
  }

  /**
   * After a restart on durable storage: ALIVE actors are adopted (their workers and owners
   * watched again), and the actors the previous GCS was creating or restarting are scheduled
   * again: nobody else would, and a creator's CreateActor, retried through its reconnect window,
   * waits for the attempt under way (create() starts none for a PENDING_CREATION actor). Before
   * any of it, the raylets drop the workers the previous GCS leased for creations it never
   * finished (ActorScheduler.releaseUnused), so each actor ends with one worker.
   */
  resume(): void {
    if (!this.scheduler) return;
    // First the leases of the previous GCS's unfinished creations go (raylets kill those workers).
    this.scheduler.releaseUnused?.([...this.table.values()].filter((a) => a.state === State.ALIVE));
    for (const [key, actor] of this.table.entries()) {
      if (actor.state === State.ALIVE) this.scheduler.adopt?.(actor);
      else if (actor.state === State.RESTARTING || actor.state === State.PENDING_CREATION) {
        void this.schedule(key).catch(() => {});
      }
    }
  }

  /** Installs what creates and kills actors' workers. */
  setScheduler(scheduler: ActorScheduler | undefined): void {
    this.scheduler = scheduler;
  }

  async register(request: tray.v1.RegisterActorRequest): Promise<void> {
    const task = this.validateCreationTask(request.creationTask);
    const spec = task.actorCreation as tray.v1.ActorCreationSpec;
    const key = bytesKey(spec.actorId);
    if (this.table.has(key)) return; // a retried registration: idempotent
    if (spec.name) {
      const holder = this.findNamed(spec.name, spec.namespace);
      if (holder) {
        throw alreadyExists(
          `an actor named '${spec.name}' already exists in namespace '${spec.namespace}'; ` +
            'choose another name, use getIfExists to get the existing one, or kill it first',
        );
      }
    }
    const actor = tray.v1.ActorTableData.create({
      actorId: spec.actorId,
      jobId: task.jobId,
      name: spec.name,
      namespace: spec.namespace,
      state: State.DEPENDENCIES_UNREADY,
      ownerAddress: task.callerAddress,
      maxRestarts: spec.maxRestarts,
      detached: spec.detached,
      className: task.function?.name ?? '',
      creationTask: task,
    });
    await this.update(actor);
  }

  /** Creates a registered actor through the scheduler; resolves with its worker's address. */
  async create(request: tray.v1.CreateActorRequest): Promise<tray.v1.IAddress> {
    const task = this.validateCreationTask(request.creationTask);
    const key = bytesKey(task.actorCreation!.actorId);
    const actor = this.table.get(key);
    if (!actor) throw notFound(`actor ${key} is not registered: call RegisterActor first`);
    if (actor.state === State.ALIVE && actor.address) return actor.address;
    if (actor.state === State.DEAD) {
      throw errorWithInfo({ ...(actor.deathCause ?? deathCause(actor.actorId, 'it is dead')) });
    }
    if (!this.scheduler) {
      throw errorWithInfo({
        type: ErrorType.UNIMPLEMENTED,
        message: 'this GCS cannot create actors: no ActorScheduler is registered (setActorScheduler)',
      });
    }
    const outcome = this.whenSettled(key);
    // A retried CreateActor while creation runs waits for the attempt under way.
    if (actor.state === State.DEPENDENCIES_UNREADY) {
      await this.update({ ...actor, state: State.PENDING_CREATION } as Actor);
      void this.schedule(key).catch(() => {}); // the table could not be written: the GCS is stopping
    }
    const settled = await outcome;
    if (settled.state === State.ALIVE && settled.address) return settled.address;
    throw errorWithInfo({ ...(settled.deathCause ?? deathCause(settled.actorId, 'it is dead')) });
  }

  /** Resolves with the actor's row once it is ALIVE or DEAD. */
  private whenSettled(key: string): Promise<Actor> {
    return new Promise((resolve) => {
      let waiting = this.settled.get(key);
      if (waiting === undefined) this.settled.set(key, (waiting = []));
      waiting.push(resolve);
    });
  }

  get(request: tray.v1.GetActorInfoRequest): Actor {
    const key = bytesKey(checkId(request.actorId, IdBytes.actor, 'actor_id'));
    const actor = this.table.get(key);
    if (!actor) throw notFound(`actor ${key} does not exist`);
    return actor;
  }

  getNamed(request: tray.v1.GetNamedActorInfoRequest): Actor {
    const name = requireName(request.name, 'name');
    const actor = this.findNamed(name, request.namespace);
    if (!actor) throw notFound(`no actor named '${name}' in namespace '${request.namespace}'`);
    return actor;
  }

  listNamed(request: tray.v1.ListNamedActorsRequest): tray.v1.INamedActorEntry[] {
    const entries: tray.v1.INamedActorEntry[] = [];
    for (const actor of this.table.values()) {
      if (!actor.name || actor.state === State.DEAD) continue;
      if (!request.allNamespaces && actor.namespace !== request.namespace) continue;
      entries.push({ name: actor.name, namespace: actor.namespace });
    }
    return entries;
  }

  getAll(request: tray.v1.GetAllActorInfoRequest): Actor[] {
    checkId(request.jobId, IdBytes.job, 'job_id', true);
    const job = request.jobId.length > 0 ? bytesKey(request.jobId) : undefined;
    return [...this.table.values()].filter((a) => job === undefined || bytesKey(a.jobId) === job);
  }

  /** tray.kill: stops the actor; it restarts unless `noRestart` or its restarts are used up. */
  async kill(request: tray.v1.KillActorViaGcsRequest): Promise<void> {
    const actor = this.get(request as unknown as tray.v1.GetActorInfoRequest);
    if (request.reason.length > MAX_KILL_REASON_CHARS) {
      throw invalidArgument(`reason must be at most ${MAX_KILL_REASON_CHARS} characters`);
    }
    if (actor.state === State.DEAD) return;
    await this.scheduler?.kill(actor, request.forceKill);
    const cause = deathCause(actor.actorId, request.reason || 'it was killed by tray.kill');
    await this.died(bytesKey(actor.actorId), cause, !request.noRestart);
  }

  /** The actor's worker is gone (reported by its raylet or owner), or it ended itself (no_restart). */
  async reportDeath(request: tray.v1.ReportActorDeathRequest): Promise<void> {
    const actor = this.get(request as unknown as tray.v1.GetActorInfoRequest);
    const cause = request.deathCause ?? deathCause(actor.actorId, 'its worker process died');
    await this.died(bytesKey(actor.actorId), { ...cause, actorId: actor.actorId }, !request.noRestart);
  }

  /**
   * A worker died: actors running on it died (`how`: how its process ended, as its raylet
   * reported it); non-detached actors it owned die with it.
   */
  async workerDied(workerId: Uint8Array, how = 'its worker process died'): Promise<void> {
    const dead = bytesKey(workerId);
    for (const [key, actor] of this.table.entries()) {
      if (actor.state === State.DEAD) continue;
      if (!actor.detached && bytesKey(actor.ownerAddress?.workerId ?? new Uint8Array()) === dead) {
        await this.ownerDied(key, actor, 'its owner (the worker or driver that created it) died');
      } else if (actor.address && bytesKey(actor.address.workerId) === dead) {
        await this.died(key, deathCause(actor.actorId, how), true);
      }
    }
  }

  /** A node died: its actors died (and may restart); non-detached actors owned there die. */
  async nodeDied(nodeId: Uint8Array, reason: string): Promise<void> {
    const dead = bytesKey(nodeId);
    for (const [key, actor] of this.table.entries()) {
      if (actor.state === State.DEAD) continue;
      if (!actor.detached && bytesKey(actor.ownerAddress?.nodeId ?? new Uint8Array()) === dead) {
        await this.ownerDied(key, actor, `the node of its owner died (${reason})`);
      } else if (actor.address && bytesKey(actor.address.nodeId) === dead) {
        await this.died(
          key,
          deathCause(actor.actorId, `its node died (${reason})`, ErrorType.NODE_DIED),
          true,
        );
      }
    }
  }

  /** A job ended: its non-detached actors are killed. */
  async jobFinished(jobId: Uint8Array): Promise<void> {
    const job = bytesKey(jobId);
    for (const [key, actor] of this.table.entries()) {
      if (actor.state !== State.DEAD && !actor.detached && bytesKey(actor.jobId) === job) {
        await this.ownerDied(key, actor, 'its job finished');
      }
    }
  }

  private async ownerDied(key: string, actor: Actor, reason: string): Promise<void> {
    await Promise.resolve(this.scheduler?.kill(actor, true)).catch(() => {});
    await this.died(key, deathCause(actor.actorId, reason, ErrorType.OWNER_DIED), false);
  }

  /** The actor stopped: restart it when allowed and restarts remain, else it is DEAD for `cause`. */
  private async died(key: string, cause: tray.v1.IErrorInfo, mayRestart: boolean): Promise<void> {
    const actor = this.table.get(key);
    if (!actor || actor.state === State.DEAD) return;
    const unlimited = actor.maxRestarts < 0;
    const canRestart =
      mayRestart && this.scheduler !== undefined && (unlimited || actor.numRestarts < actor.maxRestarts);
    if (!canRestart) {
      await this.update({ ...actor, state: State.DEAD, address: null, deathCause: cause } as Actor);
      return;
    }
    await this.update({
      ...actor,
      state: State.RESTARTING,
      address: null,
      numRestarts: actor.numRestarts + 1,
    } as Actor);
    void this.schedule(key).catch(() => {}); // the table could not be written: the GCS is stopping
  }

  /** One attempt at (re)creating the actor; its outcome lands in the table (ALIVE, a restart, DEAD). */
  private async schedule(key: string): Promise<void> {
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    const superseded = () => this.attempts.get(key) !== attempt || this.table.get(key)?.state === State.DEAD;
    try {
      const address = await this.scheduler!.schedule(this.table.get(key)!);
      // Killed or restarted meanwhile: the newer attempt (or the death) decides.
      if (superseded()) return;
      await this.update({ ...this.table.get(key)!, state: State.ALIVE, address } as Actor);
    } catch (err) {
      if (superseded()) return;
      const info = toErrorInfo(err);
      const current = this.table.get(key)!;
      const cause = { ...info, ...deathCause(current.actorId, `its creation failed: ${info.message}`) };
      if (info.type === ErrorType.WORKER_DIED) {
        // The worker died while creating it: one more restart, as any other death.
        await this.died(key, cause, true);
        return;
      }
      // Keep the original error (class, stack, serialized value): ActorDiedError carries it.
      await this.update({ ...current, state: State.DEAD, address: null, deathCause: cause } as Actor);
    }
  }

  private findNamed(name: string, namespace: string): Actor | undefined {
    for (const actor of this.table.values()) {
      if (actor.name === name && actor.namespace === namespace && actor.state !== State.DEAD) return actor;
    }
    return undefined;
  }

  private validateCreationTask(task: tray.v1.ITaskSpec | null | undefined): tray.v1.TaskSpec {
    const t = tray.v1.TaskSpec.create(requireMessage(task, 'creation_task'));
    if (t.type !== tray.v1.TaskType.ACTOR_CREATION_TASK) {
      throw invalidArgument(
        `creation_task.type must be ACTOR_CREATION_TASK, got ${tray.v1.TaskType[t.type] ?? t.type}`,
      );
    }
    checkId(t.jobId, IdBytes.job, 'creation_task.job_id');
    checkId(t.taskId, IdBytes.task, 'creation_task.task_id', true);
    const spec = tray.v1.ActorCreationSpec.create(
      requireMessage(t.actorCreation, 'creation_task.actor_creation'),
    );
    t.actorCreation = spec;
    checkId(spec.actorId, IdBytes.actor, 'creation_task.actor_creation.actor_id');
    checkId(t.callerAddress?.workerId, IdBytes.worker, 'creation_task.caller_address.worker_id', true);
    checkId(t.callerAddress?.nodeId, IdBytes.node, 'creation_task.caller_address.node_id', true);
    return t;
  }

  private async update(actor: Actor): Promise<void> {
    const row = tray.v1.ActorTableData.create(actor);
    await this.table.set(bytesKey(row.actorId), row);
    this.publisher.publish({ channel: Channel.ACTOR_CHANNEL, key: row.actorId, actor: row });
    if (row.state !== State.ALIVE && row.state !== State.DEAD) return;
    const key = bytesKey(row.actorId);
    if (row.state === State.DEAD) {
      this.attempts.delete(key);
      for (const listener of this.deadListeners) listener(row);
    }
    const waiting = this.settled.get(key);
    this.settled.delete(key);
    for (const resolve of waiting ?? []) resolve(row);
  }
}
