// A process's side of the actor table (one per core worker): one ActorCaller per
// actor it calls (handles of one actor share it, so calls stay in order), actor creation
// (RegisterActor — names per namespace, getIfExists — then CreateActor, answered once the
// constructor ran), named lookups and tray.kill. Drivers know their namespace; workers ask the
// job table for their job's.
import type { GcsClient } from '@tray/gcs/client';
import { ErrorType, RemoteError, type tray } from '@tray/protocol';
import { processGcs } from '../process/gcs.js';
import { processWide } from '../process/state.js';
import type { CoreWorker } from '../runtime/core-worker.js';
import { hex, objectIdOf } from '../runtime/ids.js';
import { ObjectRef } from '../runtime/object-ref.js';
import { ActorCaller } from './actor-caller.js';

// One per core worker and process: handles of one actor share its caller, whichever copy of
// @tray/core made them (the worker bundle's, or a library's import in a worker).
const runtimes = processWide<CoreWorker, ActorRuntime>('actorRuntimes');
const OUT_OF_SCOPE = 'every handle to it went out of scope';

export interface CallerSettings {
  className: string;
  maxTaskRetries: number;
  maxPendingCalls: number;
}

export class ActorRuntime {
  readonly gcs: GcsClient;
  private readonly callers = new Map<string, ActorCaller>();

  private constructor(private readonly core: CoreWorker) {
    this.gcs = processGcs(core).client;
  }

  static of(core: CoreWorker): ActorRuntime {
    let runtime = runtimes.get(core);
    if (runtime === undefined) {
      runtime = new ActorRuntime(core);
      runtimes.set(core, runtime);
    }
    return runtime;
  }

  /** The caller of actor `id` in this process (made on first use). */
  caller(id: Buffer, settings: CallerSettings): ActorCaller {
    const key = hex(id);
    let caller = this.callers.get(key);
    if (caller === undefined) {
      caller = new ActorCaller(
        id,
        settings.className,
        this.core,
        this.gcs,
        settings.maxTaskRetries,
        settings.maxPendingCalls,
      );
      this.callers.set(key, caller);
    }
    return caller;
  }

  /**
   * The ref that counts the handles of the actor `spec` creates (Ray's out-of-scope termination):
   * an object id of the creation task (index 1; the task has no returns) owned here and counted
   * like any ref — every handle holds it, a handle that travels carries it and its receiver
   * borrows it (api/actor/remote-codec.ts), a value that holds a handle contains it. When its last
   * reference anywhere is gone the actor is stopped, after the calls already made from here.
   */
  countHandles(spec: tray.v1.ITaskSpec, caller: ActorCaller): ObjectRef<unknown> {
    const id = objectIdOf(spec.taskId!, 1);
    const entry = this.core.refs.addOwned(hex(id), this.core.address);
    entry.onFree = () => this.outOfScope(caller);
    return new ObjectRef(id, this.core.address);
  }

  private outOfScope(caller: ActorCaller): void {
    if (this.core.isShutDown) return;
    caller.onIdle(() => {
      if (this.core.isShutDown) return;
      this.gcs.killActorViaGcs(caller.id, { forceKill: true, noRestart: true, reason: OUT_OF_SCOPE }).then(
        () => caller.killed(),
        () => {}, // the GCS or the cluster is going away: the actor goes with it
      );
    });
  }

  /** The namespace of this process's job (tray.init({ namespace }) or an anonymous one). */
  namespace(): Promise<string> {
    return processGcs(this.core).namespace();
  }

  /**
   * Register and create the actor of `spec`; `caller` follows it. With getIfExists, a taken name
   * makes `caller` the existing actor's.
   */
  async create(
    spec: tray.v1.ITaskSpec,
    caller: ActorCaller,
    getIfExists: boolean,
    argsReady: Promise<tray.v1.IErrorInfo | undefined>,
  ): Promise<void> {
    const creation = spec.actorCreation!;
    caller.creating = true;
    let registered!: () => void;
    caller.registered = new Promise((resolve) => (registered = resolve));
    try {
      const argError = await argsReady;
      if (argError) {
        registered();
        caller.creating = false;
        caller.dead({ ...argError, reason: `a constructor argument failed: ${argError.message}` });
        return;
      }
      if (!creation.namespace) creation.namespace = await this.namespace();
      try {
        await this.gcs.registerActor(spec);
      } catch (err) {
        if (getIfExists && err instanceof RemoteError && err.info.type === ErrorType.ALREADY_EXISTS) {
          const existing = await this.gcs.getNamedActorInfo(creation.name!, creation.namespace!);
          this.adopt(caller, Buffer.from(existing.actorId));
          caller.creating = false;
          await caller.refresh();
          return;
        }
        throw err;
      } finally {
        registered();
      }
      const address = await this.gcs.createActor(spec);
      caller.creating = false;
      await caller.alive(address);
    } catch (err) {
      caller.creating = false;
      const info =
        err instanceof RemoteError ? err.info : { message: `could not create it: ${(err as Error).message}` };
      const registering = info.type === ErrorType.ALREADY_EXISTS || info.type === ErrorType.INVALID_ARGUMENT;
      caller.dead({
        ...info,
        reason: registering ? `it could not be created: ${info.message}` : info.reason || info.message || '',
      });
      if (registering)
        process.stderr.write(`tray: actor ${caller.className} could not be created: ${info.message}\n`);
    }
  }

  /** The actor named `name` in `namespace` (its caller settings come from its creation task). */
  async getNamed(
    name: string,
    namespace: string | undefined,
  ): Promise<{ actor: tray.v1.ActorTableData; ns: string }> {
    const ns = namespace ?? (await this.namespace());
    const actor = await this.gcs.getNamedActorInfo(name, ns);
    return { actor, ns };
  }

  async kill(id: Buffer, noRestart: boolean): Promise<void> {
    await this.gcs.killActorViaGcs(id, { forceKill: true, noRestart });
    // The killed worker may still be exiting: calls from here must not reach it any more.
    this.callers.get(hex(id))?.killed();
  }

  private adopt(caller: ActorCaller, id: Buffer): void {
    this.callers.delete(caller.idHex);
    caller.follow(id);
    const existing = this.callers.get(caller.idHex);
    if (existing === undefined) this.callers.set(caller.idHex, caller);
  }
}
