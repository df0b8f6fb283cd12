// The receiving half of a transfer over the framed transport (over a connection to the peer
// raylet's framed TCP port, @tray/protocol's PeerConnections): `fetchObject`, which asks a peer for an
// object's chunks with NodeManagerService.GetObjectChunk, several in flight at once (a window),
// and writes each straight into the object being created, at its offset. Promises: every chunk
// is checked against the first (same object, sizes and count, exactly the bytes of its slot)
// before it is written; after a failure nothing more is written (late replies are dropped), so
// the caller can abort the creation at once; a peer that stops answering fails the transfer
// after `timeoutMs` per chunk and its connection is dropped from the cache.
import { type Connection, NodeManagerService, RequestTimeoutError, type tray } from '@tray/protocol';
import { badChunk, checkChunkHead } from './chunk-checks.js';

export interface FetchOptions {
  chunkBytes: number;
  /** Chunk requests in flight at once. */
  window: number;
  /** A chunk not answered within this long fails the transfer. */
  timeoutMs: number;
  /** The asking node (for the sender's diagnostics). */
  nodeId: Buffer;
}

/**
 * Where the object's bytes (data then metadata) go, given its sizes; undefined when there is
 * nothing to write (a local client made the object meanwhile).
 */
export type OpenTarget = (dataSize: number, metadataSize: number) => Promise<Uint8Array | undefined>;

/** Fetch object `id` from the peer on `connection` into the target `open` gives. */
export async function fetchObject(
  connection: Connection,
  id: Buffer,
  peer: string,
  open: OpenTarget,
  o: FetchOptions,
): Promise<void> {
  const ask = (chunkIndex: number) =>
    connection.request(
      NodeManagerService.GetObjectChunk,
      { objectId: id, chunkIndex, chunkBytes: o.chunkBytes, nodeId: o.nodeId },
      { timeoutMs: o.timeoutMs },
    );
  const first = await ask(0).catch((err: unknown) => {
    throw dropOnTimeout(connection, err);
  });
  const total = first.dataSize + first.metadataSize;
  const expected = Math.max(1, Math.ceil(total / o.chunkBytes));
  checkChunk(first, id, 0, first, expected, o.chunkBytes, peer);
  const target = await open(first.dataSize, first.metadataSize);
  if (target === undefined) return;
  target.set(first.data, 0);
  if (expected === 1) return;
  await new Promise<void>((resolve, reject) => {
    let next = 1;
    let done = 1;
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      reject(dropOnTimeout(connection, err));
    };
    const launch = () => {
      while (!failed && next < expected && next - done < o.window) {
        const index = next++;
        ask(index).then((chunk) => {
          if (failed) return;
          try {
            checkChunk(chunk, id, index, first, expected, o.chunkBytes, peer);
          } catch (err) {
            fail(err);
            return;
          }
          target.set(chunk.data, index * o.chunkBytes);
          if (++done === expected) resolve();
          else launch();
        }, fail);
      }
    };
    launch();
  });
}

/** A peer that does not answer in time is cut off, so the next transfer opens a fresh connection. */
function dropOnTimeout(connection: Connection, err: unknown): unknown {
  if (err instanceof RequestTimeoutError) connection.destroy();
  return err;
}

/** A chunk must be the one asked for, of the object the first chunk described, filling its slot exactly. */
function checkChunk(
  chunk: tray.v1.ObjectChunk,
  id: Buffer,
  index: number,
  first: tray.v1.ObjectChunk,
  expected: number,
  chunkBytes: number,
  node: string,
): void {
  const total = checkChunkHead(chunk, id, index, first, node);
  if (chunk.numChunks !== expected) {
    throw badChunk(
      node,
      id,
      `it says ${chunk.numChunks} chunks where ${total} bytes in chunks of ${chunkBytes} make ${expected}`,
    );
  }
  const length = Math.min(chunkBytes, total - index * chunkBytes);
  if (chunk.data.byteLength !== length) {
    throw badChunk(node, id, `chunk ${index} holds ${chunk.data.byteLength} bytes where ${length} were due`);
  }
}
