// ActorClass<C>: what tray.remote(Class) returns. `.remote(...ctorArgs)` creates an actor — its
// own worker process running `new Class(...ctorArgs)` — and returns its handle at once (calls
// queue until the constructor ran); `.options({...})` returns a copy with other actor options.
// The class's code is described for shipping once, at definition time, like a remote function's,
// and an actor class can itself travel inside values.
import { randomBytes } from 'node:crypto';
import { actorCreationTaskSpec, ErrorType, IdBytes, type tray } from '@tray/protocol';
import { ActorRuntime } from '../../actor/actor-runtime.js';
import { buildCallArgs, resolveCallArgs } from '../../actor/call-args.js';
import { requireCore } from '../../process/state.js';
import type { CoreWorker } from '../../runtime/core-worker.js';
import { hex, newTaskId } from '../../runtime/ids.js';
import type { ObjectRef } from '../../runtime/object-ref.js';
import { specRuntimeEnv, uploadsDone } from '../../runtime/runtime-env.js';
import { captureRefOwners } from '../../runtime/task-launcher.js';
import { REMOTE_FUNCTION_BRAND } from '../../runtime/value-walk.js';
import type { RemoteArgs } from '../remote-function.js';
import { RemoteFunction } from '../remote-function.js';
import { type ActorHandle, makeActorHandle } from './actor-handle.js';
import { type ActorOptions, checkActorOptions, resolveActorOptions } from './actor-options.js';

/** How an actor class travels inside values. */
export interface ActorClassWire {
  actorClass: { code: unknown; options: ActorOptions; methods: string[]; maxArgs: number | null };
}

/** The methods an instance of `cls` has (own and inherited prototype methods). */
export function methodNamesOf(cls: Function): string[] {
  const names = new Set<string>();
  for (let proto = cls.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor') continue;
      const d = Object.getOwnPropertyDescriptor(proto, name);
      if (d && typeof d.value === 'function') names.add(name);
    }
  }
  return [...names];
}

export class ActorClass<
  C extends abstract new (
    ...args: any[]
  ) => any = abstract new (
    ...args: any[]
  ) => any,
> {
  readonly #code: RemoteFunction;
  readonly #options: ActorOptions;
  readonly #methods: string[];
  readonly #maxArgs: number;

  /** @internal Made by tray.remote(Class). */
  constructor(code: RemoteFunction, options: ActorOptions, methods: string[], maxArgs: number) {
    this.#code = code;
    this.#options = options;
    this.#methods = methods;
    this.#maxArgs = maxArgs;
    Object.defineProperty(this, REMOTE_FUNCTION_BRAND, { value: true });
  }

  /** The class's name. */
  get name(): string {
    return this.#code.name;
  }

  /**
   * The class itself, loaded into this worker process as an actor of it would get it (see
   * RemoteFunction.local): for libraries that construct user classes inside their own actors.
   */
  local(): Promise<C> {
    return this.#code.local() as unknown as Promise<C>;
  }

  /** Create an actor running `new C(...args)`; its handle is usable at once. */
  remote(...args: RemoteArgs<ConstructorParameters<C>>): ActorHandle<InstanceType<C>> {
    const name = this.#code.name || 'Actor';
    const core = requireCore(`${name}.remote()`);
    if (args.length > this.#maxArgs) {
      throw new TypeError(
        `${name}.remote(): the constructor takes at most ${this.#maxArgs} argument(s), got ${args.length}`,
      );
    }
    const o = this.#options;
    const resolved = resolveActorOptions(o);
    const actorId = Buffer.concat([
      randomBytes(IdBytes.actor - IdBytes.job),
      core.jobId.subarray(0, IdBytes.job),
    ]);
    const callArgs = buildCallArgs(core, args, `${name} constructor`);
    const spec = actorCreationTaskSpec(core, {
      taskId: newTaskId(core.jobId),
      function: this.#code.descriptor(core),
      args: callArgs.args,
      resources: resolved.required,
      runtimeEnv: specRuntimeEnv(core, core.defaultRuntimeEnv, resolved.runtimeEnv),
      schedulingStrategy: resolved.schedulingStrategy,
      name,
      actorCreation: {
        ...resolved.creation,
        actorId,
        namespace: o.namespace ?? '',
        placementResources: resolved.placement ? { quantities: resolved.placement } : undefined,
      },
    });
    // The arguments stay referenced while the actor may be restarted (its creation task reruns).
    core.refs.addSubmitted(callArgs.refOwners);
    const captureRefs = spec.function!.captureRefs;
    if (captureRefs != null && captureRefs.length > 0) core.refs.addSubmitted(captureRefOwners(captureRefs));
    const identity = {
      actorId: hex(actorId),
      className: name,
      methods: this.#methods,
      maxTaskRetries: resolved.creation.maxTaskRetries!,
      maxPendingCalls: resolved.creation.maxPendingCalls!,
    };
    const runtime = ActorRuntime.of(core);
    const caller = runtime.caller(actorId, identity);
    const uploaded = uploadsDone(core, spec.runtimeEnv);
    const argsAlone = resolveCallArgs(core, callArgs.args, callArgs.dependencies);
    const argsReady =
      uploaded === undefined
        ? argsAlone
        : uploaded.then(
            () => argsAlone,
            (err: Error): tray.v1.IErrorInfo => ({
              type: ErrorType.RUNTIME_ENV_SETUP_FAILED,
              message: err.message,
            }),
          );
    void runtime.create(spec, caller, o.getIfExists === true, argsReady).then(() => {
      callArgs.keepAlive.length = 0;
    });
    // Named and detached actors are found by name or outlive their creator: never collected.
    const counted = !o.name && o.lifetime !== 'detached';
    const ref = counted ? runtime.countHandles(spec, caller) : undefined;
    return makeActorHandle<InstanceType<C>>(identity, caller, ref);
  }

  /** A copy with these actor options (merged over the current ones). */
  options(options: ActorOptions): ActorClass<C> {
    const checked = checkActorOptions(options, `${this.#code.name || 'Actor'}.options()`);
    return new ActorClass<C>(this.#code, { ...this.#options, ...checked }, this.#methods, this.#maxArgs);
  }

  toString(): string {
    return `ActorClass(${this.#code.name || 'anonymous'})`;
  }

  /** @internal How it travels inside values. */
  toWire(core: CoreWorker, addRef: (ref: ObjectRef<unknown>) => number): ActorClassWire {
    const maxArgs = Number.isFinite(this.#maxArgs) ? this.#maxArgs : null;
    return {
      actorClass: {
        code: this.#code.toWire(core, addRef),
        options: this.#options,
        methods: this.#methods,
        maxArgs,
      },
    };
  }

  /** @internal */
  static fromWire(data: ActorClassWire, refs: readonly ObjectRef<unknown>[]): ActorClass {
    const w = data.actorClass;
    return new ActorClass(
      RemoteFunction.fromWire(w.code, refs),
      w.options ?? {},
      w.methods ?? [],
      w.maxArgs ?? Number.POSITIVE_INFINITY,
    );
  }
}
