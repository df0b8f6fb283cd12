// The requests a framed connection (connection.ts) sent and waits on: each under its request id
// until its RESPONSE or ERROR frame, its timeout or the connection's close settles it — a
// promise's functions or a callback and its context, so nothing waits forever. Knows nothing of
// the connection but its type (`Conn`), so neither file imports the other's.
import { tray } from '../../generated/proto.js';
import { type ErrorInfo, ErrorType, RemoteError, RequestTimeoutError } from '../errors.js';
import type { MethodDef } from '../method.js';
import { type Frame, FrameKind, type PayloadSink } from './frame.js';

/** A request waiting for its reply: a promise's functions, or a callback and its context. */
export interface Pending<Conn> {
  connection: Conn;
  method: MethodDef<any, any>;
  resolve: ((value: any) => void) | undefined;
  reject: ((err: Error) => void) | undefined;
  callback: ((err: Error | null, reply: any, context: any, connection: Conn) => void) | undefined;
  context: unknown;
  timer: NodeJS.Timeout | undefined;
  /** Where its reply's payload may be written as it arrives (frame.ts, PayloadSink). */
  sink?: PayloadSink;
}

const MAX_REQUEST_ID = 0xffffffff;

export class PendingRequests<Conn> {
  private readonly pending = new Map<number, Pending<Conn>>();
  private nextId = 1;

  /** Requests sent and not yet answered. */
  get size(): number {
    return this.pending.size;
  }

  /** Files `entry` under a new request id, returned; it fails after `timeoutMs` when given. */
  add(entry: Pending<Conn>, timeoutMs: number | undefined): number {
    const id = this.nextId;
    this.nextId = id === MAX_REQUEST_ID ? 1 : id + 1;
    if (timeoutMs !== undefined && timeoutMs >= 0) {
      entry.timer = setTimeout(() => {
        if (this.pending.delete(id))
          settleEntry(entry, new RequestTimeoutError(entry.method.name, timeoutMs), undefined);
      }, timeoutMs);
    }
    this.pending.set(id, entry);
    return id;
  }

  /** The sink of request `id` when it has one and takes a payload of `payloadBytes`. */
  sinkFor(id: number, payloadBytes: number): PayloadSink | undefined {
    const sink = this.pending.get(id)?.sink;
    return sink?.begin(payloadBytes) ? sink : undefined;
  }

  /** Settles the request a RESPONSE or ERROR frame answers (none when it timed out already). */
  settle(frame: Frame): void {
    const entry = this.pending.get(frame.requestId);
    if (entry === undefined) return; // timed out already
    this.pending.delete(frame.requestId);
    if (entry.timer) clearTimeout(entry.timer);
    if (frame.kind === FrameKind.ERROR) {
      settleEntry(entry, new RemoteError(decodeErrorInfo(frame.payload)), undefined);
      return;
    }
    let value: unknown;
    try {
      value = frame.sink !== undefined ? frame.sink.finish() : entry.method.decodeResponse(frame.payload);
    } catch (err) {
      settleEntry(
        entry,
        new RemoteError({
          type: ErrorType.INTERNAL,
          message: `undecodable ${entry.method.name} reply: ${(err as Error).message}`,
        }),
        undefined,
      );
      return;
    }
    settleEntry(entry, null, value);
  }

  /** Fails every request still waiting, each with `errorFor(its method's name)`. */
  failAll(errorFor: (method: string) => Error): void {
    for (const [id, entry] of this.pending) {
      this.pending.delete(id);
      if (entry.timer) clearTimeout(entry.timer);
      settleEntry(entry, errorFor(entry.method.name), undefined);
    }
  }
}

/** Hands a request its outcome: its promise, or its callback (whose errors surface as uncaught). */
export function settleEntry<Conn>(entry: Pending<Conn>, err: Error | null, value: unknown): void {
  const callback = entry.callback;
  if (callback === undefined) {
    if (err === null) entry.resolve!(value);
    else entry.reject!(err);
    return;
  }
  try {
    callback(err, value, entry.context, entry.connection);
  } catch (thrown) {
    // A bug in the caller's callback must not cost the other replies of this read.
    process.nextTick(() => {
      throw thrown;
    });
  }
}

export function decodeErrorInfo(payload: Buffer): ErrorInfo {
  try {
    return tray.v1.ErrorInfo.decode(payload);
  } catch {
    return { type: ErrorType.INTERNAL, message: 'the peer sent an undecodable error' };
  }
}
