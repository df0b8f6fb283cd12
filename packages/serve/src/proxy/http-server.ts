// The proxy's HTTP front: a node:http server (keep-alive) that turns each request into a
// SerializedRequest, hands it to the ingress of the route whose prefix matches longest, and writes
// the answer's head and chunks to the client as they come. It owns every HTTP status the proxy
// makes itself: 404 unknown route, 408 past requestTimeoutMs, 413 body over maxRequestBodyBytes,
// 503 with Retry-After when serve has no replica to take the request, 500 for anything else.
// How the ingress is reached (a DeploymentHandle in the proxy actor) is the caller's business.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ObjectRef } from '@tray/core';
import { Cancel } from '../handle/cancel.js';
import {
  type BodyStreamSource,
  LARGE_BODY_BYTES,
  type ResponseHead,
  type ResponseItem,
  type SerializedRequest,
} from '../http/wire.js';
import { requestUrl } from './request-url.js';
import type { Route, RouteMatcher } from './route-table.js';

/** Ray's proxy keeps idle connections this long (uvicorn's keep_alive_timeout_s default). */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 90_000;
/** Bodies past this are refused with 413 (Ray sets no limit; an unbounded body is memory a client chooses). */
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024;
/** A whole answer up to this size goes out with its head in one write. */
const ONE_WRITE_BYTES = 16 * 1024;
/** The Retry-After a 503 carries, in seconds. */
export const RETRY_AFTER_S = 1;

export interface ProxyServerOptions {
  host: string;
  port: number;
  /** Past this a request is answered 408 (or cut, once its head went out); none when undefined. */
  requestTimeoutMs?: number;
  maxRequestBodyBytes?: number;
  keepAliveTimeoutMs?: number;
  /** The routes now (the proxy actor polls the controller and keeps the newest here). */
  routes(): RouteMatcher;
  /**
   * Sends the request to the route's ingress; the answer's first item is its head. It may come as
   * an iterable of items, or (the proxy actor's way, fewer layers per request) as the items of
   * the replica's first reply and the rest.
   */
  call(
    route: Route,
    request: SerializedRequest,
    cancel: Cancel,
  ): AsyncIterable<ResponseItem> | Promise<IngressAnswer>;
  /** Puts a large body in the object store, and reads a large response chunk back. */
  put(bytes: Uint8Array): Promise<ObjectRef<Uint8Array>>;
  get(ref: ObjectRef<Uint8Array>): Promise<Uint8Array>;
  /**
   * The proxy actor replicas pull streamed bodies from (its receiveBody calls pullBody). Without
   * it every body is read whole before the request is sent.
   */
  bodyStreams?: { proxy: string; namespace: string };
}

/** An ingress's answer: the items known at once, the rest when it streams; close() ends the call. */
export interface IngressAnswer {
  items: ResponseItem[];
  rest?: AsyncIterable<ResponseItem>;
  close(): void;
}

/** A chunked upload being streamed to a replica: read from the socket as the replica pulls. */
interface OpenBody {
  req: IncomingMessage;
  size: number;
  tooLarge: boolean;
  ended: boolean;
}

/** Errors that mean "no replica can take this now": the client should retry. */
const UNAVAILABLE = new Set(['BackPressureError', 'DeploymentUnavailableError']);
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'te',
  'trailer',
]);

class BodyTooLarge extends Error {
  /**
   * Known from Content-Length before reading: the rest is drained and the connection kept, so
   * the client, still sending, reads the 413 (a bounded amount: the length it declared). A body
   * found too large while counting a chunked upload has no bound: its connection is closed.
   */
  constructor(
    message: string,
    readonly declared = false,
  ) {
    super(message);
  }
}

export class ProxyServer {
  private readonly server: Server;
  private readonly maxBody: number;
  private readonly openBodies = new Map<string, OpenBody>();
  private nextBodyId = 0;
  /** Requests answered since start, for status and tests. */
  requests = 0;

  constructor(private readonly options: ProxyServerOptions) {
    this.maxBody = options.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error) => fail(res, error));
    });
    this.server.keepAliveTimeout = options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
    // The proxy's own requestTimeoutMs decides; node's default 300 s request timeout would cut
    // long streaming uploads.
    this.server.requestTimeout = 0;
  }

  /** Starts listening; resolves with the port (0 in the options picks a free one). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req.url ?? '/', req.headers.host ?? `${this.options.host}:${this.options.port}`);
    if (url.pathname === '/-/healthz' && req.method === 'GET') return text(res, 200, 'success');
    const matcher = this.options.routes();
    if (url.pathname === '/-/routes' && req.method === 'GET') {
      const table = Object.fromEntries(matcher.routes.map((r) => [r.routePrefix, r.app]));
      return json(res, 200, table);
    }
    const route = matcher.match(url.pathname);
    if (route === undefined) {
      return text(
        res,
        404,
        `Path '${url.pathname}' not found. Ping http://${url.host}/-/routes for the routes.`,
      );
    }

    // Aborted on a timeout and when the client hangs up (cancel.signal is an AbortSignal of it).
    const abort = new Cancel();
    let timedOut = false;
    const timer =
      this.options.requestTimeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            abort.abort(new Error('the request timed out'));
            if (!res.headersSent) {
              text(
                res,
                408,
                `Request timed out after ${this.options.requestTimeoutMs} ms (http.requestTimeoutMs).`,
                true,
              );
            } else res.destroy();
          }, this.options.requestTimeoutMs);
    res.on('close', () => {
      if (!res.writableFinished) abort.abort(new Error('the client went away'));
    });
    let streamed: string | undefined;
    try {
      const request: SerializedRequest = {
        method: req.method ?? 'GET',
        url: url.href,
        headers: headerPairs(req),
        routePrefix: route.routePrefix,
        body: null,
      };
      const chunked =
        req.headers['content-length'] === undefined && req.headers['transfer-encoding'] !== undefined;
      if (chunked && this.options.bodyStreams !== undefined) {
        streamed = String(this.nextBodyId++);
        const open: OpenBody = { req, size: 0, tooLarge: false, ended: false };
        req.once('end', () => (open.ended = true));
        this.openBodies.set(streamed, open);
        request.bodyStream = { ...this.options.bodyStreams, id: streamed } satisfies BodyStreamSource;
        await this.forward(route, request, res, abort, open);
        this.requests++;
        return;
      }
      let body: Uint8Array | null = null;
      try {
        if (hasBody(req)) body = await this.readBody(req, abort);
      } catch (error) {
        if (error instanceof BodyTooLarge) {
          return text(
            res,
            413,
            `${error.message} (the limit is http.maxRequestBodyBytes = ${this.maxBody}).`,
            !error.declared,
          );
        }
        throw error;
      }
      if (abort.aborted) return;
      if (body !== null && body.byteLength >= LARGE_BODY_BYTES)
        request.bodyRef = await this.options.put(body);
      else request.body = body;
      await this.forward(route, request, res, abort);
      this.requests++;
    } catch (error) {
      if (timedOut || abort.aborted) return;
      if (error instanceof BodyTooLarge && !res.headersSent) {
        text(res, 413, `${error.message} (the limit is http.maxRequestBodyBytes = ${this.maxBody}).`, true);
        return;
      }
      fail(res, error);
    } finally {
      clearTimeout(timer);
      if (streamed !== undefined) this.openBodies.delete(streamed);
    }
  }

  /**
   * The next part of a streamed body (what has arrived since the last pull, waiting for some),
   * null at its end. Past maxRequestBodyBytes it throws, and the request is answered 413.
   */
  async pullBody(id: string): Promise<Uint8Array | null> {
    const open = this.openBodies.get(id);
    if (open === undefined)
      throw new Error(`no streamed request body ${id} in this proxy (the request ended)`);
    for (;;) {
      const chunk = open.req.read() as Buffer | null;
      if (chunk !== null) {
        open.size += chunk.byteLength;
        if (open.size > this.maxBody) {
          open.tooLarge = true;
          open.req.resume();
          throw new BodyTooLarge(`The request body is over ${this.maxBody} bytes`);
        }
        return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      }
      if (open.ended || open.req.destroyed) return null;
      await new Promise<void>((resolve) => {
        const done = () => {
          open.req.off('readable', done);
          open.req.off('end', done);
          open.req.off('close', done);
          resolve();
        };
        open.req.on('readable', done);
        open.req.on('end', done);
        open.req.on('close', done);
      });
    }
  }

  /** The whole body, or null for none; refuses one past the limit as soon as it is known. */
  private async readBody(req: IncomingMessage, signal: Cancel): Promise<Uint8Array | null> {
    if (!hasBody(req)) return null;
    const length = req.headers['content-length'];
    const declared = Number(length ?? Number.NaN);
    if (declared > this.maxBody) {
      req.resume();
      throw new BodyTooLarge(`The request body is ${declared} bytes`, true);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      if (signal.aborted) break;
      size += chunk.byteLength;
      if (size > this.maxBody) {
        req.resume();
        throw new BodyTooLarge(`The request body is over ${this.maxBody} bytes`);
      }
      chunks.push(chunk);
    }
    if (size === 0) return null;
    const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
    return new Uint8Array(all.buffer, all.byteOffset, all.byteLength);
  }

  /** Sends the request and writes its answer; one promise when the answer comes whole. */
  private forward(
    route: Route,
    request: SerializedRequest,
    res: ServerResponse,
    signal: Cancel,
    open?: OpenBody,
  ): Promise<void> {
    const called = this.options.call(route, request, signal);
    if (!(called instanceof Promise))
      return this.#write(route, called, res, signal, open, undefined, true).then(noop);
    return called.then((answer) => this.#answered(route, answer, res, signal, open));
  }

  #answered(
    route: Route,
    answer: IngressAnswer,
    res: ServerResponse,
    signal: Cancel,
    open: OpenBody | undefined,
  ): void | Promise<void> {
    if (answer.rest === undefined) {
      let whole: Promise<void> | undefined;
      try {
        whole = this.#writeWhole(route, answer.items, res, signal, open) || undefined;
      } finally {
        if (whole === undefined) answer.close();
      }
      return whole?.finally(() => answer.close());
    }
    return (async () => {
      try {
        const head = await this.#write(route, answer.items, res, signal, open, undefined, false);
        if (head !== null) await this.#write(route, answer.rest!, res, signal, open, head, true);
      } finally {
        answer.close();
      }
    })();
  }

  /**
   * A response complete in one reply: its head and body leave in one write, with a
   * Content-Length (node's own when the head has none) instead of chunked encoding. Not a
   * promise unless a chunk is in the object store.
   */
  #writeWhole(
    route: Route,
    items: ResponseItem[],
    res: ServerResponse,
    signal: Cancel,
    open: OpenBody | undefined,
  ): void | Promise<void> {
    if (open?.tooLarge) throw new BodyTooLarge(`The request body is over ${this.maxBody} bytes`);
    const head = items[0] as ResponseHead | undefined;
    if (head === undefined) throw new Error(`the ingress ${route.ingress} answered nothing`);
    if (typeof head?.status !== 'number' || !Array.isArray(head.headers)) {
      throw new Error(`the ingress ${route.ingress} answered without a response head`);
    }
    for (let i = 1; i < items.length; i++) {
      if (!(items[i] instanceof Uint8Array)) {
        return (async () => {
          const chunks: Uint8Array[] = [];
          for (let j = 1; j < items.length; j++) {
            const item = items[j];
            chunks.push(
              item instanceof Uint8Array ? item : await this.options.get(item as ObjectRef<Uint8Array>),
            );
          }
          endWith(res, head, chunks, signal);
        })();
      }
    }
    endWith(res, head, items.slice(1) as Uint8Array[], signal);
  }

  /**
   * Writes the items to the client, the first (when `head` is undefined) as the response head,
   * and ends the response after the last when they are `last`. Resolves with the head, or null
   * when the client went away.
   */
  async #write(
    route: Route,
    items: ResponseItem[] | AsyncIterable<ResponseItem>,
    res: ServerResponse,
    signal: Cancel,
    open: OpenBody | undefined,
    head: ResponseHead | undefined,
    last: boolean,
  ): Promise<ResponseHead | null> {
    for await (const item of items) {
      if (signal.aborted) return null;
      if (head === undefined) {
        // The replica's answer to a body it could not read whole is the limit's 413.
        if (open?.tooLarge) throw new BodyTooLarge(`The request body is over ${this.maxBody} bytes`);
        head = item as ResponseHead;
        if (typeof head?.status !== 'number' || !Array.isArray(head.headers)) {
          throw new Error(`the ingress ${route.ingress} answered without a response head`);
        }
        writeHead(res, head);
        // Send the head on its own only when the body is not there within this turn (a streamed
        // body's first chunk may be a long time coming); else it goes out with the body.
        const headOnly = setImmediate(() => {
          if (!res.writableEnded && !res.destroyed) res.flushHeaders();
        });
        res.once('finish', () => clearImmediate(headOnly));
        continue;
      }
      const bytes = item instanceof Uint8Array ? item : await this.options.get(item as ObjectRef<Uint8Array>);
      if (!res.write(bytes)) await drained(res, signal);
    }
    if (signal.aborted) return null;
    if (head === undefined) throw new Error(`the ingress ${route.ingress} answered nothing`);
    if (last) res.end();
    return head;
  }
}

const noop = () => {};

/** Writes a whole response: head and body, in one write when the body is small. */
function endWith(res: ServerResponse, head: ResponseHead, chunks: Uint8Array[], signal: Cancel): void {
  if (signal.aborted) return;
  let size = 0;
  for (const chunk of chunks) size += chunk.byteLength;
  writeHead(res, head, size);
  if (size === 0) {
    res.end();
    return;
  }
  const body = chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks, size);
  // A small body as a latin1 string (byte for byte) leaves with the head in one write; as
  // bytes, node sends the two as a writev.
  if (size <= ONE_WRITE_BYTES)
    res.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1'), 'latin1');
  else res.end(body);
}

/** The head; with `wholeBody`, the body's length as Content-Length when the head has none. */
function writeHead(res: ServerResponse, head: ResponseHead, wholeBody?: number): void {
  // A flat [name, value, ...] list: node writes it as it is (repeated names stay separate lines)
  // without the object of names it would otherwise build and look through.
  const flat: string[] = [];
  let length = false;
  for (const [name, value] of head.headers) {
    const key = name.toLowerCase();
    if (HOP_BY_HOP.has(key)) continue;
    if (key === 'content-length') length = true;
    flat.push(name, value);
  }
  // writeHead fixes the framing now: without a length node would send the body chunked.
  if (wholeBody !== undefined && !length && bodyAllowed(res, head.status))
    flat.push('content-length', String(wholeBody));
  res.writeHead(head.status, head.statusText, flat);
}

/** Whether a response of this status to this request has a body to give a length (RFC 9110 8.6). */
function bodyAllowed(res: ServerResponse, status: number): boolean {
  return res.req.method !== 'HEAD' && status >= 200 && status !== 204 && status !== 304;
}

/** Neither header: the request has no body (RFC 9112 6.3), nothing to wait for. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return !((length === undefined || length === '0') && req.headers['transfer-encoding'] === undefined);
}

function headerPairs(req: IncomingMessage): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i] as string, raw[i + 1] as string]);
  return pairs;
}

function drained(res: ServerResponse, signal: Cancel): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      off();
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
    const off = signal.onAbort(done);
  });
}

/** The status for an error from the ingress call: 503 when serve could not place it, else 500. */
function fail(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy(error instanceof Error ? error : undefined);
    return;
  }
  const names = errorNames(error);
  const message = error instanceof Error ? error.message : String(error);
  if (names.some((n) => UNAVAILABLE.has(n))) {
    res.setHeader('retry-after', String(RETRY_AFTER_S));
    text(res, 503, `Service unavailable: ${message}`);
  } else if (names.includes('RequestTimeoutError')) text(res, 408, message);
  else text(res, 500, `Internal Server Error: ${message}`);
}

/** The error's class names, its causes' too (a TaskError wraps what the replica threw). */
function errorNames(error: unknown): string[] {
  const names: string[] = [];
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    names.push(e.name, (e.constructor as { errorName?: string }).errorName ?? e.constructor.name);
  }
  return names;
}

function text(res: ServerResponse, status: number, body: string, close = false): void {
  const bytes = Buffer.from(`${body}\n`);
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': bytes.byteLength,
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(bytes);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const bytes = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.byteLength });
  res.end(bytes);
}
