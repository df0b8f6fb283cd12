// Replica side of wire.ts: calls the user's `fetch` with the web-standard Request
// (web-request.ts) and gives back the Response as a head and body chunks. Owned by the HTTP work.
// A fetch that answers at once is answered at once: no promise between the request and its
// reply items, and a body made from a string or bytes is taken from where the Response keeps it
// instead of read through its stream (a reader, two reads and the turn of the event loop that
// tells a finished stream from a slow one, ~5 µs of a no-op request's replica CPU).
// A user error becomes a 500 whose body is the error's message, so one bad request never takes
// the replica down; an error after the head went out can only end the stream (the proxy then
// cuts the connection, which is how a client learns a streamed body broke).
import { LazyBody } from './lazy-response.js';
import { type BodyStore, type SignalSource, toWebRequest, trayStore, webRequestNow } from './web-request.js';
import { LARGE_BODY_BYTES, type ResponseHead, type ResponseItem, type SerializedRequest } from './wire.js';

export type { BodyStore, SignalSource } from './web-request.js';
export { toWebRequest } from './web-request.js';

export interface FetchHandler {
  fetch(request: Request): Response | Promise<Response>;
}

type Answer = Response | ResponseItem[];

/**
 * The user's Response to the request, or the items of the 500 its error becomes; not a promise
 * when fetch answered with a Response, not one.
 */
function respond(
  instance: FetchHandler,
  request: SerializedRequest,
  store: BodyStore,
  signal: SignalSource | undefined,
): Answer | Promise<Answer> {
  let result: unknown;
  try {
    if (typeof instance?.fetch !== 'function') {
      throw new TypeError(
        'this deployment has no fetch(request) method, so it cannot take HTTP requests; ' +
          'give its class a fetch(request: Request): Response method or wrap a framework app with serve.ingress(app)',
      );
    }
    const now = webRequestNow(request, signal);
    result =
      now !== undefined
        ? instance.fetch(now)
        : toWebRequest(request, store, signal).then((web) => instance.fetch(web));
  } catch (error) {
    return errorResponse(error);
  }
  if (result instanceof Response) return result;
  if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function')
    return Promise.resolve(result).then(checked, errorResponse);
  return checked(result);
}

function checked(result: unknown): Answer {
  if (result instanceof Response) return result;
  return errorResponse(
    new TypeError(
      `fetch(request) returned ${describe(result)}, not a Response; return new Response(body, { status, headers })`,
    ),
  );
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
  const whole = wholeBody(response);
  if (whole !== undefined) {
    if (whole !== null && whole.byteLength > 0)
      yield whole.byteLength >= LARGE_BODY_BYTES ? await store.put(whole) : whole;
    return;
  }
  const reader = response.body!.getReader();
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

export interface FirstItems {
  items: ResponseItem[];
  rest?: AsyncIterator<ResponseItem>;
}

/**
 * The first items of the answer, as `serveHttp` yields them: the head, and the body chunks that
 * are there within this turn of the event loop, up to `inlineBytes`; `rest` yields the others
 * (its return() stops reading). One pass without generator layers, for the replica's reply; not
 * a promise when fetch answers at once with a body there whole (the common case).
 */
export function firstItems(
  instance: FetchHandler,
  request: SerializedRequest,
  store: BodyStore,
  signal: SignalSource | undefined,
  inlineBytes: number,
): FirstItems | Promise<FirstItems> {
  const response = respond(instance, request, store, signal);
  if (response instanceof Promise) return response.then((r) => itemsOf(r, store, inlineBytes));
  return itemsOf(response, store, inlineBytes);
}

function itemsOf(response: Answer, store: BodyStore, inlineBytes: number): FirstItems | Promise<FirstItems> {
  if (Array.isArray(response)) return { items: response };
  const items: ResponseItem[] = [responseHead(response)];
  const whole = wholeBody(response);
  if (whole === null || whole?.byteLength === 0) return { items };
  if (whole !== undefined) {
    if (whole.byteLength < LARGE_BODY_BYTES) {
      items.push(whole);
      return { items };
    }
    return store.put(whole).then((ref) => {
      items.push(ref);
      return { items };
    });
  }
  return streamedItems(response.body!, items, store, inlineBytes);
}

async function streamedItems(
  body: ReadableStream<unknown>,
  items: ResponseItem[],
  store: BodyStore,
  inlineBytes: number,
): Promise<FirstItems> {
  const reader = body.getReader();
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

/** Where a Response keeps its body (undici's `Symbol(state)`: body.source is what it was made from). */
const RESPONSE_STATE = Object.getOwnPropertySymbols(new Response(null)).find(
  (s) => s.description === 'state',
);

/**
 * The response's whole body when it was made from a string or bytes and nobody read it (the
 * bytes its stream would give, without the stream); null when it has none; undefined when it
 * must be read through its stream.
 */
function wholeBody(response: Response): Uint8Array | null | undefined {
  if (RESPONSE_STATE === undefined) return undefined;
  const state = (response as unknown as Record<symbol, { body?: { source?: unknown } | null } | undefined>)[
    RESPONSE_STATE
  ];
  if (state === undefined) return undefined;
  const body = state.body;
  if (body == null) return response.body === null ? null : undefined;
  const source = body.source;
  if (typeof source !== 'string' && !(source instanceof Uint8Array)) return undefined;
  // A lazy body nobody read has no stream yet (asking whether it is used would make one).
  if (body instanceof LazyBody && !body.materialized)
    return typeof source === 'string' ? Buffer.from(source) : source;
  if (response.bodyUsed || response.body?.locked !== false) return undefined;
  return typeof source === 'string' ? Buffer.from(source) : source;
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

function errorResponse(error: unknown): ResponseItem[] {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const body = new TextEncoder().encode(`${message}\n`);
  const head: ResponseHead = {
    status: 500,
    statusText: 'Internal Server Error',
    headers: [
      ['content-type', 'text/plain; charset=utf-8'],
      ['content-length', String(body.byteLength)],
    ],
  };
  return [head, body];
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
