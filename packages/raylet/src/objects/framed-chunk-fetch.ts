// The receiving half of a transfer over the framed transport: one cached, token-authenticated
// connection per peer raylet (its framed TCP port), and `fetchObject`, which asks a peer for an
// object's chunks with NodeManagerService.GetObjectChunk, several in flight at once (a window),
// and writes each straight into the object being created, at its offset. Promises: every chunk
// is checked against the first (same object, sizes and count, exactly the bytes of its slot)
// before it is written; after a failure nothing more is written (late replies are dropped), so
// the caller can abort the creation at once; a peer that stops answering fails the transfer
// after `timeoutMs` per chunk and its connection is dropped from the cache.
import {
  type Connection,
  connect,
  ErrorType,
  errorWithInfo,
  NodeManagerService,
  RequestTimeoutError,
  type tray,
} from '@tray/protocol';
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

/** One framed connection per peer raylet, opened on first use and forgotten when it closes. */
export class PeerConnections {
  private readonly open = new Map<string, Promise<Connection>>();
  private closed = false;

  constructor(private readonly token: string) {}

  get(nodeId: string, target: { host: string; port: number }): Promise<Connection> {
    if (this.closed) {
      return Promise.reject(
        errorWithInfo({ type: ErrorType.UNAVAILABLE, message: 'the raylet is stopping' }),
      );
    }
    const key = `${nodeId}@${target.host}:${target.port}`;
    let connection = this.open.get(key);
    if (connection === undefined) {
      connection = connect(target, { token: this.token, label: `raylet of node ${nodeId}`, timeoutMs: 5000 });
      this.open.set(key, connection);
      connection.then(
        (c) => {
          // A peer whose host vanishes (no FIN, no RST) is noticed instead of waited on forever.
          c.socket.setKeepAlive(true, 10_000);
          c.once('close', () => this.open.get(key) === connection && this.open.delete(key));
          if (this.closed) c.destroy();
        },
        () => this.open.get(key) === connection && this.open.delete(key),
      );
    }
    return connection;
  }

  /** Close every connection: the requests on them fail with ConnectionClosedError. */
  close(): void {
    this.closed = true;
    for (const connection of this.open.values())
      connection.then(
        (c) => c.destroy(),
        () => {},
      );
    this.open.clear();
  }
}
