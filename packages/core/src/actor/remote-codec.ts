// How remote functions, actor classes and actor handles travel inside values: each is written
// as its wire form (the serializer's FUNCTION tag) and read back as the same kind of object in
// the receiving process. An actor handle travels as the actor's id and what its callers need.
import { RemoteFunction } from '../api/remote-function.js';
import type { CoreWorker } from '../runtime/core-worker.js';
import { ActorClass, type ActorClassWire } from './actor-class.js';
import { type ActorIdentity, handleInternals, makeActorHandle } from './actor-handle.js';

interface ActorHandleWire {
  actorHandle: ActorIdentity;
}

export function encodeRemote(value: object, core: CoreWorker): unknown {
  const handle = handleInternals(value);
  if (handle !== undefined) {
    handle.escape();
    const wire: ActorHandleWire = { actorHandle: { ...handle.identity, actorId: handle.actorId() } };
    return wire;
  }
  if (value instanceof ActorClass) return value.toWire(core);
  return (value as RemoteFunction).toWire(core);
}

export function decodeRemote(data: unknown): unknown {
  if (data !== null && typeof data === 'object') {
    if ('actorHandle' in data) return makeActorHandle((data as ActorHandleWire).actorHandle);
    if ('actorClass' in data) return ActorClass.fromWire(data as ActorClassWire);
  }
  return RemoteFunction.fromWire(data);
}
