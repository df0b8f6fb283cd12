// The receiving half of node-to-node object transfer, behind NodeManagerService.PullObject:
// "make object X readable in this node's store; it is in node N's store". Finds N's raylet in
// the GCS node table, fetches the object's chunks from it into an object created in this node's
// store as a secondary copy (evictable; the primary stays where it was made), and seals it: over
// N's framed TCP port (GetObjectChunk, a window of chunks in flight on one cached connection:
// framed-chunk-fetch.ts), or, when N registered no framed port, over its gRPC
// ObjectManagerService.PullObjectChunks stream. Promises: the reply comes once the object is sealed here (at
// once if it already was); concurrent pulls of one object share one transfer; a transfer that
// fails or breaks off (the peer died, sent a bad chunk, the raylet stops) aborts the creation,
// so nothing half-written stays in the store; every failure is a typed error saying what
// failed (see raylet.proto, PullObjectRequest).
import { type CreatedObject, ObjectExistsError, type StoreClient } from '@tray/object-store';
import {
  ConnectionClosedError,
  checkId,
  ErrorType,
  errorTypeOf,
  errorWithInfo,
  GrpcClients,
  IdBytes,
  type Message,
  ObjectManagerService,
  PeerConnections,
  RemoteError,
  type ReplyStream,
  RequestTimeoutError,
  type TrayGrpcClient,
  type tray,
} from '@tray/protocol';
import { badChunk, checkChunkHead } from './chunk-checks.js';
import { fetchObject } from './framed-chunk-fetch.js';
import { DEFAULT_CHUNK_BYTES, NODE_ID_BYTES, OBJECT_ID_BYTES } from './framed-chunk-sender.js';
import type { NodeDirectory, PeerNode } from './node-directory.js';

export interface ObjectPullerOptions {
  nodeId: Buffer;
  token: string;
  /** This node's store (undefined: the raylet hosts none, and every pull fails). */
  store: StoreClient | undefined;
  directory: NodeDirectory;
  /** How long to wait for a local client that is creating the same object to seal it. */
  creatorWaitMs?: number;
  /** Bytes per GetObjectChunk (default DEFAULT_CHUNK_BYTES). */
  chunkBytes?: number;
  /** GetObjectChunk requests in flight per transfer (default TRANSFER_WINDOW). */
  window?: number;
  /** A chunk not answered within this long fails the transfer (default 60 s). */
  chunkTimeoutMs?: number;
}

/** Chunks in flight per transfer over the framed transport. */
export const TRANSFER_WINDOW = 8;

/** Errors a peer answers with on purpose (anything else is the transfer failing). */
const ANSWERS = new Set<number>([
  ErrorType.NOT_FOUND,
  ErrorType.INVALID_ARGUMENT,
  ErrorType.UNAUTHENTICATED,
  ErrorType.UNIMPLEMENTED,
]);

export class ObjectPuller {
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly peers: GrpcClients;
  private readonly streams = new Set<ReplyStream<tray.v1.ObjectChunk>>();
  private readonly connections: PeerConnections;
  private readonly nodeHex: string;
  private closed = false;

  constructor(private readonly o: ObjectPullerOptions) {
    this.nodeHex = o.nodeId.toString('hex');
    this.connections = new PeerConnections(o.token, () => {}, this.nodeHex, 'raylet', {
      connectTimeoutMs: 5000,
      // A peer whose host vanishes (no FIN, no RST) is noticed instead of waited on forever.
      keepAliveMs: 10_000,
      label: (_key, address) => `raylet of node ${Buffer.from(address.nodeId ?? []).toString('hex')}`,
      closedError: () => errorWithInfo({ type: ErrorType.UNAVAILABLE, message: 'the raylet is stopping' }),
      destroyOnClose: true,
    });
    this.peers = new GrpcClients({
      token: o.token,
      // A peer that stops answering mid-transfer is noticed instead of waited on forever.
      channelOptions: { 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 5_000 },
    });
  }

  /** Pulls in progress (tests and diagnostics). */
  get active(): number {
    return this.inflight.size;
  }

  async pull(req: tray.v1.PullObjectRequest): Promise<Message<tray.v1.PullObjectReply>> {
    const id = checkId(req.objectId, OBJECT_ID_BYTES, 'object_id');
    const node = checkId(req.nodeId, NODE_ID_BYTES, 'node_id').toString('hex');
    if (req.ownerAddress) {
      checkId(req.ownerAddress.workerId, IdBytes.worker, 'owner_address.worker_id', true);
      checkId(req.ownerAddress.nodeId, NODE_ID_BYTES, 'owner_address.node_id', true);
    }
    if (this.o.store === undefined) {
      throw errorWithInfo({
        type: ErrorType.UNAVAILABLE,
        message: `node ${this.nodeHex} hosts no object store (raylet option objectStore: false)`,
      });
    }
    if (this.closed) throw unavailable(`the raylet of node ${this.nodeHex} is stopping`);
    const key = id.toString('hex');
    let transfer = this.inflight.get(key);
    if (transfer === undefined) {
      transfer = this.fetch(this.o.store, id, node).finally(() => this.inflight.delete(key));
      this.inflight.set(key, transfer);
    }
    await transfer;
    return {};
  }

  /** Cancels the transfers in progress (their pulls fail, their creations are aborted). */
  close(): void {
    this.closed = true;
    for (const stream of this.streams) stream.cancel();
    this.connections.close();
    this.peers.close();
    this.o.directory.close();
  }

  private async fetch(store: StoreClient, id: Buffer, node: string): Promise<void> {
    if (await store.contains(id)) return;
    const hex = id.toString('hex');
    if (node === this.nodeHex) {
      throw errorWithInfo({
        type: ErrorType.NOT_FOUND,
        message: `object ${hex} is not in the store of node ${node}, which is this node (node_id names this raylet)`,
      });
    }
    const peer = await this.o.directory.lookup(node);
    try {
      if (peer.framed.port > 0) await this.transferFramed(store, id, peer);
      else await this.transfer(store, id, peer);
    } catch (err) {
      throw await this.explain(err, hex, peer);
    }
  }

  private async transferFramed(store: StoreClient, id: Buffer, peer: PeerNode): Promise<void> {
    const address = { nodeId: Buffer.from(peer.nodeId, 'hex'), ip: peer.framed.host, port: peer.framed.port };
    const connection = await this.connections.get(address).catch((err: Error) => {
      throw new ConnectionClosedError(err.message);
    });
    let created = false;
    try {
      await fetchObject(
        connection,
        id,
        peer.nodeId,
        async (dataSize, metadataSize) => {
          const object = await this.create(store, id, dataSize, metadataSize);
          if (object === undefined) return undefined;
          created = true;
          return new Uint8Array(object.buffer, 0, dataSize + metadataSize);
        },
        {
          chunkBytes: this.o.chunkBytes ?? DEFAULT_CHUNK_BYTES,
          window: this.o.window ?? TRANSFER_WINDOW,
          timeoutMs: this.o.chunkTimeoutMs ?? 60_000,
          nodeId: this.o.nodeId,
        },
      );
      if (this.closed) throw unavailable(`the raylet of node ${this.nodeHex} is stopping`);
      if (created) await store.seal(id);
      created = false;
    } finally {
      if (created) await store.abort(id).catch(() => {});
    }
  }

  private async transfer(store: StoreClient, id: Buffer, peer: PeerNode): Promise<void> {
    const stream = this.peer(peer.address).stream(ObjectManagerService.PullObjectChunks, {
      objectId: id,
      nodeId: this.o.nodeId,
    });
    this.streams.add(stream);
    let created: CreatedObject | undefined;
    let target: Uint8Array | undefined;
    let first: tray.v1.ObjectChunk | undefined;
    let received = 0;
    let offset = 0;
    try {
      for await (const chunk of stream) {
        checkChunk(chunk, id, received, offset, first, peer.nodeId);
        if (first === undefined) {
          first = chunk;
          created = await this.create(store, id, chunk.dataSize, chunk.metadataSize);
          if (created === undefined) return; // a local client made it meanwhile
          target = new Uint8Array(created.buffer, 0, chunk.dataSize + chunk.metadataSize);
        }
        target!.set(chunk.data, offset);
        offset += chunk.data.byteLength;
        received++;
      }
      if (this.closed) throw unavailable(`the raylet of node ${this.nodeHex} is stopping`);
      if (first === undefined || received !== first.numChunks) {
        throw unavailable(
          `node ${peer.nodeId} ended the transfer of object ${id.toString('hex')} after ${received} of ` +
            `${first?.numChunks ?? '?'} chunks`,
        );
      }
      await store.seal(id);
      created = undefined;
    } finally {
      this.streams.delete(stream);
      stream.cancel();
      if (created !== undefined) await store.abort(id).catch(() => {});
    }
  }

  /** A secondary copy to write into; undefined when a local client made the object meanwhile. */
  private async create(
    store: StoreClient,
    id: Buffer,
    dataSize: number,
    metadataSize: number,
  ): Promise<CreatedObject | undefined> {
    const hex = id.toString('hex');
    const size = dataSize + metadataSize;
    if (size > store.capacity) {
      throw errorWithInfo({
        type: ErrorType.OBJECT_STORE_FULL,
        message: `object ${hex} is ${size} bytes, larger than the store of node ${this.nodeHex} (${store.capacity} bytes)`,
      });
    }
    try {
      return await store.create(id, dataSize, metadataSize, { primary: false });
    } catch (err) {
      if (err instanceof ObjectExistsError) {
        // Put here by a local client, or being created by one: ours once it is sealed.
        const [object] = await store.getMany([id], { timeoutMs: this.o.creatorWaitMs ?? 30_000 });
        if (object) {
          store.release(object);
          return undefined;
        }
        throw errorWithInfo({
          type: ErrorType.OBJECT_NOT_SEALED,
          message: `object ${hex} is being created in the store of node ${this.nodeHex} by another client, which did not seal it`,
        });
      }
      if (errorTypeOf(err) === ErrorType.OBJECT_STORE_FULL) {
        throw errorWithInfo({
          type: ErrorType.OBJECT_STORE_FULL,
          message: `no room for object ${hex} (${size} bytes) in the store of node ${this.nodeHex}: ${(err as Error).message}`,
        });
      }
      throw err;
    }
  }

  /** The error a failed transfer is reported with. */
  private async explain(err: unknown, hex: string, peer: PeerNode): Promise<unknown> {
    const broken = err instanceof ConnectionClosedError || err instanceof RequestTimeoutError;
    // Ours (typed) or the store's (typed by its code).
    if (!(err instanceof RemoteError) && !broken) return err;
    if (err instanceof RemoteError && err.type === ErrorType.NOT_FOUND) return errorWithInfo(err.info);
    if (err instanceof RemoteError && ANSWERS.has(err.type)) {
      return errorWithInfo({
        type: ErrorType.INTERNAL,
        message: `node ${peer.nodeId} refused to send object ${hex}: ${err.message}`,
      });
    }
    const { dead, reason } = await this.o.directory.isDead(peer.nodeId);
    if (dead) {
      return errorWithInfo({
        type: ErrorType.NODE_DIED,
        message: `node ${peer.nodeId} is dead${reason ? ` (${reason})` : ''}: object ${hex} could not be fetched from it`,
      });
    }
    return unavailable(`could not get object ${hex} from node ${peer.nodeId}: ${(err as Error).message}`);
  }

  /** Have node `nodeHex`'s raylet delete its copies of `ids` (the owner freed them). */
  async freeOn(nodeHex: string, ids: Buffer[]): Promise<void> {
    const peer = await this.o.directory.lookup(nodeHex);
    await this.peer(peer.address).call(ObjectManagerService.FreeObjects, { objectIds: ids });
  }

  private peer(address: string): TrayGrpcClient {
    return this.peers.get(address);
  }
}

function unavailable(message: string) {
  return errorWithInfo({ type: ErrorType.UNAVAILABLE, message });
}

/** A chunk from a peer must continue the object it started: same id and sizes, in order, in bounds. */
function checkChunk(
  chunk: tray.v1.ObjectChunk,
  id: Buffer,
  index: number,
  offset: number,
  first: tray.v1.ObjectChunk | undefined,
  node: string,
): void {
  const total = checkChunkHead(chunk, id, index, first, node);
  if (chunk.numChunks < 1 || index >= chunk.numChunks)
    throw badChunk(node, id, `chunk ${index} of ${chunk.numChunks}`);
  if (offset + chunk.data.byteLength > total) throw badChunk(node, id, 'it runs past the end of the object');
  if (index + 1 === chunk.numChunks && offset + chunk.data.byteLength !== total) {
    throw badChunk(node, id, 'the last chunk leaves the object short');
  }
}
