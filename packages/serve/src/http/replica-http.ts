// Replica side of wire.ts: turns a SerializedRequest into a web-standard Request, calls the
// user's `fetch`, and yields the Response as a head and body chunks. Owned by the HTTP work.
// The Request's signal aborts when the caller cancels (timeout, client gone).
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

export async function* serveHttp(
  instance: FetchHandler,
  request: SerializedRequest,
  store: BodyStore = trayStore,
  signal?: AbortSignal,
): AsyncGenerator<ResponseItem> {
  let response: Response;
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
    response = result;
  } catch (error) {
    yield* errorResponse(error);
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

/** The web Request the user's fetch sees: the client's URL, method, headers and body. */
export async function toWebRequest(
  request: SerializedRequest,
  store: BodyStore = trayStore,
  signal?: AbortSignal,
): Promise<Request> {
  const method = request.method.toUpperCase();
  if (request.bodyStream !== undefined && method !== 'GET' && method !== 'HEAD') {
    return new Request(request.url, {
      method,
      headers: request.headers,
      body: pulledBody(request.bodyStream),
      duplex: 'half',
      signal,
    } as RequestInit);
  }
  const body = request.bodyRef !== undefined ? await store.get(request.bodyRef) : (request.body ?? null);
  const hasBody = body !== null && body.byteLength > 0 && method !== 'GET' && method !== 'HEAD';
  return new Request(request.url, {
    method,
    headers: request.headers,
    body: hasBody ? body : null,
    signal,
  });
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
