// The replica actor: one instance of the user's deployment class (or its function) inside a
// named detached actor the controller created. It enforces maxOngoingRequests itself (a request
// beyond it is answered `rejected`, and the router tries another replica), answers queue-length
// probes, runs streaming methods as pull-based streams (actor calls return one value, so a
// stream is started and then drained by `nextItems`), dispatches wire.ts's HTTP_METHOD to
// serveHttp — answering an HTTP request in one reply when its response is complete by then —
// aborts a request's signal when its caller cancels it, checks health through the user's
// checkHealth(), reconfigures in place, and drains its in-flight requests before it is stopped.

import * as tray from '@tray/core';
import type { DeploymentCode } from '../api/deployment.js';
import { type ChannelAddress, ChannelServer } from '../channel/server.js';
import type {
  HttpReply,
  ReplicaMethods,
  RequestCall,
  RequestReply,
  StreamStart,
} from '../controller/types.js';
import { RequestCancelledError } from '../errors.js';
import { Cancel } from '../handle/cancel.js';
import { decodeArgs } from '../handle/decode-args.js';
import { installLazyResponse } from '../http/lazy-response.js';
import { type BodyStore, type FirstItems, firstItems, serveHttp } from '../http/replica-http.js';
import { HTTP_METHOD, type SerializedRequest } from '../http/wire.js';
import { type RequestContext, runInRequest } from './request-context.js';

export interface ReplicaConfig {
  app: string;
  deployment: string;
  replicaId: string;
  maxOngoingRequests: number;
}

export interface InitSpec {
  kind: 'class' | 'function';
  code: DeploymentCode;
  initArgs: unknown[];
  userConfig: unknown;
}

interface Stream {
  items: unknown[];
  done: boolean;
  error: unknown;
  wake: (() => void) | undefined;
  resume: (() => void) | undefined;
  cancelled: boolean;
  lastPull: number;
  requestId: string;
}

/** Items a stream buffers before its generator is paused until the caller pulls. */
const STREAM_BUFFER = 64;
/** A stream nobody pulled from for this long (its caller died or dropped it) is cancelled. */
const STREAM_IDLE_MS = 60_000;
/** An HTTP reply carries at most this much body inline; the rest streams. */
const HTTP_INLINE_BYTES = 256 * 1024;
/** A cancel for a request not (yet) here is remembered this long, in case it arrives after. */
const EARLY_CANCEL_MS = 60_000;
/** The channel carries response chunks inline (it cannot carry ObjectRefs). */
const TRAY_STORE: BodyStore = {
  get: (ref) => tray.get(ref),
  put: (bytes) => tray.put(bytes),
};
const INLINE_STORE: BodyStore = {
  get: (ref) => tray.get(ref),
  put: async (bytes) => bytes as never,
};

type UserInstance = Record<string, unknown> & {
  checkHealth?: () => unknown;
  reconfigure?: (c: unknown) => unknown;
};

export class ServeReplica implements ReplicaMethods {
  readonly #config: ReplicaConfig;
  #instance: UserInstance | undefined;
  #ongoing = 0;
  #nextStream = 1;
  readonly #streams = new Map<number, Stream>();
  /** In-flight requests by id, to abort on cancelRequest. */
  readonly #requests = new Map<string, Cancel>();
  /** Cancels that came before their request, by id → when. */
  readonly #earlyCancels = new Map<string, number>();
  #draining = false;
  #channel: Promise<ChannelAddress> | undefined;
  #channelServer: ChannelServer | undefined;

  constructor(config: ReplicaConfig) {
    this.#config = config;
  }

  /** Loads the user's code and constructs it; a constructor that throws fails this call. */
  async initialize(spec: InitSpec): Promise<{ pid: number }> {
    // Before the user's code loads: its Responses made from strings and bytes skip their stream.
    installLazyResponse();
    const loaded = (await spec.code.local()) as unknown;
    const args = decodeArgs(spec.initArgs);
    if (spec.kind === 'class') {
      this.#instance = new (loaded as new (...a: unknown[]) => UserInstance)(...args);
    } else {
      const fn = loaded as (...a: unknown[]) => unknown;
      this.#instance = { __call__: (...a: unknown[]) => fn(...a) };
    }
    if (spec.userConfig !== undefined) await this.reconfigure(spec.userConfig);
    return { pid: process.pid };
  }

  /** The user's reconfigure(userConfig), in place (Ray's lightweight update). */
  async reconfigure(userConfig: unknown, maxOngoingRequests?: number): Promise<void> {
    if (maxOngoingRequests !== undefined) this.#config.maxOngoingRequests = maxOngoingRequests;
    if (userConfig === undefined) return;
    const instance = this.#instance!;
    if (typeof instance.reconfigure !== 'function') {
      throw new TypeError(
        `${this.#config.deployment}: userConfig is set but the deployment has no reconfigure(userConfig) method`,
      );
    }
    await instance.reconfigure(userConfig);
  }

  getNumOngoingRequests(): number {
    return this.#ongoing;
  }

  getMetadata(): { replicaId: string; pid: number; initialized: boolean } {
    return { replicaId: this.#config.replicaId, pid: process.pid, initialized: this.#instance !== undefined };
  }

  async checkHealth(): Promise<void> {
    const instance = this.#instance;
    if (instance === undefined) throw new Error('the replica is not initialized');
    if (typeof instance.checkHealth === 'function') await instance.checkHealth();
  }

  #method(name: string): (...args: unknown[]) => unknown {
    const instance = this.#instance;
    if (instance === undefined) throw new Error(`${this.#config.deployment}: the replica is not initialized`);
    if (name === HTTP_METHOD) {
      return (request: unknown) => serveHttp(instance as never, request as SerializedRequest);
    }
    const fn = instance[name];
    if (typeof fn !== 'function') {
      throw new TypeError(
        `${this.#config.deployment} has no method ${JSON.stringify(name)}` +
          (name === '__call__'
            ? ' (handle.remote() calls __call__; call handle.<method>.remote() instead)'
            : ''),
      );
    }
    return (fn as (...a: unknown[]) => unknown).bind(instance);
  }

  #accepts(): boolean {
    return !this.#draining && this.#ongoing < this.#config.maxOngoingRequests;
  }

  /**
   * Tracks a request's cancellation; the context its method runs in (its signal, an
   * AbortSignal, is made when first read: most requests never are).
   */
  #begin(call: RequestCall): RequestContext {
    const cancel = new Cancel();
    const requestId = String(call.requestId);
    if (this.#earlyCancels.size > 0 && this.#earlyCancels.delete(requestId))
      cancel.abort(this.#cancelError(requestId));
    else this.#requests.set(requestId, cancel);
    return new ReplicaRequest(requestId, this.#config.app, this.#config.deployment, cancel);
  }

  #end(context: RequestContext): void {
    this.#requests.delete(context.requestId);
  }

  #cancelError(requestId: string): RequestCancelledError {
    return new RequestCancelledError(
      `request ${requestId} to ${this.#config.app}/${this.#config.deployment} was cancelled by its caller`,
    );
  }

  /** The caller cancelled the request: abort the signal its method sees. */
  cancelRequest(requestId: string): void {
    const id = String(requestId);
    const cancel = this.#requests.get(id);
    if (cancel !== undefined) {
      this.#requests.delete(id);
      cancel.abort(this.#cancelError(id));
      return;
    }
    const now = Date.now();
    for (const [old, at] of this.#earlyCancels)
      if (now - at > EARLY_CANCEL_MS) this.#earlyCancels.delete(old);
    this.#earlyCancels.set(id, now);
  }

  /** One request: the method's result, or `rejected` when the replica is at maxOngoingRequests. */
  async handleRequest(call: RequestCall, ...args: unknown[]): Promise<RequestReply> {
    if (!this.#accepts()) return { rejected: true, ongoing: this.#ongoing };
    this.#ongoing++;
    const context = this.#begin(call);
    try {
      const value = await runInRequest(context, () => this.#method(call.method)(...decodeArgs(args)));
      return { rejected: false, value, ongoing: this.#ongoing - 1 };
    } finally {
      this.#ongoing--;
      this.#end(context);
    }
  }

  /**
   * An HTTP request (wire.ts): the head and body in this one reply when the user's Response is
   * complete as soon as its head is (no body chunk still to wait for, under HTTP_INLINE_BYTES),
   * else what is there so far and a stream for the rest.
   */
  async handleHttp(call: RequestCall, request: SerializedRequest): Promise<HttpReply> {
    return this.#http(call, request, undefined);
  }

  /**
   * The direct channel's address (channel/server.ts), started on the first ask; null when this
   * process has no cluster token to check clients with.
   */
  async getChannel(): Promise<ChannelAddress | null> {
    const token = process.env.TRAY_TOKEN;
    if (!token) return null;
    this.#channel ??= (async () => {
      const server = new ChannelServer(token, (call, request) => this.#http(call, request, INLINE_STORE));
      const port = await server.listen();
      this.#channelServer = server;
      return { host: '127.0.0.1', port, nodeId: tray.getRuntimeContext().nodeId };
    })();
    return this.#channel;
  }

  /** Not a promise when the user's fetch answered at once with its whole body (the common case). */
  #http(
    call: RequestCall,
    request: SerializedRequest,
    store: BodyStore | undefined,
  ): HttpReply | Promise<HttpReply> {
    if (!this.#accepts()) return { rejected: true, ongoing: this.#ongoing };
    const instance = this.#instance;
    if (instance === undefined)
      return Promise.reject(new Error(`${this.#config.deployment}: the replica is not initialized`));
    this.#ongoing++;
    const context = this.#begin(call);
    // One run in the request's context for the whole answer (the user's fetch and the body's
    // reads continue in it). The head waits for the user's fetch; the body chunks there at once
    // (under HTTP_INLINE_BYTES) go in this reply, the rest streams.
    let first: FirstItems | Promise<FirstItems>;
    try {
      first = runInRequest(context, () =>
        firstItems(
          instance as never,
          request,
          store ?? TRAY_STORE,
          ReplicaRequest.cancelOf(context),
          HTTP_INLINE_BYTES,
        ),
      );
    } catch (error) {
      this.#ongoing--;
      this.#end(context);
      return Promise.reject(error);
    }
    if (!(first instanceof Promise)) return this.#reply(first, context);
    return first.then(
      (got) => this.#reply(got, context),
      (error) => {
        this.#ongoing--;
        this.#end(context);
        throw error;
      },
    );
  }

  /** The reply carrying `first`; the request ends here unless the rest streams. */
  #reply({ items, rest }: FirstItems, context: RequestContext): HttpReply {
    if (rest === undefined) {
      this.#ongoing--;
      this.#end(context);
      return { rejected: false, items, done: true, ongoing: this.#ongoing };
    }
    const streamId = this.#openStream(rest, context, []);
    return { rejected: false, items, done: false, streamId, ongoing: this.#ongoing - 1 };
  }

  /** Starts a streaming call of an (async) generator method; drain it with nextItems. */
  async startStream(call: RequestCall, ...args: unknown[]): Promise<StreamStart> {
    if (!this.#accepts()) return { rejected: true, ongoing: this.#ongoing };
    const method = call.method;
    const context = this.#begin(call);
    let produced: AsyncIterable<unknown> | Iterable<unknown>;
    try {
      produced = runInRequest(context, () => this.#method(method)(...decodeArgs(args))) as
        | AsyncIterable<unknown>
        | Iterable<unknown>;
      if (
        produced === null ||
        typeof produced !== 'object' ||
        !(Symbol.asyncIterator in produced || Symbol.iterator in produced)
      ) {
        throw new TypeError(
          `${this.#config.deployment}.${method} was called with stream: true but did not return a generator`,
        );
      }
    } catch (error) {
      this.#end(context);
      throw error;
    }
    this.#ongoing++;
    const iterator =
      Symbol.asyncIterator in produced
        ? (produced as AsyncIterable<unknown>)[Symbol.asyncIterator]()
        : (produced as Iterable<unknown>)[Symbol.iterator]();
    const id = this.#openStream(iterator as AsyncIterator<unknown>, context, []);
    return { rejected: false, streamId: id, ongoing: this.#ongoing };
  }

  /**
   * Pumps `iterator` (one ongoing request, counted by the caller) into a stream that nextItems
   * drains, starting with `first`; the request ends with the stream.
   */
  #openStream(
    iterator: AsyncIterator<unknown> | Iterator<unknown>,
    context: RequestContext,
    first: unknown[],
  ): number {
    const id = this.#nextStream++;
    const stream: Stream = {
      items: [...first],
      done: false,
      error: undefined,
      wake: undefined,
      resume: undefined,
      cancelled: false,
      lastPull: Date.now(),
      requestId: context.requestId,
    };
    this.#sweepStreams();
    this.#streams.set(id, stream);
    void runInRequest(context, async () => {
      try {
        for (;;) {
          if (stream.cancelled) {
            await iterator.return?.();
            break;
          }
          const { done, value } = await iterator.next();
          if (done || stream.cancelled) break;
          stream.items.push(value);
          stream.wake?.();
          if (stream.items.length >= STREAM_BUFFER) await new Promise<void>((r) => (stream.resume = r));
        }
      } catch (error) {
        stream.error = error;
      } finally {
        stream.done = true;
        this.#ongoing--;
        this.#end(context);
        stream.wake?.();
      }
    });
    return id;
  }

  /** The items produced since the last pull (waits for at least one, or the end). */
  async nextItems(streamId: number): Promise<{ items: unknown[]; done: boolean }> {
    const stream = this.#streams.get(streamId);
    if (stream === undefined)
      throw new Error(`stream ${streamId} is unknown to this replica (already finished?)`);
    while (stream.items.length === 0 && !stream.done) {
      await new Promise<void>((r) => (stream.wake = r));
      stream.wake = undefined;
    }
    const items = stream.items.splice(0);
    const resume = stream.resume;
    stream.resume = undefined;
    resume?.();
    if (!stream.done) return { items, done: false };
    // Done: deliver what came before an error first; the next pull raises it.
    if (stream.error !== undefined && items.length > 0) return { items, done: false };
    this.#streams.delete(streamId);
    if (stream.error !== undefined) throw stream.error;
    return { items, done: true };
  }

  #sweeper: NodeJS.Timeout | undefined;

  /** While streams are open, cancel those nobody pulled from for STREAM_IDLE_MS. */
  #sweepStreams(): void {
    if (this.#sweeper !== undefined) return;
    this.#sweeper = setInterval(() => {
      const now = Date.now();
      for (const [id, stream] of this.#streams) {
        if (now - stream.lastPull > STREAM_IDLE_MS && stream.wake === undefined) this.cancelStream(id);
      }
      if (this.#streams.size === 0) {
        clearInterval(this.#sweeper);
        this.#sweeper = undefined;
      }
    }, STREAM_IDLE_MS / 4);
    this.#sweeper.unref();
  }

  /** The caller stopped reading: stop the generator at its next item. */
  cancelStream(streamId: number): void {
    const stream = this.#streams.get(streamId);
    if (stream === undefined) return;
    stream.cancelled = true;
    this.#requests.get(stream.requestId)?.abort(this.#cancelError(stream.requestId));
    stream.resume?.();
    this.#streams.delete(streamId);
  }

  /**
   * Graceful shutdown: take no new requests, and wait (checking every `loopMs`) until the
   * in-flight ones are done or `timeoutMs` has passed; the controller then kills the actor.
   */
  async prepareForShutdown(timeoutMs: number, loopMs: number): Promise<number> {
    this.#draining = true;
    // No new channel connections; open ones get `rejected` like actor calls while draining.
    this.#channelServer?.stopListening();
    const deadline = Date.now() + timeoutMs;
    while (this.#ongoing > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(loopMs, Math.max(1, deadline - Date.now()))));
    }
    return this.#ongoing;
  }
}

/** A request's context, with the Cancel behind its signal. */
class ReplicaRequest implements RequestContext {
  readonly #cancel: Cancel;

  constructor(
    readonly requestId: string,
    readonly appName: string,
    readonly deploymentName: string,
    cancel: Cancel,
  ) {
    this.#cancel = cancel;
  }

  get signal(): AbortSignal {
    return this.#cancel.signal;
  }

  static cancelOf(context: RequestContext): Cancel {
    return (context as ReplicaRequest).#cancel;
  }
}
