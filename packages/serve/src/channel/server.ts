// The replica's end of the direct channel: a loopback TCP server (127.0.0.1, a free port) that
// takes HTTP requests from proxies on the same node without an actor call, many in flight per
// connection. Only a client that sends the cluster token first is served. Each request is
// checked (shape and types) before it reaches the replica's HTTP handler; the replica enforces
// maxOngoingRequests and draining exactly as for actor calls (a `rejected` reply).
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { HttpReply, RequestCall } from '../controller/types.js';
import type { SerializedRequest } from '../http/wire.js';
import { HELLO_MAX_BYTES, readFrames, writeFrame } from './frames.js';

/** A request frame is at most this (bodies of LARGE_BODY_BYTES and more never use the channel). */
export const MAX_REQUEST_FRAME_BYTES = 1024 * 1024;

export interface ChannelAddress {
  host: string;
  port: number;
  nodeId: string;
}

export type HttpHandler = (call: RequestCall, request: SerializedRequest) => Promise<HttpReply>;

export class ChannelServer {
  readonly #server: Server;
  readonly #token: Buffer;

  constructor(token: string, handler: HttpHandler) {
    this.#token = Buffer.from(token);
    this.#server = createServer((socket) => this.#accept(socket, handler));
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve((this.#server.address() as { port: number }).port);
      });
    });
  }

  /** Takes no new connections (the open ones stay until the process ends). */
  stopListening(): void {
    this.#server.close();
  }

  #accept(socket: Socket, handler: HttpHandler): void {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    let authed = false;
    readFrames(
      socket,
      MAX_REQUEST_FRAME_BYTES,
      (message) => {
        if (!authed) {
          const token = (message as { hello?: unknown })?.hello;
          const given = typeof token === 'string' ? Buffer.from(token) : Buffer.alloc(0);
          if (given.byteLength !== this.#token.byteLength || !timingSafeEqual(given, this.#token)) {
            socket.destroy();
            return;
          }
          authed = true;
          return;
        }
        const checked = checkRequest(message);
        if (typeof checked === 'string') {
          const id = (message as { id?: unknown })?.id;
          if (typeof id === 'number')
            writeFrame(socket, { id, error: { name: 'TypeError', message: checked } });
          else socket.destroy();
          return;
        }
        handler(checked.call, checked.request).then(
          (reply) => {
            if (!socket.destroyed) writeFrame(socket, { id: checked.id, reply });
          },
          (error: Error) => {
            if (!socket.destroyed) {
              writeFrame(socket, {
                id: checked.id,
                error: { name: error?.name ?? 'Error', message: error?.message ?? String(error) },
              });
            }
          },
        );
      },
      HELLO_MAX_BYTES,
    );
  }
}

/** The request frame, or what is wrong with it. */
function checkRequest(m: unknown): { id: number; call: RequestCall; request: SerializedRequest } | string {
  const msg = m as { id?: unknown; call?: Partial<RequestCall>; request?: Partial<SerializedRequest> };
  if (msg === null || typeof msg !== 'object' || !Number.isInteger(msg.id))
    return 'a channel frame needs an integer id';
  const { call, request } = msg;
  if (typeof call?.method !== 'string' || typeof call.requestId !== 'string')
    return 'a channel request needs call.method and call.requestId strings';
  if (
    request === null ||
    typeof request !== 'object' ||
    typeof request.method !== 'string' ||
    typeof request.url !== 'string' ||
    typeof request.routePrefix !== 'string' ||
    !Array.isArray(request.headers) ||
    !request.headers.every(
      (h) => Array.isArray(h) && h.length === 2 && h.every((x) => typeof x === 'string'),
    ) ||
    !(request.body === null || request.body instanceof Uint8Array) ||
    request.bodyRef !== undefined ||
    request.bodyStream !== undefined
  ) {
    return 'a channel request needs method, url, routePrefix, headers as [name, value] strings and body null or bytes';
  }
  return { id: msg.id as number, call: call as RequestCall, request: request as SerializedRequest };
}
