// Replica side of wire.ts: turns a SerializedRequest into a web-standard Request, calls the
// user's `fetch`, and yields the Response as a head and body chunks. Owned by the HTTP work.
// The Request's signal aborts when the caller cancels (timeout, client gone); it is the caller's
// own signal, made when first read (a web Request made to follow another signal — a WeakRef, a
// FinalizationRegistry entry and listeners — was ~20% of a no-op request's replica CPU).
// A user error becomes a 500 whose body is the error's message, so one bad request never takes
// the replica down; an error after the head went out can only end the stream (the proxy then
// cuts the connection, which is how a client learns a streamed body broke).
import * as tray from '@tray/core';
import {
  type BodyStreamSource,
  LARGE_BODY_BYTES,
  type ResponseHead,
  type ResponseItem,
  type SerializedRequest,
} from './wire.js';

export interface FetchHandler {
  fetch(request: Request): Response | Promise<Response>;
}

/** How a replica reaches the object store; tray's own by default (tests may run without a cluster). */
export interface BodyStore {
  get(ref: tray.ObjectRef<Uint8Array>): Promise<Uint8Array>;
  put(bytes: Uint8Array): Promise<tray.ObjectRef<Uint8Array>>;
}

const trayStore: BodyStore = {
  get: (ref) => tray.get(ref),
  put: (bytes) => tray.put(bytes),
};

/** An AbortSignal, or what makes one when asked (handle/cancel.ts's Cancel). */
export type SignalSource = AbortSignal | { readonly signal: AbortSignal };

/** The user's Response to the request, or the items of the 500 its error becomes. */
async function respond(
  instance: FetchHandler,
  request: SerializedRequest,
  store: BodyStore,
  signal: SignalSource | undefined,
): Promise<Response | ResponseItem[]> {
  try {
    if (typeof instance?.fetch !== 'function') {
      throw new TypeError(
        'this deployment has no fetch(request) method, so it cannot take HTTP requests; ' +
          'give its class a fetch(request: Request): Response method or wrap a framework app with serve.ingress(app)',
      );
    }
    const result = await instance.fetch(await toWebRequest(request, store, signal));
    if (!(result instanceof Response)) {
      throw new TypeError(
        `fetch(request) returned ${describe(result)}, not a Response; return new Response(body, { status, headers })`,
      );
    }
    return result;
  } catch (error) {
    return [...errorResponse(error)];
  }
}

export async function* serveHttp(
  instance: FetchHandler,
  request: SerializedRequest,
  store: BodyStore = trayStore,
  signal?: SignalSource,
): AsyncGenerator<ResponseItem> {
  const response = await respond(instance, request, store, signal);
  if (Array.isArray(response)) {
    yield* response;
    return;
  }
  yield responseHead(response);
  if (response.body === null) return;
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      const bytes = toBytes(value);
      if (bytes.byteLength === 0) continue;
      yield bytes.byteLength >= LARGE_BODY_BYTES ? await store.put(bytes) : bytes;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * The first items of the answer, as `serveHttp` yields them: the head, and the body chunks that
 * are there within this turn of the event loop, up to `inlineBytes`; `rest` yields the others
 * (its return() stops reading). One pass without generator layers, for the replica's reply.
 */
export async function firstItems(
  instance: FetchHandler,
  request: SerializedRequest,
  store: BodyStore,
  signal: SignalSource | undefined,
  inlineBytes: number,
): Promise<{ items: ResponseItem[]; rest?: AsyncIterator<ResponseItem> }> {
  const response = await respond(instance, request, store, signal);
  if (Array.isArray(response)) return { items: response };
  const items: ResponseItem[] = [responseHead(response)];
  if (response.body === null) return { items };
  const reader = response.body.getReader();
  let bytes = 0;
  try {
    for (;;) {
      const next = reader.read();
      const got = await settledNow(next);
      if (got === PENDING) return { items, rest: restOf(reader, store, next) };
      if (got.done) return { items }; // (a finished stream's lock needs no release)
      const chunk = toBytes(got.value);
      if (chunk.byteLength === 0) continue;
      items.push(chunk.byteLength >= LARGE_BODY_BYTES ? await store.put(chunk) : chunk);
      bytes += chunk.byteLength;
      if (bytes >= inlineBytes) return { items, rest: restOf(reader, store, undefined) };
    }
  } catch (error) {
    reader.releaseLock();
    throw error;
  }
}

async function* restOf(
  reader: ReadableStreamDefaultReader<unknown>,
  store: BodyStore,
  pending: Promise<{ done: boolean; value?: unknown }> | undefined,
): AsyncGenerator<ResponseItem> {
  try {
    for (;;) {
      const { done, value } = (await (pending ?? reader.read())) as { done: boolean; value?: unknown };
      pending = undefined;
      if (done) return;
      const bytes = toBytes(value);
      if (bytes.byteLength === 0) continue;
      yield bytes.byteLength >= LARGE_BODY_BYTES ? await store.put(bytes) : bytes;
    }
  } finally {
    reader.releaseLock();
  }
}

const PENDING = Symbol('pending');

/** The promise's result if it settles within this turn of the event loop, else PENDING. */
function settledNow<T>(promise: Promise<T>): Promise<T | typeof PENDING> {
  return new Promise((resolve, reject) => {
    const timer = setImmediate(() => resolve(PENDING));
    promise.then(
      (value) => {
        clearImmediate(timer);
        resolve(value);
      },
      (error) => {
        clearImmediate(timer);
        reject(error);
      },
    );
  });
}

/**
 * Where a web Request keeps its signal (undici's internal `Symbol(signal)`): what its `signal`
 * getter, clone(), `new Request(request)` and fetch(request) read. Undefined if this Node's
 * Request has no such slot; then requests follow the caller's signal the standard way.
 */
const SIGNAL_SLOT = Object.getOwnPropertySymbols(new Request('http://x/')).find(
  (s) => s.description === 'signal',
);

const signalOf = (source: SignalSource): AbortSignal =>
  source instanceof AbortSignal ? source : source.signal;

/** Makes `request`'s signal the caller's (read when asked for, so made only if it is). */
function adoptSignal(request: Request, source: SignalSource): void {
  Object.defineProperty(request, SIGNAL_SLOT as symbol, { get: () => signalOf(source), configurable: true });
}

/** A web Request whose signal is the caller's, made when first read, not one following it. */
class ServeRequest extends Request {
  readonly #source: SignalSource | undefined;

  constructor(url: string, init: RequestInit, source: SignalSource | undefined) {
    super(
      url,
      source === undefined || SIGNAL_SLOT !== undefined ? init : { ...init, signal: signalOf(source) },
    );
    this.#source = source;
    if (source !== undefined && SIGNAL_SLOT !== undefined) adoptSignal(this, source);
  }

  static {
    // A clone aborts with the caller too (Request's own clone follows only a signal it followed).
    const clone = Request.prototype.clone;
    Object.defineProperty(ServeRequest.prototype, 'clone', {
      value: function (this: ServeRequest): Request {
        const copy = clone.call(this);
        if (this.#source !== undefined && SIGNAL_SLOT !== undefined) adoptSignal(copy, this.#source);
        return copy;
      },
      configurable: true,
      writable: true,
    });
  }
}

/** The web Request the user's fetch sees: the client's URL, method, headers and body. */
export async function toWebRequest(
  request: SerializedRequest,
  store: BodyStore = trayStore,
  signal?: SignalSource,
): Promise<Request> {
  const method = request.method.toUpperCase();
  if (request.bodyStream !== undefined && method !== 'GET' && method !== 'HEAD') {
    return new ServeRequest(
      request.url,
      {
        method,
        headers: request.headers,
        body: pulledBody(request.bodyStream),
        duplex: 'half',
      } as RequestInit,
      signal,
    );
  }
  const body = request.bodyRef !== undefined ? await store.get(request.bodyRef) : (request.body ?? null);
  const hasBody = body !== null && body.byteLength > 0 && method !== 'GET' && method !== 'HEAD';
  return new ServeRequest(
    request.url,
    { method, headers: request.headers, body: hasBody ? body : null },
    signal,
  );
}

type BodySource = tray.ActorHandle<{ receiveBody(id: string): Uint8Array | null }>;
const proxies = new Map<string, Promise<BodySource>>();

/** A streamed request body: each read pulls what the proxy has received of it since the last. */
function pulledBody(source: BodyStreamSource): ReadableStream<Uint8Array> {
  const key = `${source.namespace}\0${source.proxy}`;
  let proxy = proxies.get(key);
  if (proxy === undefined) {
    proxy = tray.getActor<{ receiveBody(id: string): Uint8Array | null }>(source.proxy, {
      namespace: source.namespace,
    });
    proxies.set(key, proxy);
    proxy.catch(() => proxies.delete(key));
  }
  const handle = proxy;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const chunk = await tray.get((await handle).receiveBody.remote(source.id));
        if (chunk === null) controller.close();
        else controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
}

function responseHead(response: Response): ResponseHead {
  const headers: Array<[string, string]> = [];
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers.push([name, value]);
  });
  // Headers joins Set-Cookie values with commas, which breaks them; getSetCookie keeps each.
  for (const cookie of response.headers.getSetCookie()) headers.push(['set-cookie', cookie]);
  const head: ResponseHead = { status: response.status, headers };
  if (response.statusText !== '') head.statusText = response.statusText;
  return head;
}

function* errorResponse(error: unknown): Generator<ResponseItem> {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const body = new TextEncoder().encode(`${message}\n`);
  yield {
    status: 500,
    statusText: 'Internal Server Error',
    headers: [
      ['content-type', 'text/plain; charset=utf-8'],
      ['content-length', String(body.byteLength)],
    ],
  };
  yield body;
}

function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return new TextEncoder().encode(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new TypeError(`the response body stream gave ${describe(value)}; it must give bytes (Uint8Array)`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`;
  return typeof value;
}
