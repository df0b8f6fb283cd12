// A replica's Response: the web-standard one, but a body given as a string or bytes gets its
// ReadableStream only when something reads it as a stream. Node 20 makes every ReadableStream
// transferable as it is constructed, ~15 µs — a no-op `new Response('ok')` cost three times
// the rest of the replica's work on the request — and the replica sends such a body as the bytes
// it was made from (replica-http.ts's wholeBody), so the stream is never needed.
// installLazyResponse() puts it in globalThis.Response of a replica's process (before the user's
// code loads): it is a subclass of Node's Response, `instanceof Response` holds for both kinds
// (Response.json(), fetch() answers), and everything that reads the body (text(), json(),
// body, bodyUsed, clone()) sees a stream made at that moment from the same source, exactly what
// the constructor would have made.

const Original = globalThis.Response;
/** Where a Response keeps its body (undici's `Symbol(state)`); undefined if not there. */
const STATE = Object.getOwnPropertySymbols(new Original(null)).find((s) => s.description === 'state');
/** Statuses a Response may not have a body with (the constructor throws). */
const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

type BodyState = { stream: ReadableStream<Uint8Array>; source: unknown; length: number | null };

/** A body whose stream is made on first read. */
export class LazyBody {
  #stream: ReadableStream<Uint8Array> | undefined;

  constructor(
    readonly source: string | Uint8Array,
    readonly length: number,
  ) {}

  /** Whether anything read the stream (then the body is read as a stream, as any other). */
  get materialized(): boolean {
    return this.#stream !== undefined;
  }

  get stream(): ReadableStream<Uint8Array> {
    this.#stream ??= (
      new Original(this.source as ConstructorParameters<typeof Original>[0]) as unknown as Record<
        symbol,
        { body: BodyState }
      >
    )[STATE as symbol].body.stream;
    return this.#stream;
  }

  set stream(stream: ReadableStream<Uint8Array>) {
    this.#stream = stream;
  }
}

/** Whether a ResponseInit may give its body lazily (a status that takes a body, as a number). */
function lazyInit(init: ResponseInit | undefined): boolean {
  const status = init?.status;
  return status === undefined || (typeof status === 'number' && !NULL_BODY_STATUS.has(status));
}

class Response extends Original {
  constructor(body?: ConstructorParameters<typeof Original>[0], init?: ResponseInit) {
    if ((typeof body !== 'string' && !(body instanceof Uint8Array)) || !lazyInit(init)) {
      super(body, init);
      return;
    }
    super(null, init);
    // As the constructor does: a string is sent as UTF-8 and says so; bytes are copied.
    const source =
      typeof body === 'string'
        ? body
        : new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
    (this as unknown as Record<symbol, { body: unknown }>)[STATE as symbol].body = new LazyBody(
      source,
      typeof source === 'string' ? Buffer.byteLength(source) : source.byteLength,
    );
    if (typeof source === 'string' && !this.headers.has('content-type'))
      this.headers.set('content-type', 'text/plain;charset=UTF-8');
  }

  /** Node's own Responses (Response.json(), fetch()) are Responses too. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(Original, value);
  }
}

/** Makes globalThis.Response the lazy one (once; not where Node's keeps its body elsewhere). */
export function installLazyResponse(): void {
  if (STATE === undefined || globalThis.Response !== Original) return;
  globalThis.Response = Response as typeof globalThis.Response;
}
