// The replica's end of the direct channel: a loopback TCP server (127.0.0.1, a free port) that
// takes HTTP requests from proxies on the same node without an actor call, many in flight per
// connection. Only a client that sends the cluster token first is served. Each request is
// checked (shape and types) before it reaches the replica's HTTP handler; the replica enforces
// maxOngoingRequests and draining exactly as for actor calls (a `rejected` reply).
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { HttpReply, RequestCall } from '../controller/types.js';
import type { SerializedRequest } from '../http/wire.js';
import { decodeHello, decodeRequest, HELLO_MAX_BYTES, readFrames, writeError, writeReply } from './frames.js';

/** A request frame is at most this (bodies of LARGE_BODY_BYTES and more never use the channel). */
export const MAX_REQUEST_FRAME_BYTES = 1024 * 1024;

export interface ChannelAddress {
  host: string;
  port: number;
  nodeId: string;
}

/** The replica's answer; a reply (not a promise) when it had one at once. */
export type HttpHandler = (call: RequestCall, request: SerializedRequest) => HttpReply | Promise<HttpReply>;

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
    const answer = (id: number, reply: HttpReply) => {
      if (socket.destroyed) return;
      try {
        writeReply(socket, id, reply);
      } catch (error) {
        writeError(socket, id, 'TypeError', (error as Error).message);
      }
    };
    const fail = (id: number, error: Error) => {
      if (!socket.destroyed) writeError(socket, id, error?.name ?? 'Error', error?.message ?? String(error));
    };
    readFrames(
      socket,
      MAX_REQUEST_FRAME_BYTES,
      (frame) => {
        if (!authed) {
          const token = decodeHello(frame);
          const given = token === undefined ? Buffer.alloc(0) : Buffer.from(token);
          if (given.byteLength !== this.#token.byteLength || !timingSafeEqual(given, this.#token)) {
            socket.destroy();
            return;
          }
          authed = true;
          return;
        }
        const decoded = decodeRequest(frame);
        if ('problem' in decoded) {
          if (decoded.id !== undefined) writeError(socket, decoded.id, 'TypeError', decoded.problem);
          else socket.destroy();
          return;
        }
        const { id } = decoded;
        let reply: HttpReply | Promise<HttpReply>;
        try {
          reply = handler(decoded.call, decoded.request);
        } catch (error) {
          fail(id, error as Error);
          return;
        }
        if (reply instanceof Promise)
          reply.then(
            (got) => answer(id, got),
            (error: Error) => fail(id, error),
          );
        else answer(id, reply);
      },
      HELLO_MAX_BYTES,
    );
  }
}
