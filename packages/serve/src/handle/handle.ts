// DeploymentHandle: how code calls a deployment, from a driver or from inside another replica.
// `handle.method.remote(...args)` (or `handle.remote(...)` for `__call__`) returns a
// DeploymentResponse at once; `handle.options({ methodName, stream: true })` makes calls that
// return a DeploymentResponseGenerator over what an (async) generator method yields. Arguments
// that are DeploymentResponses are awaited before the request is sent (the callee sees values);
// handles in arguments travel as markers (handle-codec.ts). The router picks the replica.
// HTTP_METHOD streams take one round trip when the response is complete at once (handleHttp).
// Every request has an id, so cancel() reaches the replica running it (cancelRequest).
import { randomBytes } from 'node:crypto';
import * as tray from '@tray/core';
import type {
  HttpReply,
  ReplicaMethods,
  RequestCall,
  RequestReply,
  StreamStart,
} from '../controller/types.js';
import { RequestCancelledError } from '../errors.js';
import { HTTP_METHOD, type SerializedRequest } from '../http/wire.js';
import { Cancel, untilAborted } from './cancel.js';
import { encodeArgs, HANDLE_IDENTITY } from './identity.js';
import { DeploymentResponse, DeploymentResponseGenerator } from './response.js';
import { type Router, routerFor } from './router.js';

export interface HandleOptions {
  /** The method `handle.remote()` calls (default `__call__`). */
  methodName?: string;
  /** Calls return a DeploymentResponseGenerator (the method is an (async) generator). */
  stream?: boolean;
}

export interface HandleMethod {
  remote(...args: unknown[]): DeploymentResponse<any> & DeploymentResponseGenerator<any>;
}

type MethodsOf<T> = T extends abstract new (
  ...args: any[]
) => infer I
  ? I
  : T extends (...args: any[]) => any
    ? never
    : T;

/**
 * A handle to a deployment of class (or function) type T: its methods typed from the class when T
 * is known (`serve.run` of a typed application, `getDeploymentHandle<typeof Cls>`), any method
 * name when it is not.
 */
export type DeploymentHandle<T = any> = {
  readonly deploymentName: string;
  readonly appName: string;
  /** Calls the method of `options.methodName` (default `__call__`). */
  remote(...args: unknown[]): DeploymentResponse<any> & DeploymentResponseGenerator<any>;
  options(options: HandleOptions): DeploymentHandle<T>;
} & {
  readonly [K in keyof MethodsOf<T>]: MethodsOf<T>[K] extends (...args: infer A) => infer R
    ? {
        remote(
          ...args: { [I in keyof A]: A[I] | DeploymentResponse<A[I]> }
        ): DeploymentResponse<Awaited<R>> & DeploymentResponseGenerator<any>;
      }
    : never;
} & (0 extends 1 & T ? Record<string, HandleMethod> : unknown);

const NOT_METHODS = new Set(['then', 'toJSON', 'constructor', 'asymmetricMatch', '$$typeof', 'nodeType']);

async function resolveArgs(args: unknown[]): Promise<unknown[]> {
  let pending = false;
  for (const a of args) if (a instanceof DeploymentResponse) pending = true;
  const values = pending
    ? await Promise.all(args.map((a) => (a instanceof DeploymentResponse ? a.result() : a)))
    : args;
  return encodeArgs(values);
}

type Replica = tray.ActorHandle<ReplicaMethods>;

let nextRequest = 0;
const requestPrefix = randomBytes(4).toString('hex');

/** A request's id (unique in the cluster) and its cancellation, shared by its parts. */
class RequestState {
  readonly requestId = `${requestPrefix}-${(nextRequest++).toString(36)}`;
  readonly signal = new Cancel();
  #target: Replica | undefined;
  #finished = false;

  constructor(
    readonly app: string,
    readonly deployment: string,
  ) {}

  /** The replica the request went to (told to cancel it if the caller does). */
  sentTo(replica: Replica): void {
    this.#target = replica;
  }

  finish(): void {
    this.#finished = true;
  }

  cancel(): void {
    if (this.#finished || this.signal.aborted) return;
    this.signal.abort(
      new RequestCancelledError(`the request to ${this.app}/${this.deployment} was cancelled`),
    );
    // Its result awaited (the ref held): a call whose ref was dropped at once was seen lost
    // (the cancel never reached the replica) once the merged core and store changes landed.
    const target = this.#target;
    if (target !== undefined) tray.get(target.cancelRequest.remote(this.requestId)).catch(() => {});
  }

  throwIfCancelled(): void {
    this.signal.throwIfAborted();
  }
}

const newRequest = (app: string, deployment: string) => new RequestState(app, deployment);

function call(
  app: string,
  deployment: string,
  options: HandleOptions,
  method: string,
  args: unknown[],
): unknown {
  const router = routerFor(app, deployment);
  const request = newRequest(app, deployment);
  const meta: RequestCall = { method, requestId: request.requestId };
  if (!options.stream) {
    const promise = (async () => {
      const sent = await resolveArgs(args);
      request.throwIfCancelled();
      try {
        const reply = await untilAborted(
          router.assign<RequestReply>((r: Replica) => {
            request.sentTo(r);
            return tray.get(r.handleRequest.remote(meta, ...sent));
          }, request.signal),
          request.signal,
        );
        return (reply as Extract<RequestReply, { rejected: false }>).value;
      } finally {
        request.finish();
      }
    })();
    return new DeploymentResponse(promise, () => request.cancel());
  }
  let actorOf: Replica | undefined;
  // The first reply: an HTTP request's carries the response when it is complete; a stream's, its id.
  const started = (async (): Promise<{ items: unknown[]; streamId?: number; actor: Replica }> => {
    const sent = await resolveArgs(args);
    request.throwIfCancelled();
    const send = (r: Replica, replicaId: string): Promise<HttpReply | StreamStart> => {
      actorOf = r;
      request.sentTo(r);
      if (method !== HTTP_METHOD) return tray.get(r.startStream.remote(meta, ...sent));
      return sendHttpTo(router, r, replicaId, meta, sent[0] as SerializedRequest);
    };
    const reply = (await untilAborted(
      router.assign<HttpReply | StreamStart>(send, request.signal),
      request.signal,
    )) as Extract<HttpReply, { rejected: false }> | Extract<StreamStart, { rejected: false }>;
    if ('items' in reply)
      return { items: reply.items, streamId: reply.done ? undefined : reply.streamId, actor: actorOf! };
    return { items: [], streamId: reply.streamId, actor: actorOf! };
  })();
  started.catch(() => {});
  return new DeploymentResponseGenerator(
    async function* () {
      const { items, streamId, actor } = await started;
      const rest = streamId === undefined ? undefined : remoteStream(router, actor, streamId, request);
      try {
        yield* items;
        if (rest !== undefined) yield* rest.pull();
      } finally {
        if (rest === undefined) request.finish();
        else rest.close();
      }
    },
    () => request.cancel(),
  );
}

/** An HTTP request to the chosen replica: over its direct channel when that is up. */
function sendHttpTo(
  router: Router,
  r: Replica,
  replicaId: string,
  meta: RequestCall,
  http: SerializedRequest,
): Promise<HttpReply> {
  // Small bodies only: ObjectRefs and pulled bodies need the actor call.
  const channel =
    http.bodyRef === undefined && http.bodyStream === undefined ? router.channel(replicaId, r) : undefined;
  return channel !== undefined ? channel.http(meta, http) : tray.get(r.handleHttp.remote(meta, http));
}

/**
 * The rest of a stream the replica opened, pulled batch by batch (counted as ongoing until it
 * ends). close() ends it early, telling the replica to stop its generator; a no-op once done.
 */
function remoteStream(
  router: Router,
  actor: Replica,
  streamId: number,
  request: ReturnType<typeof newRequest>,
): { pull(): AsyncGenerator<unknown>; close(): void } {
  const counted = router.streamStarted();
  let closed = false;
  const close = (cancel: boolean) => {
    if (closed) return;
    closed = true;
    counted();
    request.finish();
    if (cancel) tray.get(actor.cancelStream.remote(streamId)).catch(() => {});
  };
  return {
    async *pull() {
      let finished = false;
      try {
        for (;;) {
          request.throwIfCancelled();
          const batch = await untilAborted(tray.get(actor.nextItems.remote(streamId)), request.signal);
          yield* batch.items;
          if (batch.done) {
            finished = true;
            return;
          }
        }
      } finally {
        close(!finished);
      }
    },
    close: () => close(true),
  };
}

/** What `sendHttp` answers: the items of the first reply, and the rest when the response streams. */
export interface HttpAnswer {
  items: unknown[];
  rest?: AsyncIterable<unknown>;
  /** Ends the request: a stream not read to its end is cancelled on the replica. Idempotent. */
  close(): void;
}

/**
 * One HTTP request as the proxy sends it: what `handle.options({ methodName: HTTP_METHOD,
 * stream: true }).remote(request)` does (the same router, retries and cancellation) without the
 * generator layers in between, a large part of the proxy's CPU per request. Aborting `signal`
 * cancels the request on its replica.
 */
export function sendHttp(
  app: string,
  deployment: string,
  http: SerializedRequest,
  signal: Cancel,
): Promise<HttpAnswer> {
  const router = routerFor(app, deployment);
  const request = newRequest(app, deployment);
  const meta: RequestCall = { method: HTTP_METHOD, requestId: request.requestId };
  const off = signal.onAbort(() => request.cancel());
  let actor: Replica | undefined;
  // assign rejects as soon as request.signal aborts, wherever the request is.
  return router
    .assign<HttpReply>((r, replicaId) => {
      actor = r;
      request.sentTo(r);
      return sendHttpTo(router, r, replicaId, meta, http);
    }, request.signal)
    .then(
      (sent) => {
        const reply = sent as Extract<HttpReply, { rejected: false }>;
        if (reply.done || reply.streamId === undefined) {
          request.finish();
          off();
          return { items: reply.items, close: noClose };
        }
        const rest = remoteStream(router, actor!, reply.streamId, request);
        const close = () => {
          rest.close();
          off();
        };
        return {
          items: reply.items,
          rest: {
            async *[Symbol.asyncIterator]() {
              try {
                yield* rest.pull();
              } finally {
                close();
              }
            },
          },
          close,
        };
      },
      (error) => {
        request.finish();
        off();
        throw error;
      },
    );
}

const noClose = () => {};

/** A handle to `deployment` of application `app`. */
export function makeHandle<T = any>(
  deployment: string,
  app: string,
  options: HandleOptions,
): DeploymentHandle<T> {
  const identity = { app, deployment };
  const methods = new Map<string, HandleMethod>();
  const methodOf = (name: string): HandleMethod => {
    let m = methods.get(name);
    if (m === undefined) {
      m = { remote: (...args: unknown[]) => call(app, deployment, options, name, args) as never };
      methods.set(name, m);
    }
    return m;
  };
  const base = {
    deploymentName: deployment,
    appName: app,
    remote: (...args: unknown[]) => call(app, deployment, options, options.methodName ?? '__call__', args),
    options: (more: HandleOptions) =>
      makeHandle(deployment, app, { ...options, ...checkHandleOptions(more) }),
    toString: () => `DeploymentHandle(${app}/${deployment})`,
  } as Record<string | symbol, unknown>;
  return new Proxy(base, {
    get(target, prop) {
      if (prop === HANDLE_IDENTITY) return identity;
      if (typeof prop === 'symbol') return target[prop];
      if (Object.hasOwn(target, prop)) return target[prop];
      if (NOT_METHODS.has(prop)) return undefined;
      return methodOf(prop);
    },
  }) as unknown as DeploymentHandle<T>;
}

function checkHandleOptions(options: HandleOptions): HandleOptions {
  if (options === null || typeof options !== 'object')
    throw new TypeError('handle.options() takes an object');
  for (const key of Object.keys(options)) {
    if (key !== 'methodName' && key !== 'stream') {
      throw new TypeError(`handle.options(): ${key} is not an option (known: methodName, stream)`);
    }
  }
  if (
    options.methodName !== undefined &&
    (typeof options.methodName !== 'string' || options.methodName === '')
  ) {
    throw new TypeError('handle.options(): methodName must be a non-empty string');
  }
  return options;
}
