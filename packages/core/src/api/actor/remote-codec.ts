// How remote functions, actor classes and actor handles travel inside values: each is written
// as its wire form (the serializer's FUNCTION tag) and read back as the same kind of object in
// the receiving process. An actor handle travels as the actor's id and what its callers need,
// and — for an actor stopped when its handles are gone — the ref that counts its handles, listed
// with the value's refs: the receiver borrows it like any ref, so its owner (the actor's
// creator) knows the handle is held there until the receiver drops it.

import { SerializationError } from '../../errors.js';
import type { CoreWorker, FunctionCodec } from '../../runtime/core-worker.js';
import type { ObjectRef } from '../../runtime/object-ref.js';
import { RemoteFunction } from '../remote-function.js';
import { ActorClass, type ActorClassWire } from './actor-class.js';
import { type ActorIdentity, handleInternals, makeActorHandle } from './actor-handle.js';

interface ActorHandleWire {
  actorHandle: ActorIdentity;
  /** Index of the handle's ref in the value's refs (absent: the actor is not counted). */
  ref?: number;
}

export function encodeRemote(
  value: object,
  core: CoreWorker,
  addRef: (ref: ObjectRef<unknown>) => number,
): unknown {
  const handle = handleInternals(value);
  if (handle !== undefined) {
    const wire: ActorHandleWire = { actorHandle: { ...handle.identity, actorId: handle.actorId() } };
    if (handle.ref !== undefined) wire.ref = addRef(handle.ref);
    return wire;
  }
  if (value instanceof ActorClass) return value.toWire(core, addRef);
  return (value as RemoteFunction).toWire(core, addRef);
}

export function decodeRemote(data: unknown, refs: readonly ObjectRef<unknown>[]): unknown {
  if (data !== null && typeof data === 'object') {
    if ('actorHandle' in data) {
      const wire = data as ActorHandleWire;
      const ref = wire.ref === undefined ? undefined : refs[wire.ref];
      if (wire.ref !== undefined && ref === undefined) {
        throw new SerializationError(
          `corrupt value: an actor handle names ref ${wire.ref} of ${refs.length}`,
        );
      }
      return makeActorHandle(wire.actorHandle, undefined, ref);
    }
    if ('actorClass' in data) return ActorClass.fromWire(data as ActorClassWire, refs);
  }
  return RemoteFunction.fromWire(data, refs);
}

/** How a process's core worker (made after its codec, so given as `core`) carries these values. */
export function remoteCodec(core: () => CoreWorker): FunctionCodec {
  return {
    encode: (fn, addRef) => encodeRemote(fn, core(), addRef),
    decode: (data, refs) => decodeRemote(data, refs),
  };
}
