// The proxy's end of the direct channel to one replica (server.ts): one TCP connection on
// loopback, requests tagged with ids so many are in flight at once, answered in any order. When
// the connection fails or closes, every request on it rejects with ChannelClosedError and the
// channel is down for good; the router then calls the replica as an actor again (and learns
// there whether the replica died).
import { connect, type Socket } from 'node:net';
import type { HttpReply, RequestCall } from '../controller/types.js';
import type { SerializedRequest } from '../http/wire.js';
import { decodeReply, readFrames, writeHello, writeRequest } from './frames.js';

/** Replies can carry a response of up to the replica's inline limit, and one chunk more. */
const MAX_REPLY_FRAME_BYTES = 64 * 1024 * 1024;

/** The connection to the replica went away with the request on it (it may or may not have run). */
export class ChannelClosedError extends Error {
  override name = 'ChannelClosedError';
}

interface Pending {
  resolve(reply: HttpReply): void;
  reject(error: Error): void;
}

export class ChannelClient {
  readonly #socket: Socket;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #up = true;
  readonly ready: Promise<void>;

  constructor(host: string, port: number, token: string) {
    this.#socket = connect({ host, port, noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      this.#socket.once('connect', () => resolve());
      this.#socket.once('error', reject);
    });
    this.ready.catch(() => {});
    writeHello(this.#socket, token);
    readFrames(this.#socket, MAX_REPLY_FRAME_BYTES, (frame) => {
      let decoded: ReturnType<typeof decodeReply>;
      try {
        decoded = decodeReply(frame);
      } catch (error) {
        this.#socket.destroy(
          new Error(`the serve channel sent a malformed reply: ${(error as Error).message}`),
        );
        return;
      }
      this.#reply(decoded);
    });
    this.#socket.on('error', () => this.#socket.destroy());
    this.#socket.on('close', () => {
      this.#up = false;
      const error = new ChannelClosedError(`the serve channel to ${host}:${port} closed`);
      for (const p of this.#pending.values()) p.reject(error);
      this.#pending.clear();
    });
  }

  get up(): boolean {
    return this.#up;
  }

  http(call: RequestCall, request: SerializedRequest): Promise<HttpReply> {
    if (!this.#up) return Promise.reject(new ChannelClosedError('the serve channel is down'));
    const id = this.#nextId++;
    return new Promise<HttpReply>((resolve, reject) => {
      writeRequest(this.#socket, id, call, request);
      this.#pending.set(id, { resolve, reject });
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #reply(message: ReturnType<typeof decodeReply>): void {
    const pending = this.#pending.get(message.id);
    if (pending === undefined) {
      this.#socket.destroy(new Error('the serve channel answered a request it was not sent'));
      return;
    }
    this.#pending.delete(message.id);
    if ('error' in message) {
      const error = new Error(message.error.message);
      error.name = message.error.name;
      pending.reject(error);
      return;
    }
    pending.resolve(message.reply);
  }
}
