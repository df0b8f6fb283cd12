// The web-standard Request a replica's `fetch` is given, made from a SerializedRequest (wire.ts).
// Its signal is the caller's own (it aborts when the caller cancels: timeout, client gone), made
// when first read: a web Request made to follow another signal — a WeakRef, a
// FinalizationRegistry entry and listeners — was ~20% of a no-op request's replica CPU.
// A bodiless GET or HEAD gets a light Request: an object that is a Request (instanceof, its
// prototype's methods, its internal slots for `new Request(req)` and `fetch(req)`) but answers
// `method`, `url`, `signal`, `body` and `bodyUsed` itself, and makes the real one only when
// anything else is read. Node's Request constructor (its own AbortSignal, made transferable, a
// Headers, URL parsing) was ~7 µs of a no-op request's ~60 in the replica, and routers such as
// Hono's and itty-router's read only the URL and method to dispatch.
import * as tray from '@tray/core';
import type { BodyStreamSource, SerializedRequest } from './wire.js';

/** How a replica reaches the object store; tray's own by default (tests may run without a cluster). */
export interface BodyStore {
  get(ref: tray.ObjectRef<Uint8Array>): Promise<Uint8Array>;
  put(bytes: Uint8Array): Promise<tray.ObjectRef<Uint8Array>>;
}

export const trayStore: BodyStore = {
  get: (ref) => tray.get(ref),
  put: (bytes) => tray.put(bytes),
};

/** An AbortSignal, or what makes one when asked (handle/cancel.ts's Cancel). */
export type SignalSource = AbortSignal | { readonly signal: AbortSignal };

const SAMPLE = new Request('http://x/');
/** A Request's internal slots (undici keeps them under symbols: state, signal, headers, …). */
const SLOTS = Object.getOwnPropertySymbols(SAMPLE);
/**
 * Where a web Request keeps its signal (undici's internal `Symbol(signal)`): what its `signal`
 * getter, clone(), `new Request(request)` and fetch(request) read. Undefined if this Node's
 * Request has no such slot; then requests follow the caller's signal the standard way.
 */
const SIGNAL_SLOT = SLOTS.find((s) => s.description === 'signal');
/** Light requests need every slot a Request's consumers read to be reachable (undici's layout). */
const LIGHT_OK = SIGNAL_SLOT !== undefined && SLOTS.some((s) => s.description === 'state');

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

// ---- the light Request ---------------------------------------------------------------------

interface Light {
  url: string;
  method: string;
  headers: Array<[string, string]>;
  source: SignalSource;
  href?: string;
  real?: Request;
}

const LIGHT = Symbol('serve.lightRequest');

/** The real Request behind a light one, made on first need. */
function realOf(request: object): Request {
  const light = (request as { [LIGHT]?: Light })[LIGHT];
  if (light === undefined) throw new TypeError('Illegal invocation: not a serve request');
  light.real ??= new ServeRequest(light.url, { method: light.method, headers: light.headers }, light.source);
  return light.real;
}

const lightOf = (request: object): Light => (request as { [LIGHT]: Light })[LIGHT];

/**
 * The light Requests' prototype: below Request.prototype (instanceof, toStringTag), each of its
 * members redirected to the real Request, but for the few a light one answers itself.
 */
const LIGHT_PROTO: object = (() => {
  const proto = Object.create(Request.prototype) as object;
  for (const key of Reflect.ownKeys(Request.prototype)) {
    if (key === 'constructor' || key === Symbol.toStringTag) continue;
    const own = Object.getOwnPropertyDescriptor(Request.prototype, key)!;
    if (own.get !== undefined) {
      Object.defineProperty(proto, key, {
        get(this: object) {
          return Reflect.get(Request.prototype, key, realOf(this));
        },
        configurable: true,
      });
    } else if (typeof own.value === 'function') {
      const method = own.value as (...args: unknown[]) => unknown;
      Object.defineProperty(proto, key, {
        value(this: object, ...args: unknown[]) {
          const real = realOf(this);
          // ServeRequest overrides clone (the copy keeps the caller's signal).
          return ((real as unknown as Record<PropertyKey, typeof method>)[key] ?? method).apply(real, args);
        },
        configurable: true,
        writable: true,
      });
    }
  }
  // The internal slots, which undici reads directly off a Request given to `new Request(req)`,
  // fetch(req) and its prototype's methods.
  for (const slot of SLOTS) {
    Object.defineProperty(proto, slot, {
      get(this: object) {
        return (realOf(this) as unknown as Record<symbol, unknown>)[slot];
      },
      set(this: object, value: unknown) {
        (realOf(this) as unknown as Record<symbol, unknown>)[slot] = value;
      },
      configurable: true,
    });
  }
  const answer = (key: string, own: (light: Light) => unknown) =>
    Object.defineProperty(proto, key, {
      get(this: object) {
        const light = lightOf(this);
        if (light === undefined) throw new TypeError('Illegal invocation: not a serve request');
        return light.real === undefined ? own(light) : Reflect.get(Request.prototype, key, light.real);
      },
      configurable: true,
    });
  answer('method', (light) => light.method);
  answer('url', (light) => (light.href ??= new URL(light.url).href));
  answer('signal', (light) => signalOf(light.source));
  answer('body', () => null);
  answer('bodyUsed', () => false);
  return proto;
})();

function lightRequest(
  url: string,
  method: string,
  headers: Array<[string, string]>,
  source: SignalSource,
): Request {
  const request = Object.create(LIGHT_PROTO) as { [LIGHT]: Light };
  request[LIGHT] = { url, method, headers, source };
  return request as unknown as Request;
}

// ---- making the request --------------------------------------------------------------------

/**
 * The web Request the user's fetch sees, when it can be made without waiting (the body is not
 * in the object store or streamed); undefined when it cannot.
 */
export function webRequestNow(
  request: SerializedRequest,
  signal: SignalSource | undefined,
): Request | undefined {
  const method = request.method.toUpperCase();
  const bodiless = method === 'GET' || method === 'HEAD';
  if (bodiless) {
    // Request refuses a URL with credentials; such a rare one takes the real constructor.
    if (LIGHT_OK && signal !== undefined && !request.url.includes('@'))
      return lightRequest(request.url, method, request.headers, signal);
    return new ServeRequest(request.url, { method, headers: request.headers }, signal);
  }
  if (request.bodyStream !== undefined || request.bodyRef !== undefined) return undefined;
  const body = request.body ?? null;
  return new ServeRequest(
    request.url,
    { method, headers: request.headers, body: body !== null && body.byteLength > 0 ? body : null },
    signal,
  );
}

/** The web Request the user's fetch sees: the client's URL, method, headers and body. */
export async function toWebRequest(
  request: SerializedRequest,
  store: BodyStore = trayStore,
  signal?: SignalSource,
): Promise<Request> {
  const now = webRequestNow(request, signal);
  if (now !== undefined) return now;
  const method = request.method.toUpperCase();
  if (request.bodyStream !== undefined) {
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
  const body = await store.get(request.bodyRef!);
  return new ServeRequest(
    request.url,
    { method, headers: request.headers, body: body.byteLength > 0 ? body : null },
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
