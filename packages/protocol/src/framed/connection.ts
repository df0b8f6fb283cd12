// One framed connection over a stream socket (Unix domain or TCP). Symmetric: either end may
// send requests and notifications and register handlers. Requests are pipelined (any number
// in flight, correlated by id); frames written in one tick go out in one write; a peer that
// goes away fails every pending request with ConnectionClosedError, so nothing waits forever.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { tray } from '../../generated/proto.js';
import { ConnectionClosedError, type ErrorInfo, ErrorType, toErrorInfo } from '../errors.js';
import type { Message, MethodDef } from '../method.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  type Frame,
  FrameDecoder,
  type FrameError,
  FrameKind,
  type PayloadSink,
} from './frame.js';
import { FrameParts, FrameWriter } from './frame-writer.js';
import { decodeErrorInfo, type Pending, PendingRequests, settleEntry } from './pending-requests.js';

export interface ConnectionOptions {
  /** Largest payload accepted in one frame. */
  maxFrameBytes?: number;
  /** Stop reading from the peer while this many of its requests are being handled. */
  maxConcurrentHandlers?: number;
}

export interface RequestOptions {
  /** Reject with RequestTimeoutError when no reply came within this many milliseconds. */
  timeoutMs?: number;
}

type Handler = (request: any, connection: Connection) => any;

interface HandlerEntry {
  method: MethodDef<any, any>;
  fn: Handler;
  oneWay: boolean;
}

/**
 * Called with the reply of a request sent by `requestCallback` (or the error that took its place),
 * the context it was sent with, and the connection it went over.
 */
export type ReplyCallback<Res, C> = (
  err: Error | null,
  reply: Res | undefined,
  context: C,
  connection: Connection,
) => void;

export class Connection extends EventEmitter {
  private readonly decoder: FrameDecoder;
  /** Requests sent and waiting for their replies (pending-requests.ts). */
  private readonly pending = new PendingRequests<Connection>();
  private readonly handlers = new Map<number, HandlerEntry>();
  private readonly maxConcurrentHandlers: number;
  private activeHandlers = 0;
  private paused = false;
  private closeError: Error | undefined;
  private readonly frames: Frame[] = [];
  /** Frames sent in one tick go out in one write (frame-writer.ts). */
  private readonly writer: FrameWriter;
  private authenticator: ((token: Buffer) => boolean) | undefined;
  /** Free-form label for errors and logs ("raylet", "store client 1234"...). */
  label: string;
  /** Anything the owner of the connection wants to keep with it (a worker id, a client). */
  context: unknown;

  constructor(
    readonly socket: Socket,
    options: ConnectionOptions = {},
    label = 'peer',
  ) {
    super();
    this.label = label;
    this.decoder = new FrameDecoder(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    this.decoder.sinkFor = (id, payloadBytes) => this.pending.sinkFor(id, payloadBytes);
    this.maxConcurrentHandlers = options.maxConcurrentHandlers ?? 65_536;
    this.writer = new FrameWriter(socket);
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.shutdown(err));
    socket.on('close', () => this.shutdown(undefined));
    socket.on('drain', () => this.emit('drain'));
  }

  /** Set by a server that requires a HELLO before anything else; cleared once it came. */
  get authenticate(): ((token: Buffer) => boolean) | undefined {
    return this.authenticator;
  }

  set authenticate(check: ((token: Buffer) => boolean) | undefined) {
    this.authenticator = check;
    this.decoder.helloOnly = check !== undefined;
  }

  get closed(): boolean {
    return this.closeError !== undefined;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** True when the socket's buffer is over its high-water mark: wait for 'drain'. */
  get needsDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  /** Serve `method` on this connection. A handler may return a value or a promise. */
  handle<Req, Res>(
    method: MethodDef<Req, Res>,
    fn: (request: Req, connection: Connection) => Message<Res> | Promise<Message<Res>>,
  ): this {
    this.handlers.set(method.id, { method, fn, oneWay: false });
    return this;
  }

  /** Receive notifications (one-way messages) of `method`. */
  handleNotify<Req>(method: MethodDef<Req, any>, fn: (request: Req, connection: Connection) => void): this {
    this.handlers.set(method.id, { method, fn, oneWay: true });
    return this;
  }

  /** Send a request and wait for its reply. */
  request<Req, Res>(
    method: MethodDef<Req, Res>,
    request: Message<Req>,
    options?: RequestOptions,
  ): Promise<Res> {
    if (this.closeError) return Promise.reject(this.closedError(method.name));
    return this.requestEncoded(method, method.encodeRequest(request), options);
  }

  /**
   * Send a request whose payload the caller encoded already (the bytes `method.encodeRequest`
   * would make, e.g. assembled from parts encoded once), and wait for its reply.
   */
  requestEncoded<Req, Res>(
    method: MethodDef<Req, Res>,
    payload: Uint8Array,
    options?: RequestOptions,
  ): Promise<Res> {
    if (this.closeError) return Promise.reject(this.closedError(method.name));
    return new Promise<Res>((resolve, reject) => {
      const entry: Pending<Connection> = {
        connection: this,
        method,
        resolve,
        reject,
        callback: undefined,
        context: undefined,
        timer: undefined,
      };
      this.send(entry, payload, options?.timeoutMs);
    });
  }

  /**
   * Send a request whose reply's payload, when large, is written into `sink` as it arrives
   * rather than gathered into one buffer (frame.ts, PayloadSink); resolves with what
   * `sink.finish()` makes of it, or with the decoded reply when the sink declined it.
   */
  requestInto<Req, Res>(
    method: MethodDef<Req, Res>,
    request: Message<Req>,
    sink: PayloadSink,
    options?: RequestOptions,
  ): Promise<Res> {
    if (this.closeError) return Promise.reject(this.closedError(method.name));
    const payload = method.encodeRequest(request);
    return new Promise<Res>((resolve, reject) => {
      const entry: Pending<Connection> = {
        connection: this,
        method,
        resolve,
        reject,
        callback: undefined,
        context: undefined,
        timer: undefined,
        sink,
      };
      this.send(entry, payload, options?.timeoutMs);
    });
  }

  /**
   * Send a request encoded by the caller, like `requestEncoded`, and call `callback(err, reply,
   * context, connection)` when its reply comes (or the connection closes): no promise or closure per request,
   * for the hot paths that send many. The callback runs synchronously as the reply is read.
   */
  requestCallback<Req, Res, C>(
    method: MethodDef<Req, Res>,
    payload: Uint8Array,
    callback: ReplyCallback<Res, C>,
    context: C,
  ): void {
    const entry: Pending<Connection> = {
      connection: this,
      method,
      resolve: undefined,
      reject: undefined,
      callback,
      context,
      timer: undefined,
    };
    if (this.closeError) {
      const err = this.closedError(method.name);
      queueMicrotask(() => settleEntry(entry, err, undefined));
      return;
    }
    this.send(entry, payload, undefined);
  }

  private send(entry: Pending<Connection>, payload: Uint8Array, timeoutMs: number | undefined): void {
    const id = this.pending.add(entry, timeoutMs);
    this.writer.enqueue(FrameKind.REQUEST, entry.method.id, id, payload);
  }

  /** Send a one-way message. Returns false if the connection is closed. */
  notify<Req>(method: MethodDef<Req, any>, message: Message<Req>): boolean {
    if (this.closeError) return false;
    this.writer.enqueue(FrameKind.NOTIFY, method.id, 0, method.encodeRequest(message));
    return true;
  }

  /** Send the HELLO frame that carries the cluster token. */
  hello(token: string): void {
    this.writer.enqueue(FrameKind.HELLO, 0, 0, Buffer.from(token, 'utf8'));
  }

  /** Close the connection; pending requests fail with ConnectionClosedError. */
  close(): void {
    if (this.closeError) return;
    this.writer.flush();
    this.socket.end();
    this.shutdown(undefined);
    // A peer that does not finish the close promptly is cut off.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  /** Close at once, without flushing. */
  destroy(): void {
    this.socket.destroy();
    this.shutdown(undefined);
  }

  private onData(chunk: Buffer): void {
    const frames = this.frames;
    try {
      this.decoder.push(chunk, frames);
    } catch (err) {
      frames.length = 0;
      const type = (err as FrameError).unauthenticated
        ? ErrorType.UNAUTHENTICATED
        : ErrorType.INVALID_ARGUMENT;
      this.protocolViolation(err as Error, type);
      return;
    }
    for (let i = 0; i < frames.length; i++) {
      if (this.closeError) break;
      this.dispatch(frames[i]!);
    }
    frames.length = 0;
  }

  private dispatch(frame: Frame): void {
    if (this.authenticate !== undefined && frame.kind !== FrameKind.HELLO) {
      this.protocolViolation(
        new Error('the first frame must carry the cluster token (HELLO)'),
        ErrorType.UNAUTHENTICATED,
      );
      return;
    }
    switch (frame.kind) {
      case FrameKind.RESPONSE:
      case FrameKind.ERROR:
        this.settle(frame);
        return;
      case FrameKind.REQUEST:
      case FrameKind.NOTIFY:
        this.serve(frame);
        return;
      case FrameKind.HELLO: {
        const check = this.authenticate;
        if (check === undefined) return;
        if (!check(frame.payload)) {
          this.protocolViolation(
            new Error('the cluster token is missing or wrong'),
            ErrorType.UNAUTHENTICATED,
          );
          return;
        }
        this.authenticate = undefined;
        this.emit('authenticated');
        return;
      }
    }
  }

  private settle(frame: Frame): void {
    if (frame.requestId === 0 && frame.kind === FrameKind.ERROR) {
      // The peer is closing the connection because of something we sent: keep its reason.
      this.shutdown(new ConnectionClosedError(decodeErrorInfo(frame.payload).message ?? 'rejected by peer'));
      return;
    }
    this.pending.settle(frame);
  }

  private serve(frame: Frame): void {
    const oneWay = frame.kind === FrameKind.NOTIFY;
    const entry = this.handlers.get(frame.method);
    if (entry === undefined) {
      if (!oneWay) {
        this.replyError(frame, {
          type: ErrorType.INVALID_ARGUMENT,
          message: `${this.label} does not serve method id ${frame.method}`,
        });
      }
      return;
    }
    let request: unknown;
    try {
      request = entry.method.decodeRequest(frame.payload);
    } catch (err) {
      if (!oneWay) {
        this.replyError(frame, {
          type: ErrorType.INVALID_ARGUMENT,
          message: `malformed ${entry.method.name} request: ${(err as Error).message}`,
        });
      }
      return;
    }
    let result: unknown;
    try {
      result = entry.fn(request, this);
    } catch (err) {
      if (!oneWay) this.replyError(frame, toErrorInfo(err));
      else this.emit('handlerError', err);
      return;
    }
    if (oneWay) {
      if (isPromise(result)) result.catch((err) => this.emit('handlerError', err));
      return;
    }
    if (isPromise(result)) {
      this.trackHandler(+1);
      result.then(
        (value) => {
          this.trackHandler(-1);
          this.reply(frame, entry.method, value);
        },
        (err) => {
          this.trackHandler(-1);
          this.replyError(frame, toErrorInfo(err));
        },
      );
    } else {
      this.reply(frame, entry.method, result);
    }
  }

  private reply(frame: Frame, method: MethodDef<any, any>, value: unknown): void {
    if (value instanceof FrameParts) {
      // Bytes the handler lent (a view of the store): written as they are, given back once out.
      if (this.closeError) value.done();
      else this.writer.enqueue(FrameKind.RESPONSE, frame.method, frame.requestId, value);
      return;
    }
    if (this.closeError) return;
    let payload: Uint8Array;
    try {
      payload = method.encodeResponse(value ?? {});
    } catch (err) {
      this.replyError(frame, {
        type: ErrorType.INTERNAL,
        message: `could not encode ${method.name} reply: ${(err as Error).message}`,
      });
      return;
    }
    this.writer.enqueue(FrameKind.RESPONSE, frame.method, frame.requestId, payload);
  }

  private replyError(frame: Frame, info: ErrorInfo): void {
    if (this.closeError) return;
    const payload = tray.v1.ErrorInfo.encode(info).finish();
    this.writer.enqueue(FrameKind.ERROR, frame.method, frame.requestId, payload);
  }

  private trackHandler(delta: number): void {
    this.activeHandlers += delta;
    if (!this.paused && this.activeHandlers >= this.maxConcurrentHandlers) {
      this.paused = true;
      this.socket.pause();
    } else if (this.paused && this.activeHandlers <= this.maxConcurrentHandlers >> 1) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** The peer broke the protocol: tell it why (best effort), then close. */
  private protocolViolation(err: Error, type: tray.v1.ErrorType = ErrorType.INVALID_ARGUMENT): void {
    if (this.closeError) return;
    const payload = tray.v1.ErrorInfo.encode({ type, message: err.message }).finish();
    this.writer.enqueue(FrameKind.ERROR, 0, 0, payload);
    this.writer.flush();
    this.emit('protocolError', err);
    this.socket.end();
    this.shutdown(new ConnectionClosedError(`${this.label}: ${err.message}`));
    setTimeout(() => this.socket.destroy(), 200).unref();
  }

  private closedError(method: string): Error {
    const why = this.closeError?.message;
    return new ConnectionClosedError(
      `${method} failed: the connection to ${this.label} closed${why && why !== 'closed' ? ` (${why})` : ''}`,
    );
  }

  private shutdown(err: Error | undefined): void {
    if (this.closeError) return;
    this.closeError = err ?? new ConnectionClosedError('closed');
    this.pending.failAll((method) => this.closedError(method));
    this.emit('close', err);
  }
}

function isPromise(value: unknown): value is Promise<unknown> {
  return (
    value !== null && typeof value === 'object' && typeof (value as Promise<unknown>).then === 'function'
  );
}
