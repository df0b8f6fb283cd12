// The sending half of node-to-node object transfer: ObjectManagerService.PullObjectChunks, served
// on the raylet's gRPC port (cluster token required, as every gRPC call of the raylet). A peer
// asks for one object; this node streams it from its own store as ObjectChunks of at most
// 5 MiB (Ray's default chunk size), in order, waiting for the peer to drain each one before it
// copies the next. Promises: the object stays held in the store while it is being sent (it
// cannot be evicted or deleted under the transfer) and is released however the call ends; an
// object this store does not hold (or has not sealed) fails the call with NOT_FOUND.
import { ObjectNotFoundError, type StoreClient } from '@tray/object-store';
import {
  checkId,
  ErrorType,
  errorWithInfo,
  IdBytes,
  type ObjectManagerService,
  type ServerStreamCall,
  type ServiceHandlers,
  type tray,
} from '@tray/protocol';

export const CHUNK_BYTES = 5 * 1024 * 1024;
export const OBJECT_ID_BYTES = IdBytes.object;
export const NODE_ID_BYTES = IdBytes.node;

export function objectManagerHandlers(
  nodeId: string,
  store: StoreClient | undefined,
): ServiceHandlers<typeof ObjectManagerService> {
  return {
    PullObjectChunks: (req, call) => sendChunks(nodeId, store, req, call),
    FreeObjects: async (req) => {
      await deleteHere(store, checkObjectIds(req.objectIds, 'object_ids'));
      return {};
    },
  };
}

/** The most ids one FreeObjects request may name. */
const MAX_FREE_IDS = 100_000;

/** `ids`, checked: each an object id, not too many. */
export function checkObjectIds(ids: Uint8Array[], field: string): Buffer[] {
  if (ids.length > MAX_FREE_IDS) {
    throw errorWithInfo({
      type: ErrorType.INVALID_ARGUMENT,
      message: `${field} names ${ids.length} objects; at most ${MAX_FREE_IDS} per request`,
    });
  }
  return ids.map((id, i) => checkId(id, OBJECT_ID_BYTES, `${field}[${i}]`));
}

/** Delete this node's copies of `ids` (those not here are skipped; copies being read go when released). */
export async function deleteHere(store: StoreClient | undefined, ids: Buffer[]): Promise<void> {
  if (store === undefined || ids.length === 0) return;
  await store.delete(ids).catch((err: Error) => {
    if (!(err instanceof ObjectNotFoundError)) throw err;
  });
}

async function sendChunks(
  nodeId: string,
  store: StoreClient | undefined,
  req: tray.v1.PullObjectChunksRequest,
  call: ServerStreamCall<tray.v1.ObjectChunk>,
): Promise<void> {
  const id = checkId(req.objectId, OBJECT_ID_BYTES, 'object_id');
  checkId(req.nodeId, NODE_ID_BYTES, 'node_id', true);
  const hex = id.toString('hex');
  if (store === undefined) {
    throw errorWithInfo({
      type: ErrorType.NOT_FOUND,
      message: `node ${nodeId} hosts no object store, so it does not have object ${hex}`,
    });
  }
  let object: Awaited<ReturnType<StoreClient['get']>>;
  try {
    object = await store.get(id, { timeoutMs: 0 });
  } catch (err) {
    if (!(err instanceof ObjectNotFoundError)) throw err;
    throw errorWithInfo({
      type: ErrorType.NOT_FOUND,
      message: `object ${hex} is not in the store of node ${nodeId} (never put there, freed, evicted, or not sealed yet)`,
    });
  }
  try {
    const dataSize = object.data.byteLength;
    const metadataSize = object.metadata.byteLength;
    const total = dataSize + metadataSize;
    const numChunks = Math.max(1, Math.ceil(total / CHUNK_BYTES));
    for (let index = 0; index < numChunks; index++) {
      if (call.cancelled) return;
      const start = index * CHUNK_BYTES;
      // A copy: the message may be serialized after this loop released the store's view.
      const data = Buffer.from(new Uint8Array(object.buffer, start, Math.min(CHUNK_BYTES, total - start)));
      const more = call.write({ objectId: id, chunkIndex: index, numChunks, dataSize, metadataSize, data });
      if (!more && index + 1 < numChunks && !(await drained(call))) return;
    }
    call.end();
  } finally {
    store.release(object);
  }
}

/** Resolves true when the peer took what was written, false when the call ended first. */
function drained(call: ServerStreamCall<tray.v1.ObjectChunk>): Promise<boolean> {
  // The call is grpc-js's writable stream: an EventEmitter, whose listeners can be removed.
  const emitter = call as unknown as NodeJS.EventEmitter;
  return new Promise((resolve) => {
    const finish = (value: boolean) => {
      emitter.off('drain', onDrain);
      emitter.off('close', onEnd);
      emitter.off('cancelled', onEnd);
      resolve(value);
    };
    const onDrain = () => finish(true);
    const onEnd = () => finish(false);
    emitter.once('drain', onDrain);
    emitter.once('close', onEnd);
    emitter.once('cancelled', onEnd);
  });
}
