// The receiving half of a transfer over the framed transport (over a connection to the peer
// raylet's framed TCP port, @tray/protocol's PeerConnections): `fetchObject`, which asks a peer for an
// object's chunks with NodeManagerService.GetObjectChunk, several in flight at once (a window),
// and has each written straight into the object being created, at its offset, as it is read
// from the socket (ChunkSink: no buffer per chunk, no second copy). Promises: a chunk's bytes go
// only into its own slot of the object (a reply of any other length is gathered and checked as
// a whole instead), and a chunk counts only once it is checked against the first (same object,
// sizes and count, exactly the bytes of its slot); after a failure nothing more is written
// (late replies are dropped), so the caller can abort the creation at once; a peer that stops
// answering fails the transfer after `timeoutMs` per chunk and its connection is dropped from
// the cache.
import {
  type Connection,
  NodeManagerService,
  type PayloadSink,
  RequestTimeoutError,
  tray,
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
  const transfer = { failed: false };
  await new Promise<void>((resolve, reject) => {
    let next = 1;
    let done = 1;
    const fail = (err: unknown) => {
      if (transfer.failed) return;
      // Synchronously, before the caller can abort: no sink writes into the object after this.
      transfer.failed = true;
      reject(dropOnTimeout(connection, err));
    };
    const launch = () => {
      while (!transfer.failed && next < expected && next - done < o.window) {
        const index = next++;
        const start = index * o.chunkBytes;
        const slot = target.subarray(start, Math.min(total, start + o.chunkBytes));
        connection
          .requestInto(
            NodeManagerService.GetObjectChunk,
            { objectId: id, chunkIndex: index, chunkBytes: o.chunkBytes, nodeId: o.nodeId },
            new ChunkSink(slot, transfer),
            { timeoutMs: o.timeoutMs },
          )
          .then((chunk) => {
            if (transfer.failed) return;
            try {
              checkChunk(chunk, id, index, first, expected, o.chunkBytes, peer);
            } catch (err) {
              fail(err);
              return;
            }
            // A reply the sink took is in place already; one it declined is copied now.
            if (chunk.data !== slot) target.set(chunk.data, start);
            if (++done === expected) resolve();
            else launch();
          }, fail);
      }
    };
    launch();
  });
}

/** Longest ObjectChunk head (ids, sizes, field 6's tag and length) a sink accepts before the data. */
const MAX_HEAD_BYTES = 256;

/**
 * Writes an ObjectChunk reply's data into its slot of the object as it arrives: the reply's
 * bytes are its head (every field but `data`, then `data`'s tag and length) and then the data,
 * which goes straight into `slot`. Takes only a reply exactly as long as a head and the slot's
 * bytes; `finish` decodes the head and hands back the chunk with `data` = `slot`, for the same
 * checks as any other chunk. Once the transfer failed it writes nothing more.
 */
class ChunkSink implements PayloadSink {
  private head = EMPTY_HEAD;

  constructor(
    private readonly slot: Uint8Array,
    private readonly transfer: { failed: boolean },
  ) {}

  begin(payloadBytes: number): boolean {
    const headBytes = payloadBytes - this.slot.byteLength;
    if (this.transfer.failed || headBytes < 2 || headBytes > MAX_HEAD_BYTES) return false;
    this.head = Buffer.alloc(headBytes);
    return true;
  }

  write(bytes: Buffer, at: number): void {
    if (this.transfer.failed) return;
    const headBytes = this.head.byteLength;
    let from = 0;
    if (at < headBytes) {
      from = Math.min(bytes.byteLength, headBytes - at);
      this.head.set(bytes.subarray(0, from), at);
    }
    if (from < bytes.byteLength)
      this.slot.set(from === 0 ? bytes : bytes.subarray(from), at + from - headBytes);
  }

  finish(): tray.v1.ObjectChunk {
    const head = this.head;
    const length = this.slot.byteLength;
    let varint = 1;
    for (let n = length; n >= 0x80; n = Math.floor(n / 128)) varint++;
    const fieldsEnd = head.byteLength - 1 - varint;
    if (fieldsEnd < 0 || head[fieldsEnd] !== DATA_TAG || readVarint(head, fieldsEnd + 1) !== length) {
      throw new Error(`the chunk's data field is not the ${length} bytes that follow its head`);
    }
    const chunk = tray.v1.ObjectChunk.decode(head.subarray(0, fieldsEnd));
    if (chunk.data.byteLength !== 0) throw new Error('the chunk carries data twice');
    chunk.data = this.slot;
    return chunk;
  }
}

const EMPTY_HEAD = Buffer.alloc(0);
/** ObjectChunk's field 6 (data), length-delimited. */
const DATA_TAG = (6 << 3) | 2;

/** The varint at `at` of `bytes` (to its end); -1 when it runs past the end or over 2^53. */
function readVarint(bytes: Uint8Array, at: number): number {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.byteLength; i++) {
    const b = bytes[i]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return i === bytes.byteLength - 1 ? value : -1;
    scale *= 128;
    if (scale > 2 ** 49) return -1;
  }
  return -1;
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
