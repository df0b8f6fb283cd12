// The frame format of the hot-path transport. Every frame is a fixed 16-byte header followed
// by a protobuf payload:
//
//   u32 length     bytes after this field (12 + payload), little endian
//   u8  kind       REQUEST | RESPONSE | ERROR | NOTIFY | HELLO
//   u8  flags      reserved, 0
//   u16 reserved   0
//   u32 method     MethodDef.id (FNV-1a of the method's full name); 0 for HELLO
//   u32 requestId  correlates a RESPONSE or ERROR with its REQUEST; 0 for NOTIFY
//
// An ERROR frame's payload is an ErrorInfo (common.proto). A HELLO frame carries the cluster
// token and must be the first frame when the server requires one.

export const HEADER_BYTES = 16;
/** Bytes the length field counts beyond the payload. */
export const HEADER_AFTER_LENGTH = HEADER_BYTES - 4;

export const FrameKind = { REQUEST: 1, RESPONSE: 2, ERROR: 3, NOTIFY: 4, HELLO: 5 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

const MAX_KIND = FrameKind.HELLO;

/** Cap on a HELLO frame's payload: tokens are short, so a long "HELLO" is not one. */
export const MAX_HELLO_BYTES = 1024;

/** Default cap on one frame's payload: 256 MiB. Large objects travel through the store. */
export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** Encode a frame (header and payload) into one buffer. */
export function encodeFrame(kind: FrameKind, method: number, requestId: number, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  writeFrame(frame, 0, kind, method, requestId, payload);
  return frame;
}

/** Write a frame into `out` at `at`; returns where the next one goes. */
export function writeFrame(
  out: Buffer,
  at: number,
  kind: number,
  method: number,
  requestId: number,
  payload: Uint8Array,
): number {
  writeFrameHeader(out, at, kind, method, requestId, payload.length);
  out.set(payload, at + HEADER_BYTES);
  return at + HEADER_BYTES + payload.length;
}

/** Write the header of a frame whose payload has `payloadBytes` into `out` at `at`. */
export function writeFrameHeader(
  out: Buffer,
  at: number,
  kind: number,
  method: number,
  requestId: number,
  payloadBytes: number,
): void {
  out.writeUInt32LE(HEADER_AFTER_LENGTH + payloadBytes, at);
  out[at + 4] = kind;
  out[at + 5] = 0;
  out[at + 6] = 0;
  out[at + 7] = 0;
  out.writeUInt32LE(method, at + 8);
  out.writeUInt32LE(requestId, at + 12);
}

export interface Frame {
  kind: FrameKind;
  method: number;
  requestId: number;
  /** Empty when the payload went to `sink` instead. */
  payload: Buffer;
  /** Where the payload was written as it arrived (a reply that asked for one), if anywhere. */
  sink?: PayloadSink;
}

/**
 * Where a large RESPONSE payload is written as it arrives, instead of being gathered into one
 * buffer first (a chunk of an object goes straight into the store). Offered for one request
 * (`Connection.requestInto`); `begin` may decline, and the payload is then buffered as usual.
 */
export interface PayloadSink {
  /** The payload will be `payloadBytes` long: true to take it, false to have it buffered. */
  begin(payloadBytes: number): boolean;
  /** Payload bytes [at, at + bytes.length), in order. Must not throw; `bytes` is a view of the read. */
  write(bytes: Buffer, at: number): void;
  /** The reply, once the whole payload was written; throws when the bytes are not one. */
  finish(): unknown;
}

/** Finds the sink a RESPONSE to `requestId` of `payloadBytes` goes to (undefined: buffer it). */
export type SinkLookup = (requestId: number, payloadBytes: number) => PayloadSink | undefined;

/** Payloads shorter than this are buffered even when a sink is offered (one read holds them). */
const SINK_FROM_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);

/**
 * Splits a byte stream into frames. `push` returns the frames completed by a chunk; it throws
 * a `FrameError` on a header no peer of ours would send (unknown kind, absurd length), after
 * which the stream cannot be trusted and the connection must close.
 */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes the frame at the head of `pending` needs in all (its header's, until known). */
  private needed = HEADER_BYTES;
  /**
   * Set while the server waits for the token: the next frame must be a short HELLO, judged on
   * its header alone, so an unauthenticated peer cannot make us buffer a large payload.
   */
  helloOnly = false;
  /** Set by the connection: where large replies may be written as they arrive. */
  sinkFor: SinkLookup | undefined;
  /** The frame whose payload is being written to its sink, and how much of it came so far. */
  private sinking: Frame | undefined;
  private sinkAt = 0;
  private sinkBytes = 0;

  constructor(private readonly maxFrameBytes: number) {}

  push(data: Buffer, out: Frame[]): void {
    let chunk = data;
    const sinking = this.sinking;
    if (sinking !== undefined) {
      const take = Math.min(chunk.length, this.sinkBytes - this.sinkAt);
      sinking.sink!.write(take === chunk.length ? chunk : chunk.subarray(0, take), this.sinkAt);
      this.sinkAt += take;
      if (this.sinkAt < this.sinkBytes) return;
      this.sinking = undefined;
      out.push(sinking);
      if (take === chunk.length) return;
      chunk = chunk.subarray(take);
    }
    let buf: Buffer;
    if (this.pendingBytes === 0) {
      buf = chunk;
    } else {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      // A large frame arrives in many chunks: join them once, when the frame is complete.
      if (this.pendingBytes < this.needed) return;
      buf = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
    }
    this.needed = HEADER_BYTES;
    let offset = 0;
    while (buf.length - offset >= HEADER_BYTES) {
      const length = buf.readUInt32LE(offset);
      const kind = buf[offset + 4]! as FrameKind;
      if (kind < FrameKind.REQUEST || kind > MAX_KIND) {
        throw new FrameError(`unknown frame kind ${kind}: the peer does not speak tray's framed protocol`);
      }
      if (length < HEADER_AFTER_LENGTH) {
        throw new FrameError(`frame length ${length} is shorter than its header`);
      }
      const payloadBytes = length - HEADER_AFTER_LENGTH;
      if (this.helloOnly) {
        if (kind !== FrameKind.HELLO || payloadBytes > MAX_HELLO_BYTES) {
          throw new FrameError('the first frame must carry the cluster token (HELLO)', true);
        }
      }
      if (payloadBytes > this.maxFrameBytes) {
        throw new FrameError(
          `frame of ${payloadBytes} bytes exceeds the limit of ${this.maxFrameBytes} bytes (maxFrameBytes); ` +
            'large values belong in the object store',
        );
      }
      const end = offset + HEADER_BYTES + payloadBytes;
      if (end > buf.length) {
        if (kind === FrameKind.RESPONSE && payloadBytes >= SINK_FROM_BYTES && this.sinkFor !== undefined) {
          const requestId = buf.readUInt32LE(offset + 12);
          const sink = this.sinkFor(requestId, payloadBytes);
          if (sink !== undefined) {
            const start = offset + HEADER_BYTES;
            this.sinking = { kind, method: buf.readUInt32LE(offset + 8), requestId, payload: EMPTY, sink };
            this.sinkBytes = payloadBytes;
            this.sinkAt = buf.length - start;
            if (this.sinkAt > 0) sink.write(buf.subarray(start), 0);
            return;
          }
        }
        this.needed = end - offset;
        break;
      }
      this.helloOnly = false;
      out.push({
        kind,
        method: buf.readUInt32LE(offset + 8),
        requestId: buf.readUInt32LE(offset + 12),
        payload: buf.subarray(offset + HEADER_BYTES, end),
      });
      offset = end;
    }
    if (offset < buf.length) {
      const rest = offset === 0 ? buf : buf.subarray(offset);
      this.pending.push(rest);
      this.pendingBytes = rest.length;
    }
  }
}

export class FrameError extends Error {
  readonly code = 'PROTOCOL_ERROR';
  /** True when the frame broke the token handshake rather than the format. */
  readonly unauthenticated: boolean;
  constructor(message: string, unauthenticated = false) {
    super(message);
    this.name = 'FrameError';
    this.unauthenticated = unauthenticated;
  }
}
