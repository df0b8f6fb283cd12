// The proxy's end of the direct channel to one replica (server.ts): one TCP connection on
// loopback, requests tagged with ids so many are in flight at once, answered in any order. When
// the connection fails or closes, every request on it rejects with ChannelClosedError and the
// channel is down for good; the router then calls the replica as an actor again (and learns
// there whether the replica died).
import { connect, type Socket } from 'node:net';
import type { HttpReply, RequestCall } from '../controller/types.js';
import type { SerializedRequest } from '../http/wire.js';
import { readFrames, writeFrame } from './frames.js';

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
    writeFrame(this.#socket, { hello: token });
    readFrames(this.#socket, MAX_REPLY_FRAME_BYTES, (message) => this.#reply(message));
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
      this.#pending.set(id, { resolve, reject });
      writeFrame(this.#socket, { id, call, request });
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #reply(message: unknown): void {
    const m = message as { id?: unknown; reply?: HttpReply; error?: { name?: unknown; message?: unknown } };
    const pending = typeof m?.id === 'number' ? this.#pending.get(m.id) : undefined;
    if (pending === undefined) {
      this.#socket.destroy(new Error('the serve channel answered a request it was not sent'));
      return;
    }
    this.#pending.delete(m.id as number);
    if (m.error !== undefined) {
      const error = new Error(String(m.error?.message));
      error.name = String(m.error?.name);
      pending.reject(error);
      return;
    }
    const reply = m.reply;
    if (
      reply === null ||
      typeof reply !== 'object' ||
      typeof reply.rejected !== 'boolean' ||
      typeof reply.ongoing !== 'number'
    ) {
      this.#socket.destroy(new Error('the serve channel sent a malformed reply'));
      pending.reject(new ChannelClosedError('the serve channel sent a malformed reply'));
      return;
    }
    if (!reply.rejected && (!Array.isArray(reply.items) || typeof reply.done !== 'boolean')) {
      this.#socket.destroy(new Error('the serve channel sent a malformed reply'));
      pending.reject(new ChannelClosedError('the serve channel sent a malformed reply'));
      return;
    }
    pending.resolve(reply);
  }
}
