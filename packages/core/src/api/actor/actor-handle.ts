// ActorHandle<C>: what `ActorClass.remote()` and `tray.getActor()` return. `handle.m.remote(...)`
// submits a call to method m and returns a ref typed from the class (`Awaited<ReturnType>`);
// `handle.m.options({ concurrencyGroup })` picks the call's concurrency group. A handle is a
// Proxy over the actor's identity, so any method name works; when the class is known, a name it
// does not have fails at `.remote()`. Handles travel inside values and arguments as the actor's
// id (the receiver asks the GCS where the actor is) and the ref that counts its handles.

import type { ActorCaller, CallOptions } from '../../actor/actor-caller.js';
import { ActorRuntime } from '../../actor/actor-runtime.js';
import { requireCore } from '../../process/state.js';
import type { ObjectRef } from '../../runtime/object-ref.js';
import { REMOTE_FUNCTION_BRAND } from '../../runtime/value-walk.js';
import type { RemoteArgs } from '../remote-function.js';

/** Options of one call. */
export interface ActorMethodOptions {
  /** Run in this concurrency group of the actor (see the concurrencyGroups actor option). */
  concurrencyGroup?: string;
}

export interface ActorMethod<F extends (...args: any[]) => any> {
  remote(...args: RemoteArgs<Parameters<F>>): ObjectRef<Awaited<ReturnType<F>>>;
  options(options: ActorMethodOptions): ActorMethod<F>;
}

type MethodKeys<C> = {
  [K in keyof C]: K extends string ? (C[K] extends (...args: any[]) => any ? K : never) : never;
}[keyof C];

/** A handle to an actor of instance type C: one ActorMethod per method of C. */
export type ActorHandle<C> = {
  readonly [K in MethodKeys<C>]: C[K] extends (...args: any[]) => any ? ActorMethod<C[K]> : never;
};

/** Marks handles (from any copy of @tray/core) and gives their identity. */
export const ACTOR_HANDLE = Symbol.for('tray.ActorHandle');

/** What a handle knows about its actor; also how it travels. */
export interface ActorIdentity {
  actorId: string;
  className: string;
  /** Method names, when the class is known (calls to others fail at `.remote()`). */
  methods: string[] | undefined;
  maxTaskRetries: number;
  maxPendingCalls: number;
}

export interface HandleInternals {
  identity: ActorIdentity;
  /** The actor's id now (a getIfExists handle takes the existing actor's once known). */
  actorId(): string;
  /** This process's caller (the creator's is made at creation). */
  caller(): ActorCaller;
  /**
   * The ref counting this actor's handles (see ActorRuntime.countHandles): held as long as the
   * handle lives. Undefined for actors not stopped by scope (named, detached, looked up).
   */
  ref: ObjectRef<unknown> | undefined;
}

/** Names never treated as methods: a handle is not a thenable, and not JSON. */
const NOT_METHODS = new Set(['then', 'toJSON', 'constructor', 'asymmetricMatch', '$$typeof', 'nodeType']);

export function makeActorHandle<C>(
  identity: ActorIdentity,
  creatorCaller?: ActorCaller,
  ref?: ObjectRef<unknown>,
): ActorHandle<C> {
  let caller = creatorCaller;
  const internals: HandleInternals = {
    identity,
    actorId: () => caller?.idHex ?? identity.actorId,
    caller() {
      const core = requireCore(`${identity.className} actor call`);
      caller ??= ActorRuntime.of(core).caller(Buffer.from(identity.actorId, 'hex'), identity);
      return caller;
    },
    ref,
  };
  const methods = new Map<string, ActorMethod<any>>();
  // A method keeps its handle alive (its closures hold it): `const inc = handle.increment` is a
  // use of the actor, which must not be stopped as out of scope meanwhile.
  const methodOf = (name: string, options: CallOptions, handle: object): ActorMethod<any> => ({
    remote: (...args: unknown[]) => {
      if (identity.methods !== undefined && !identity.methods.includes(name)) {
        throw new TypeError(
          `${identity.className}.${name}.remote(): the actor's class has no method ${JSON.stringify(name)} ` +
            `(its methods: ${identity.methods.join(', ') || 'none'})`,
        );
      }
      return internals.caller().call(name, args, options) as ObjectRef<any>;
    },
    options: (o: ActorMethodOptions) => {
      if (o === null || typeof o !== 'object' || Object.keys(o).some((k) => k !== 'concurrencyGroup')) {
        throw new TypeError(
          `${identity.className}.${name}.options(): the only call option is concurrencyGroup`,
        );
      }
      if (
        o.concurrencyGroup !== undefined &&
        (typeof o.concurrencyGroup !== 'string' || o.concurrencyGroup === '')
      ) {
        throw new TypeError(`${identity.className}.${name}.options(): concurrencyGroup must be a group name`);
      }
      return methodOf(name, { ...options, ...o }, handle);
    },
  });
  const target = Object.create(null) as object;
  return new Proxy(target, {
    get(_t, prop, receiver) {
      if (prop === ACTOR_HANDLE) return internals;
      if (prop === REMOTE_FUNCTION_BRAND) return true;
      if (prop === Symbol.toStringTag) return 'ActorHandle';
      if (typeof prop !== 'string') return undefined;
      if (prop === 'toString') {
        return () => `ActorHandle(${identity.className}, ${identity.actorId})`;
      }
      if (NOT_METHODS.has(prop) && !identity.methods?.includes(prop)) return undefined;
      let method = methods.get(prop);
      if (method === undefined) {
        method = methodOf(prop, {}, receiver);
        methods.set(prop, method);
      }
      return method;
    },
    has(_t, prop) {
      return typeof prop === 'string' && (identity.methods?.includes(prop) ?? true);
    },
    ownKeys() {
      return [];
    },
    set() {
      throw new TypeError('an actor handle is read-only; call its methods with handle.method.remote(...)');
    },
  }) as ActorHandle<C>;
}

export function handleInternals(value: unknown): HandleInternals | undefined {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  return (value as Record<symbol, HandleInternals | undefined>)[ACTOR_HANDLE];
}
