// The framed transport over real Unix and TCP sockets: pipelining, errors, tokens, timeouts,
// notifications, and a server that survives peers sending oversized frames or garbage.
import { randomBytes } from 'node:crypto';
import { createConnection, type Socket } from 'node:net';
import { waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { tray } from '../../generated/proto.js';
import { InternalKVGcsService } from '../../generated/services.js';
import {
  ConnectionClosedError,
  ErrorType,
  errorWithInfo,
  RemoteError,
  RequestTimeoutError,
} from '../errors.js';
import type { Connection } from './connection.js';
import { connect, type FramedServer, type ListenOptions, listen, type Target } from './endpoint.js';
import { encodeFrame, FrameKind } from './frame.js';
import { Cleanup, socketPath } from './test-support.js';

const { InternalKVGet, InternalKVPut, InternalKVDel, InternalKVKeys, InternalKVExists } =
  InternalKVGcsService;
const TOKEN = 'framed-test-token';
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A server with the handlers the tests use; `notified` collects InternalKVPut notifications. */
async function kvServer(target: Target, options: ListenOptions = {}) {
  const notified: string[] = [];
  const server = await listen(
    target,
    (connection) => {
      connection.handle(InternalKVGet, (req) => ({ found: true, value: req.key }));
      connection.handle(InternalKVExists, async (req) => {
        await new Promise((r) => setImmediate(r));
        return { exists: req.key.length > 0 };
      });
      connection.handle(InternalKVDel, (req) => {
        throw errorWithInfo({
          type: ErrorType.NOT_FOUND,
          message: `no key in ${req.namespace}`,
          reason: 'test',
        });
      });
      connection.handle(InternalKVKeys, () => new Promise(() => {}));
      connection.handleNotify(InternalKVPut, (req) => {
        notified.push(req.namespace);
      });
    },
    options,
  );
  cleanup.server(server);
  return { server, notified };
}

async function client(target: FramedServer['address'], token?: string): Promise<Connection> {
  return cleanup.connection(await connect(target, { token }));
}

const transports: [string, () => Target][] = [
  ['unix socket', () => socketPath(cleanup)],
  ['tcp', () => ({ port: 0 })],
];

describe.each(transports)('framed transport over %s', (_name, target) => {
  it('keeps order and bytes when large payloads (written as they are) mix with small frames in one tick', async () => {
    const { server } = await kvServer(target(), { token: TOKEN });
    const c = await client(server.address, TOKEN);
    const sizes = [10, 1 << 20, 7, 300 * 1024, 64 * 1024, 64 * 1024 - 1, 3, 5 << 20, 1];
    const keys = sizes.map((n, i) => randomBytes(n).fill(i, 0, 1));
    const replies = await Promise.all(keys.map((key) => c.request(InternalKVGet, { key })));
    replies.forEach((reply, i) => {
      expect(Buffer.from(reply.value).equals(keys[i]!)).toBe(true);
    });
  });

  it('writes a long synchronous run of requests in pieces as it runs, not all at the end of the tick', async () => {
    const { server } = await kvServer(target(), { token: TOKEN });
    const c = await client(server.address, TOKEN);
    await c.request(InternalKVGet, { key: Buffer.from('warm') });
    const before = c.socket.bytesWritten;
    const replies: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) replies.push(c.request(InternalKVGet, { key: Buffer.from(`a${i}`) }));
    // A few requests wait for the end of the tick, to go out in one write...
    expect(c.socket.bytesWritten).toBe(before);
    for (let i = 0; i < 1000; i++) replies.push(c.request(InternalKVGet, { key: Buffer.from(`b${i}`) }));
    // ...a long run does not: most of it is on its way before the loop that made it returns.
    const during = c.socket.bytesWritten - before;
    expect(during).toBeGreaterThan(0);
    expect((await Promise.all(replies)).length).toBe(1010);
    expect(during).toBeGreaterThan((c.socket.bytesWritten - before) / 2);
  });

  it('hands replies to requestCallback with their context, errors included, and fails them when the peer goes', async () => {
    const { server } = await kvServer(target(), { token: TOKEN });
    const c = await client(server.address, TOKEN);
    const got: { context: number; err: Error | null; value?: string }[] = [];
    const n = 1000;
    await new Promise<void>((done) => {
      for (let i = 0; i < n; i++) {
        const method = i % 10 === 9 ? InternalKVDel : InternalKVGet;
        const payload = method.encodeRequest({ namespace: 'ns', key: Buffer.from(`k${i}`) });
        c.requestCallback(
          method as typeof InternalKVGet,
          payload,
          (err, reply, context: number) => {
            got.push({ context, err, value: reply ? Buffer.from(reply.value).toString() : undefined });
            if (got.length === n) done();
          },
          i,
        );
      }
    });
    expect(got.map((g) => g.context)).toEqual(Array.from({ length: n }, (_, i) => i));
    for (const g of got) {
      if (g.context % 10 === 9) {
        expect(g.err).toBeInstanceOf(RemoteError);
        expect((g.err as RemoteError).info.type).toBe(ErrorType.NOT_FOUND);
      } else {
        expect(g.err).toBeNull();
        expect(g.value).toBe(`k${g.context}`);
      }
    }

    // A request that is never answered fails when the server goes away; one sent on the closed
    // connection fails too, after the call returned (never from inside it).
    const hung = new Promise<Error | null>((resolve) =>
      c.requestCallback(InternalKVKeys, InternalKVKeys.encodeRequest({}), (err) => resolve(err), 0),
    );
    await waitFor(() => server.connections.size === 1, { what: 'the server sees the client' });
    for (const peer of server.connections) peer.destroy();
    expect(await hung).toBeInstanceOf(ConnectionClosedError);
    let calledBack = false;
    const late = new Promise<Error | null>((resolve) =>
      c.requestCallback(
        InternalKVGet,
        InternalKVGet.encodeRequest({}),
        (err) => {
          calledBack = true;
          resolve(err);
        },
        0,
      ),
    );
    expect(calledBack).toBe(false);
    expect(await late).toBeInstanceOf(ConnectionClosedError);
  });

  it('answers thousands of pipelined requests, each with its own reply', async () => {
    const { server } = await kvServer(target(), { token: TOKEN });
    const c = await client(server.address, TOKEN);
    const n = 5000;
    const replies = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        i % 2 === 0
          ? c.request(InternalKVGet, { key: Buffer.from(`key-${i}`) })
          : c.request(InternalKVExists, { key: Buffer.from(`k${i}`) }),
      ),
    );
    replies.forEach((reply, i) => {
      if (i % 2 === 0)
        expect(Buffer.from((reply as { value: Uint8Array }).value).toString()).toBe(`key-${i}`);
      else expect((reply as { exists: boolean }).exists).toBe(true);
    });
    expect(c.inFlight).toBe(0);
  });

  it('sends a request the caller encoded itself (requestEncoded) like any other', async () => {
    const { server } = await kvServer(target(), { token: TOKEN });
    const c = await client(server.address, TOKEN);
    const payload = InternalKVGet.encodeRequest({ key: Buffer.from('pre-encoded') });
    const reply = await c.requestEncoded(InternalKVGet, payload);
    expect(Buffer.from(reply.value).toString()).toBe('pre-encoded');
  });

  it('carries a 4 MiB payload both ways', async () => {
    const { server } = await kvServer(target());
    const c = await client(server.address);
    const big = randomBytes(4 * 1024 * 1024);
    const reply = await c.request(InternalKVGet, { key: big });
    expect(Buffer.compare(Buffer.from(reply.value), big)).toBe(0);
  });

  it('turns a handler error into a RemoteError with its type and message', async () => {
    const { server } = await kvServer(target());
    const c = await client(server.address);
    const err = await c.request(InternalKVDel, { namespace: 'jobs' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).type).toBe(ErrorType.NOT_FOUND);
    expect((err as RemoteError).message).toBe('no key in jobs');
    expect((err as RemoteError).info.reason).toBe('test');
  });

  it('answers an unknown method with an error and keeps the connection up', async () => {
    const server = cleanup.server(await listen(target(), () => {}));
    const c = await client(server.address);
    const err = await c.request(InternalKVGet, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).message).toMatch(/does not serve method/);
    expect(c.closed).toBe(false);
    const [conn] = server.connections;
    conn!.handle(InternalKVGet, (req) => ({ found: true, value: req.key }));
    expect((await c.request(InternalKVGet, { key: Buffer.from('now') })).found).toBe(true);
  });

  it('times out a request that gets no reply, and the connection keeps working', async () => {
    const { server } = await kvServer(target());
    const c = await client(server.address);
    const err = await c.request(InternalKVKeys, {}, { timeoutMs: 30 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestTimeoutError);
    expect((err as Error).message).toMatch(/InternalKVKeys got no reply within 30 ms/);
    expect((await c.request(InternalKVGet, { key: Buffer.from('x') })).found).toBe(true);
  });

  it('delivers notifications both ways, in order', async () => {
    const { server, notified } = await kvServer(target());
    const c = await client(server.address);
    const fromServer: string[] = [];
    c.handleNotify(InternalKVPut, (req) => {
      fromServer.push(req.namespace);
    });
    for (let i = 0; i < 100; i++) expect(c.notify(InternalKVPut, { namespace: `n${i}` })).toBe(true);
    await waitFor(() => notified.length === 100, { what: 'the server to receive 100 notifications' });
    expect(notified).toEqual(Array.from({ length: 100 }, (_, i) => `n${i}`));
    const [serverSide] = server.connections;
    serverSide!.notify(InternalKVPut, { namespace: 'back' });
    await waitFor(() => fromServer.length === 1, { what: 'the client to receive a notification' });
    expect(fromServer).toEqual(['back']);
  });

  it('requires the token: none or a wrong one is rejected, the right one is served', async () => {
    const { server } = await kvServer(target(), { token: TOKEN });
    for (const token of [undefined, 'wrong-token', TOKEN.toUpperCase()]) {
      const c = await client(server.address, token);
      const err = await c.request(InternalKVGet, {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectionClosedError);
      expect((err as Error).message).toMatch(/cluster token/);
    }
    const good = await client(server.address, TOKEN);
    expect((await good.request(InternalKVGet, { key: Buffer.from('ok') })).found).toBe(true);
  });

  it('cuts off a connection that never sends the token', async () => {
    const { server } = await kvServer(target(), { token: TOKEN, helloTimeoutMs: 50 });
    const raw = await rawSocket(server.address);
    expect((await untilClosed(raw)).length).toBe(0);
    const good = await client(server.address, TOKEN);
    expect((await good.request(InternalKVGet, { key: Buffer.from('ok') })).found).toBe(true);
  });

  it('rejects an oversized frame with a clear error and keeps serving other connections', async () => {
    const { server } = await kvServer(target(), { maxFrameBytes: 64 * 1024 });
    const other = await client(server.address);
    const c = await client(server.address);
    const err = await c.request(InternalKVGet, { key: Buffer.alloc(100 * 1024) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as Error).message).toMatch(/exceeds the limit of 65536 bytes \(maxFrameBytes\)/);
    expect(c.closed).toBe(true);
    expect((await other.request(InternalKVGet, { key: Buffer.from('still') })).found).toBe(true);
    const fresh = await client(server.address);
    expect((await fresh.request(InternalKVGet, { key: Buffer.alloc(1000) })).found).toBe(true);
  });

  it('closes a connection that sends random bytes and keeps serving others', async () => {
    const { server } = await kvServer(target(), { token: TOKEN });
    const good = await client(server.address, TOKEN);
    const open = await kvServer(target());
    const goodOpen = await client(open.server.address);
    for (const seed of [1, 2, 3, 42, 1234]) {
      for (const address of [server.address, open.server.address]) {
        const raw = await rawSocket(address);
        raw.write(pseudoRandomBytes(seed, 16 * 1024));
        await untilClosed(raw);
      }
    }
    expect((await goodOpen.request(InternalKVGet, { key: Buffer.from('alive') })).found).toBe(true);
    // A well-formed frame from a peer that skipped HELLO: told why, then cut off.
    const raw = await rawSocket(server.address);
    raw.write(encodeFrame(FrameKind.REQUEST, 12345, 1, Buffer.from([1, 2, 3])));
    const answer = await untilClosed(raw);
    expect(answer[4]).toBe(FrameKind.ERROR);
    const info = tray.v1.ErrorInfo.decode(answer.subarray(16));
    expect(info.type).toBe(ErrorType.UNAUTHENTICATED);
    expect(info.message).toMatch(/cluster token/);
    expect((await good.request(InternalKVGet, { key: Buffer.from('alive') })).found).toBe(true);
    await waitFor(() => server.connections.size === 1, { what: 'the server to drop the bad connections' });
  });

  it('fails pending requests with ConnectionClosedError when the server closes', async () => {
    const { server } = await kvServer(target());
    const c = await client(server.address);
    const pending = Array.from({ length: 100 }, () => c.request(InternalKVKeys, {}).catch((e: unknown) => e));
    await waitFor(() => server.connections.size === 1, { what: 'the server to accept' });
    // Make sure the requests reached the server before it goes away.
    await c.request(InternalKVGet, {});
    await server.close();
    for (const err of await Promise.all(pending)) expect(err).toBeInstanceOf(ConnectionClosedError);
    const late = await c.request(InternalKVGet, {}).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(ConnectionClosedError);
  });
});

describe('connecting', () => {
  it('says where it could not connect', async () => {
    const path = socketPath(cleanup, 'nobody-here');
    await expect(connect(path)).rejects.toThrow(new RegExp(`cannot connect to ${path}`));
  });

  it('binds TCP servers to loopback by default', async () => {
    const { server } = await kvServer({ port: 0 });
    expect((server.address as { host: string }).host).toBe('127.0.0.1');
  });
});

function rawSocket(address: FramedServer['address']): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      typeof address === 'string' ? createConnection(address) : createConnection(address.port, address.host);
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
    cleanup.add(() => socket.destroy());
  });
}

/** Everything the server sent until it closed the socket. */
function untilClosed(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  return new Promise((resolve) => socket.once('close', () => resolve(Buffer.concat(chunks))));
}

/** Reproducible noise (xorshift32), so a failure can be replayed. */
function pseudoRandomBytes(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
