// Write batching of a framed connection (connection.ts): frames sent in one tick go out in one
// socket write — packed into one buffer, large payloads handed to the socket as they are — and
// a long synchronous run of sends goes out in pieces as it runs. A payload may also be several
// buffers (FrameParts: a chunk's header and a view of the store), written one after the other
// without being joined.
import type { Socket } from 'node:net';
import { type FrameKind, HEADER_BYTES, writeFrame, writeFrameHeader } from './frame.js';

/** Frames, or bytes, that are written at once rather than at the end of the tick. */
const FLUSH_FRAMES = 64;
const FLUSH_BYTES = 64 * 1024;
/**
 * Frames waiting longer than this go out with the next send: a run of slow synchronous work
 * (an actor's queued sync calls of 20 ms each, run back to back in one tick) answers each call
 * one call later instead of 64 calls later.
 */
const FLUSH_AFTER_MS = 2;
/** Payloads this large are written as they are, not copied into the frame buffer. */
const LARGE_PAYLOAD_BYTES = 64 * 1024;

/**
 * A payload made of several buffers, written in order as they are (never copied into one), and
 * `written` called once the socket is done with them (flushed to the kernel, or the connection
 * closed): until then they must not change, so a handler can lend a view of memory it holds.
 * A handler returns one instead of its reply message.
 */
export class FrameParts {
  readonly byteLength: number;
  private pending = true;

  constructor(
    readonly parts: readonly Uint8Array[],
    private readonly written: () => void = () => {},
  ) {
    let bytes = 0;
    for (const part of parts) bytes += part.byteLength;
    this.byteLength = bytes;
  }

  /** The socket is done with the parts (called once; later calls do nothing). */
  done(): void {
    if (!this.pending) return;
    this.pending = false;
    this.written();
  }
}

type Payload = Uint8Array | FrameParts;

export class FrameWriter {
  // Frames waiting for this tick's write, as parallel lists (no buffer per frame): flush writes
  // every header and payload into one buffer.
  private readonly outKinds: number[] = [];
  private readonly outMethods: number[] = [];
  private readonly outIds: number[] = [];
  private readonly outPayloads: Payload[] = [];
  private outBytes = 0;
  /** How many queued payloads are large enough to be written as they are (see flush). */
  private outLarge = 0;
  private flushScheduled = false;
  /** When the oldest frame not yet written was queued (performance.now()). */
  private firstQueuedAt = 0;

  constructor(private readonly socket: Socket) {}

  enqueue(kind: FrameKind, method: number, requestId: number, payload: Payload): void {
    this.outKinds.push(kind);
    this.outMethods.push(method);
    this.outIds.push(requestId);
    this.outPayloads.push(payload);
    this.outBytes += HEADER_BYTES + payload.byteLength;
    if (payload instanceof FrameParts || payload.byteLength >= LARGE_PAYLOAD_BYTES) this.outLarge++;
    const now = performance.now();
    if (this.outKinds.length === 1) this.firstQueuedAt = now;
    if (
      this.outKinds.length >= FLUSH_FRAMES ||
      this.outBytes >= FLUSH_BYTES ||
      now - this.firstQueuedAt >= FLUSH_AFTER_MS
    ) {
      // A long synchronous run of sends (a loop submitting thousands of tasks) goes out in
      // pieces as it runs, so the peer starts on the first ones while the rest are made.
      this.flush();
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushBound);
    }
  }

  private readonly flushBound = () => this.flush();

  /**
   * One buffer holding frames [from, to) whole — `bytes` of them — and, when `headerOf` ≥ 0, the
   * header alone of frame `headerOf` last.
   */
  private packFrames(from: number, to: number, bytes: number, headerOf: number): Buffer {
    const out = Buffer.allocUnsafe(bytes + (headerOf >= 0 ? HEADER_BYTES : 0));
    let at = 0;
    for (let i = from; i < to; i++) {
      // Only small plain payloads are packed (writeWithLargePayloads writes the others).
      const payload = this.outPayloads[i]! as Uint8Array;
      at = writeFrame(out, at, this.outKinds[i]!, this.outMethods[i]!, this.outIds[i]!, payload);
    }
    if (headerOf >= 0) {
      writeFrameHeader(
        out,
        at,
        this.outKinds[headerOf]!,
        this.outMethods[headerOf]!,
        this.outIds[headerOf]!,
        this.outPayloads[headerOf]!.byteLength,
      );
    }
    return out;
  }

  /**
   * Large payloads are handed to the socket as they are, not copied into the write buffer: the
   * small frames before one (and its header) go out packed, then the payload itself, all corked
   * into one writev.
   */
  private writeWithLargePayloads(count: number): void {
    const socket = this.socket;
    socket.cork();
    let runStart = 0;
    let runBytes = 0;
    for (let i = 0; i < count; i++) {
      const payload = this.outPayloads[i]!;
      const parts = payload instanceof FrameParts;
      if (!parts && payload.byteLength < LARGE_PAYLOAD_BYTES) {
        runBytes += HEADER_BYTES + payload.byteLength;
        continue;
      }
      socket.write(this.packFrames(runStart, i, runBytes, i));
      if (!parts) socket.write(payload);
      else if (payload.parts.length === 0) payload.done();
      else {
        const last = payload.parts.length - 1;
        for (let p = 0; p < last; p++) socket.write(payload.parts[p]!);
        // Writes complete in order: once the last part is out, so are the others.
        socket.write(payload.parts[last]!, () => payload.done());
      }
      runStart = i + 1;
      runBytes = 0;
    }
    if (runStart < count) socket.write(this.packFrames(runStart, count, runBytes, -1));
    socket.uncork();
  }

  flush(): void {
    this.flushScheduled = false;
    const count = this.outKinds.length;
    if (count === 0) return;
    if (!this.socket.destroyed) {
      if (this.outLarge === 0) this.socket.write(this.packFrames(0, count, this.outBytes, -1));
      else this.writeWithLargePayloads(count);
    } else if (this.outLarge > 0) {
      for (const payload of this.outPayloads) if (payload instanceof FrameParts) payload.done();
    }
    this.outLarge = 0;
    this.outKinds.length = 0;
    this.outMethods.length = 0;
    this.outIds.length = 0;
    this.outPayloads.length = 0;
    this.outBytes = 0;
  }
}
