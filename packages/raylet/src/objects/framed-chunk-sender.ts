// The sending half of node-to-node object transfer over the framed transport:
// NodeManagerService.GetObjectChunk, served on the raylet's framed listeners (cluster token
// required). A peer asks for chunk i of an object; this node answers with that slice of the
// object, read straight from its store. Promises: a request is validated before anything is read
// (a 28-byte object id, chunk_bytes within bounds, chunk_index below the object's chunk count),
// and no answer ever reaches past the object; the object stays held in the store (it cannot be
// evicted or deleted under the transfer) from the first request on a connection until every
// chunk of it was sent once on it, the connection closes, or nobody asked for it for
// HOLD_IDLE_MS, and in any case until the socket is done with every chunk written from it; a
// chunk is never copied in this process: the reply is its few header bytes and a view of the
// store, written to the socket as they are (FrameParts).
import { ObjectNotFoundError, type StoreClient, type StoreObject } from '@tray/object-store';
import {
  type Connection,
  checkId,
  ErrorType,
  errorWithInfo,
  FrameParts,
  type MethodDef,
  NodeManagerService,
  tray,
} from '@tray/protocol';
import { NODE_ID_BYTES, OBJECT_ID_BYTES } from './grpc-chunk-sender.js';

export { NODE_ID_BYTES, OBJECT_ID_BYTES };
export const MIN_CHUNK_BYTES = 64 * 1024;
export const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
// Measured with tools/bench/multinode.mjs: 256 KiB to 32 MiB chunks and windows of 2 to 16 move
// 128 MiB alike (within noise); 2 MiB x 8 in flight was at the top and keeps allocations small.
export const DEFAULT_CHUNK_BYTES = 2 * 1024 * 1024;
/** A held object nobody asked for this long is released (a peer that gave up half-way). */
export const HOLD_IDLE_MS = 30_000;
/** Objects one connection may have in transfer at once. */
export const MAX_HELD_PER_CONNECTION = 256;

/** GetObjectChunk whose reply is the ObjectChunk's bytes in parts (chunkParts), written as they are. */
const GetObjectChunkParts = NodeManagerService.GetObjectChunk as unknown as MethodDef<
  tray.v1.GetObjectChunkRequest,
  FrameParts
>;

interface Held {
  object: Promise<StoreObject>;
  chunkBytes: number;
  /** Chunk indexes (of `chunkBytes`) sent so far. */
  sent: Set<number>;
  timer: NodeJS.Timeout | undefined;
  /** Chunks handed to the socket and not yet written out: their bytes are the store's. */
  writing: number;
  /** Dropped while chunks were still being written: released when the last is out. */
  dropped: boolean;
}

/** One connection's objects in transfer, by hex id. */
type HeldObjects = Map<string, Held> & { closed?: boolean };

export class ObjectChunkServer {
  constructor(
    private readonly nodeId: string,
    private readonly store: StoreClient | undefined,
  ) {}

  /** Serve GetObjectChunk on `connection`; what it holds is released when it closes. */
  serve(connection: Connection): void {
    const held: HeldObjects = new Map();
    connection.handle(GetObjectChunkParts, (req) => this.chunk(held, req) as never);
    connection.once('close', () => {
      held.closed = true;
      for (const key of [...held.keys()]) this.drop(held, key);
    });
  }

  private async chunk(held: HeldObjects, req: tray.v1.GetObjectChunkRequest): Promise<FrameParts> {
    const id = checkId(req.objectId, OBJECT_ID_BYTES, 'object_id');
    checkId(req.nodeId, NODE_ID_BYTES, 'node_id', true);
    const chunkBytes = req.chunkBytes === 0 ? DEFAULT_CHUNK_BYTES : req.chunkBytes;
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < MIN_CHUNK_BYTES || chunkBytes > MAX_CHUNK_BYTES) {
      throw invalidArgument(
        `chunk_bytes must be 0 or from ${MIN_CHUNK_BYTES} to ${MAX_CHUNK_BYTES}, got ${req.chunkBytes}`,
      );
    }
    const index = req.chunkIndex;
    if (!Number.isSafeInteger(index) || index < 0)
      throw invalidArgument(`chunk_index ${index} is out of range`);
    const hex = id.toString('hex');
    let entry: Held;
    let object: StoreObject;
    for (;;) {
      if (held.closed) throw errorWithInfo({ type: ErrorType.UNAVAILABLE, message: 'the connection closed' });
      entry = held.get(hex) ?? this.hold(held, id, hex, chunkBytes);
      this.touch(held, hex, entry);
      object = await entry.object;
      // Still held (a duplicate request may find it released by the one that sent the last chunk).
      if (held.get(hex) === entry) break;
    }
    const dataSize = object.data.byteLength;
    const metadataSize = object.metadata.byteLength;
    const total = dataSize + metadataSize;
    const numChunks = Math.max(1, Math.ceil(total / chunkBytes));
    if (index >= numChunks) {
      throw invalidArgument(
        `chunk_index ${index} is out of range: object ${hex} (${total} bytes) has ${numChunks} chunks of ${chunkBytes} bytes`,
      );
    }
    const start = index * chunkBytes;
    const bytes = new Uint8Array(object.buffer, start, Math.min(chunkBytes, total - start));
    const head = chunkHead(
      { objectId: id, chunkIndex: index, numChunks, dataSize, metadataSize },
      bytes.byteLength,
    );
    entry.writing++;
    const reply = new FrameParts([head, bytes], () => {
      if (--entry.writing === 0 && entry.dropped) this.releaseHeld(entry);
    });
    if (chunkBytes === entry.chunkBytes) {
      entry.sent.add(index);
      if (entry.sent.size === numChunks) this.drop(held, hex);
    }
    return reply;
  }

  private hold(held: HeldObjects, id: Buffer, hex: string, chunkBytes: number): Held {
    if (held.size >= MAX_HELD_PER_CONNECTION) {
      throw invalidArgument(
        `this connection already has ${held.size} objects in transfer (at most ${MAX_HELD_PER_CONNECTION})`,
      );
    }
    const entry: Held = {
      object: this.get(id),
      chunkBytes,
      sent: new Set(),
      timer: undefined,
      writing: 0,
      dropped: false,
    };
    // A failed get is not held: the next request asks the store again.
    entry.object.catch(() => held.get(hex) === entry && held.delete(hex));
    held.set(hex, entry);
    return entry;
  }

  private async get(id: Buffer): Promise<StoreObject> {
    const hex = id.toString('hex');
    if (this.store === undefined) {
      throw errorWithInfo({
        type: ErrorType.NOT_FOUND,
        message: `node ${this.nodeId} hosts no object store, so it does not have object ${hex}`,
      });
    }
    try {
      return await this.store.get(id, { timeoutMs: 0 });
    } catch (err) {
      if (!(err instanceof ObjectNotFoundError)) throw err;
      throw errorWithInfo({
        type: ErrorType.NOT_FOUND,
        message: `object ${hex} is not in the store of node ${this.nodeId} (never put there, freed, evicted, or not sealed yet)`,
      });
    }
  }

  private touch(held: HeldObjects, hex: string, entry: Held): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = setTimeout(() => this.drop(held, hex), HOLD_IDLE_MS);
    entry.timer.unref();
  }

  private drop(held: HeldObjects, hex: string): void {
    const entry = held.get(hex);
    if (entry === undefined) return;
    held.delete(hex);
    if (entry.timer) clearTimeout(entry.timer);
    entry.dropped = true;
    if (entry.writing === 0) this.releaseHeld(entry);
  }

  private releaseHeld(entry: Held): void {
    entry.object.then(
      (object) => this.store?.release(object),
      () => {},
    );
  }
}

function invalidArgument(message: string) {
  return errorWithInfo({ type: ErrorType.INVALID_ARGUMENT, message });
}

/**
 * The bytes of an ObjectChunk that come before `data` when `data` is `dataBytes` long: its other
 * fields, then field 6's tag and length. `data` is written last, so the chunk's bytes on the wire
 * are these and then the data itself (as protobuf would encode them, without copying the data).
 */
export function chunkHead(head: tray.v1.ObjectChunk.$Properties, dataBytes: number): Uint8Array {
  const prefix = tray.v1.ObjectChunk.encode({ ...head, data: undefined }).finish();
  let varint = 1;
  for (let n = dataBytes; n >= 0x80; n = Math.floor(n / 128)) varint++;
  const out = Buffer.allocUnsafe(prefix.byteLength + 1 + varint);
  out.set(prefix, 0);
  let at = prefix.byteLength;
  out[at++] = (6 << 3) | 2; // field 6, length-delimited
  for (let n = dataBytes; ; n = Math.floor(n / 128)) {
    if (n < 0x80) {
      out[at++] = n;
      break;
    }
    out[at++] = (n & 0x7f) | 0x80;
  }
  return out;
}
