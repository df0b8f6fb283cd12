// The direct proxy↔replica channel's wire format. Each frame is a u32 (big-endian) length, then
// a u8 kind and that kind's fields, all big-endian; a string is a u32 byte length and its UTF-8
// bytes, bytes are a u32 length (0xFFFFFFFF: null) and the bytes.
//   HELLO   token:str                                              (client's first frame)
//   REQUEST id:u32 call.method:str call.requestId:str method:str url:str routePrefix:str
//           headers:(u32 count, name:str value:str ...) body:bytes
//   REPLY   id:u32 flags:u8 (1 rejected, 2 done, 4 has streamId) ongoing:u32 streamId:u32
//           items:(u32 count, each u8 0 = head status:u16 statusText:str|u8 1 = head without
//           one, then its headers as above | u8 2 bytes)
//   ERROR   id:u32 name:str message:str
// The server reads nothing before it checks a HELLO with the cluster token (TRAY_TOKEN, which
// every worker has), and refuses a first frame over HELLO_MAX_BYTES. Decoding checks every
// length against the frame, so what arrives is the fields above or an error naming the frame.
// (A hand-written codec: v8.serialize per frame was ~8% of the proxy's CPU per request.)
// Frames written in one event-loop iteration (the requests of every connection read in one poll,
// the replies they got at once) are gathered in one buffer per socket and leave in one write
// after it: a send and the other side's wake-up per batch, not per frame.
import type { Socket } from 'node:net';
import type { HttpReply, RequestCall } from '../controller/types.js';
import type { ResponseHead, SerializedRequest } from '../http/wire.js';

/** The largest first (HELLO) frame a server reads. */
export const HELLO_MAX_BYTES = 1024;

export const HELLO = 0;
export const REQUEST = 1;
export const REPLY = 2;
export const ERROR = 3;

const REJECTED = 1;
const DONE = 2;
const HAS_STREAM = 4;
const ITEM_HEAD = 0;
const ITEM_HEAD_NO_TEXT = 1;
const ITEM_BYTES = 2;
const NULL_BYTES = 0xffffffff;

/** Strings up to this length are tried as ASCII first when written. */
const SHORT_STRING = 128;

/** A frame that does not decode as its kind says. */
export class FrameError extends Error {
  override name = 'FrameError';
}

/** Appends frames to a growing buffer. */
class FrameWriter {
  buf: Buffer;
  at = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.at + n <= this.buf.byteLength) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.byteLength * 2, this.at + n));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.at++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.at);
    this.at += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.at);
    this.at += 4;
  }

  str(s: string): void {
    if (typeof s !== 'string')
      throw new TypeError(`a serve channel frame field is ${typeof s}, not a string`);
    this.ensure(4 + s.length * 3);
    // A short ASCII string (names, header values, URLs) byte by byte: Buffer's utf8 write is a
    // call into C++ per field, ~8% of the proxy's own CPU per request with a dozen fields each.
    if (s.length <= SHORT_STRING) {
      const buf = this.buf;
      const at = this.at + 4;
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        buf[at + i] = c;
      }
      if (i === s.length) {
        buf.writeUInt32BE(i, this.at);
        this.at = at + i;
        return;
      }
    }
    const n = s.length === 0 ? 0 : this.buf.write(s, this.at + 4, 'utf8');
    this.buf.writeUInt32BE(n, this.at);
    this.at += 4 + n;
  }

  bytes(b: Uint8Array | null): void {
    if (b === null) {
      this.u32(NULL_BYTES);
      return;
    }
    this.ensure(4 + b.byteLength);
    this.buf.writeUInt32BE(b.byteLength, this.at);
    this.buf.set(b, this.at + 4);
    this.at += 4 + b.byteLength;
  }

  headers(pairs: Array<[string, string]>): void {
    this.u32(pairs.length);
    for (const pair of pairs) {
      this.str(pair[0]);
      this.str(pair[1]);
    }
  }
}

/** Reads one frame's fields; any read past its end throws FrameError. */
export class FrameReader {
  at: number;

  constructor(
    readonly buf: Buffer,
    at: number,
    readonly end: number,
  ) {
    this.at = at;
  }

  #need(n: number): void {
    if (this.at + n > this.end) throw new FrameError('the frame ends inside a field');
  }

  u8(): number {
    this.#need(1);
    return this.buf[this.at++] as number;
  }

  u16(): number {
    this.#need(2);
    const v = this.buf.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }

  u32(): number {
    this.#need(4);
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }

  str(): string {
    const n = this.u32();
    this.#need(n);
    const s = n === 0 ? '' : this.buf.toString('utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }

  /** A copy (the frame's buffer is the socket's, reused for other frames). */
  bytes(): Uint8Array | null {
    const n = this.u32();
    if (n === NULL_BYTES) return null;
    this.#need(n);
    const copy = new Uint8Array(n);
    copy.set(this.buf.subarray(this.at, this.at + n));
    this.at += n;
    return copy;
  }

  headers(): Array<[string, string]> {
    const count = this.u32();
    // Each pair takes at least 8 bytes: a count past that is a lie, not an allocation to make.
    if (count * 8 > this.end - this.at) throw new FrameError('the frame ends inside its headers');
    const pairs: Array<[string, string]> = new Array(count);
    for (let i = 0; i < count; i++) pairs[i] = [this.str(), this.str()];
    return pairs;
  }

  finish(): void {
    if (this.at !== this.end)
      throw new FrameError(`${this.end - this.at} bytes after the frame's last field`);
  }
}

// ---- sending -----------------------------------------------------------------------------

const writers = new WeakMap<Socket, FrameWriter>();

/** Appends a frame to the socket's batch (sent after this event-loop iteration). */
function send(socket: Socket, fill: (w: FrameWriter) => void): void {
  let w = writers.get(socket);
  if (w === undefined) {
    w = new FrameWriter(16 * 1024);
    writers.set(socket, w);
    setImmediate(flush, socket);
  } else if (w.at === 0) setImmediate(flush, socket);
  const start = w.at;
  try {
    w.u32(0);
    fill(w);
  } catch (error) {
    w.at = start; // nothing of a frame that could not be written
    throw error;
  }
  w.buf.writeUInt32BE(w.at - start - 4, start);
}

/** A batch up to this size is copied out and its buffer kept for the next one. */
const COPY_OUT_BYTES = 64 * 1024;

function flush(socket: Socket): void {
  const w = writers.get(socket);
  if (w === undefined || w.at === 0) return;
  let out: Buffer;
  if (w.at <= COPY_OUT_BYTES) {
    // The written bytes belong to the socket now: a small batch leaves as a copy (from Buffer's
    // shared pool when under 4 KiB) and the buffer is reused. A fresh 16 KiB buffer per batch
    // was external memory V8 counted towards its next collection, a scavenge every ~1000
    // requests in a proxy under load.
    out = Buffer.allocUnsafe(w.at);
    w.buf.copy(out, 0, 0, w.at);
  } else {
    out = w.buf.subarray(0, w.at);
    w.buf = Buffer.allocUnsafe(Math.max(16 * 1024, Math.min(w.buf.byteLength, 1024 * 1024)));
  }
  w.at = 0;
  if (!socket.destroyed) socket.write(out);
}

export function writeHello(socket: Socket, token: string): void {
  send(socket, (w) => {
    w.u8(HELLO);
    w.str(token);
  });
}

export function writeRequest(
  socket: Socket,
  id: number,
  call: RequestCall,
  request: SerializedRequest,
): void {
  send(socket, (w) => {
    w.u8(REQUEST);
    w.u32(id);
    w.str(call.method);
    w.str(call.requestId);
    w.str(request.method);
    w.str(request.url);
    w.str(request.routePrefix);
    w.headers(request.headers);
    w.bytes(request.body);
  });
}

/** A reply; its items must be response heads and bytes (the channel carries no ObjectRefs). */
export function writeReply(socket: Socket, id: number, reply: HttpReply): void {
  send(socket, (w) => {
    w.u8(REPLY);
    w.u32(id);
    if (reply.rejected) {
      w.u8(REJECTED);
      w.u32(reply.ongoing);
      w.u32(0);
      w.u32(0);
      return;
    }
    const stream = reply.streamId !== undefined;
    w.u8((reply.done ? DONE : 0) | (stream ? HAS_STREAM : 0));
    w.u32(reply.ongoing);
    w.u32(stream ? (reply.streamId as number) : 0);
    w.u32(reply.items.length);
    for (const item of reply.items) {
      if (item instanceof Uint8Array) {
        w.u8(ITEM_BYTES);
        w.bytes(item);
        continue;
      }
      const head = item as ResponseHead;
      if (typeof head?.status !== 'number' || !Array.isArray(head.headers))
        throw new TypeError('a serve channel reply item is neither a response head nor bytes');
      w.u8(head.statusText === undefined ? ITEM_HEAD_NO_TEXT : ITEM_HEAD);
      w.u16(head.status);
      if (head.statusText !== undefined) w.str(head.statusText);
      w.headers(head.headers);
    }
  });
}

export function writeError(socket: Socket, id: number, name: string, message: string): void {
  send(socket, (w) => {
    w.u8(ERROR);
    w.u32(id);
    w.str(name);
    w.str(message);
  });
}

// ---- receiving ---------------------------------------------------------------------------

/** A HELLO frame's token, or undefined for any other frame. */
export function decodeHello(r: FrameReader): string | undefined {
  try {
    if (r.u8() !== HELLO) return undefined;
    const token = r.str();
    r.finish();
    return token;
  } catch {
    return undefined;
  }
}

export type DecodedRequest =
  | { id: number; call: RequestCall; request: SerializedRequest }
  | { id: number | undefined; problem: string };

/** A REQUEST frame, or what is wrong with it (and its id when that much was readable). */
export function decodeRequest(r: FrameReader): DecodedRequest {
  let id: number | undefined;
  try {
    const kind = r.u8();
    if (kind !== REQUEST) return { id, problem: `a frame of kind ${kind} where a request was expected` };
    id = r.u32();
    const call: RequestCall = { method: r.str(), requestId: r.str() };
    const request: SerializedRequest = {
      method: r.str(),
      url: r.str(),
      routePrefix: r.str(),
      headers: r.headers(),
      body: null,
    };
    request.body = r.bytes();
    r.finish();
    return { id, call, request };
  } catch (error) {
    return { id, problem: `a malformed channel request frame: ${(error as Error).message}` };
  }
}

export type DecodedReply =
  | { id: number; reply: HttpReply }
  | { id: number; error: { name: string; message: string } };

/** A REPLY or ERROR frame; throws FrameError when it is neither or malformed. */
export function decodeReply(r: FrameReader): DecodedReply {
  const kind = r.u8();
  const id = r.u32();
  if (kind === ERROR) {
    const error = { name: r.str(), message: r.str() };
    r.finish();
    return { id, error };
  }
  if (kind !== REPLY) throw new FrameError(`a frame of kind ${kind} where a reply was expected`);
  const flags = r.u8();
  const ongoing = r.u32();
  const streamId = r.u32();
  if (flags & REJECTED) {
    r.u32();
    r.finish();
    return { id, reply: { rejected: true, ongoing } };
  }
  const count = r.u32();
  if (count > r.end - r.at) throw new FrameError('the frame ends inside its items');
  const items: unknown[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const tag = r.u8();
    if (tag === ITEM_BYTES) items[i] = r.bytes() ?? new Uint8Array(0);
    else if (tag === ITEM_HEAD || tag === ITEM_HEAD_NO_TEXT) {
      const head: ResponseHead = { status: r.u16(), headers: [] };
      if (tag === ITEM_HEAD) head.statusText = r.str();
      head.headers = r.headers();
      items[i] = head;
    } else throw new FrameError(`an item of kind ${tag}`);
  }
  r.finish();
  const reply: HttpReply = { rejected: false, items, done: (flags & DONE) !== 0, ongoing };
  if (flags & HAS_STREAM) reply.streamId = streamId;
  return { id, reply };
}

/**
 * Calls `onFrame` with a reader of each frame as it arrives; a frame over `maxBytes` (the first
 * one over `firstMaxBytes`) closes the socket. The reader is valid only during the call.
 */
export function readFrames(
  socket: Socket,
  maxBytes: number,
  onFrame: (frame: FrameReader) => void,
  firstMaxBytes = maxBytes,
): void {
  // Chunks not yet consumed; joined only once a whole frame is there (a large frame arriving in
  // many chunks is copied once, not once per chunk).
  let chunks: Buffer[] = [];
  let total = 0;
  let first = true;
  let need = -1; // the length of the frame being waited for (payload), -1: its header not read
  socket.on('data', (chunk: Buffer) => {
    if (chunks.length === 0) chunks = [chunk];
    else chunks.push(chunk);
    total += chunk.byteLength;
    if (need >= 0 && total < 4 + need) return;
    let buf = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
    let at = 0;
    while (buf.byteLength - at >= 4) {
      const length = buf.readUInt32BE(at);
      if (length > (first ? firstMaxBytes : maxBytes)) {
        socket.destroy(new Error(`a serve channel frame of ${length} bytes is over the limit`));
        return;
      }
      if (buf.byteLength - at < 4 + length) {
        need = length;
        break;
      }
      need = -1;
      first = false;
      onFrame(new FrameReader(buf, at + 4, at + 4 + length));
      if (socket.destroyed) return;
      at += 4 + length;
    }
    if (at === buf.byteLength) {
      chunks = [];
      total = 0;
      need = -1;
    } else {
      buf = at === 0 ? buf : buf.subarray(at);
      chunks = [buf];
      total = buf.byteLength;
    }
  });
}
