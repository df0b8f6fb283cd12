// The gRPC helpers against real grpc-js servers on loopback: token auth, the ErrorInfo trailer,
// deadlines, server streaming and retries against a server that comes up late.
import { freePort } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { tray } from '../../generated/proto.js';
import { InternalKVGcsService, InternalPubSubGcsService } from '../../generated/services.js';
import { ErrorType, errorWithInfo, RemoteError } from '../errors.js';
import { createGrpcClient, type TrayGrpcClient } from './client.js';
import { createGrpcServer, GrpcStatus, type TrayGrpcServer } from './server.js';

const TOKEN = 'a-cluster-token-of-some-length';
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function kvServer(token?: string): TrayGrpcServer {
  const store = new Map<string, Uint8Array>();
  const server = createGrpcServer({ token });
  server.addService(InternalKVGcsService, {
    InternalKVPut: (req) => {
      const key = `${req.namespace}/${Buffer.from(req.key).toString()}`;
      const added = !store.has(key);
      if (added || req.overwrite) store.set(key, req.value);
      return { added };
    },
    InternalKVGet: (req) => {
      const value = store.get(`${req.namespace}/${Buffer.from(req.key).toString()}`);
      if (value === undefined) {
        throw errorWithInfo({ type: ErrorType.NOT_FOUND, message: 'no such key', reason: req.namespace });
      }
      return { found: true, value };
    },
    InternalKVExists: async () => {
      throw new TypeError('exists is broken on purpose');
    },
    // Never answers: the caller's deadline must end the call.
    InternalKVKeys: () => new Promise(() => {}),
  });
  cleanups.push(() => server.close(100));
  return server;
}

function client(address: string, options: Parameters<typeof createGrpcClient>[1] = {}): TrayGrpcClient {
  const c = createGrpcClient(address, options);
  cleanups.push(() => c.close());
  return c;
}

async function rejection(promise: Promise<unknown>): Promise<RemoteError> {
  const err = await promise.then(
    () => {
      throw new Error('the call succeeded but should have failed');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RemoteError);
  return err as RemoteError;
}

describe('gRPC token authentication', () => {
  it('serves a client that presents the right token', async () => {
    const port = await kvServer(TOKEN).listen();
    const c = client(`127.0.0.1:${port}`, { token: TOKEN });
    const put = await c.call(InternalKVGcsService.InternalKVPut, {
      namespace: 'ns',
      key: Buffer.from('k'),
      value: Buffer.from('v'),
    });
    expect(put.added).toBe(true);
    const got = await c.call(InternalKVGcsService.InternalKVGet, { namespace: 'ns', key: Buffer.from('k') });
    expect(got.found).toBe(true);
    expect(Buffer.from(got.value).toString()).toBe('v');
  });

  it('rejects a call without a token with UNAUTHENTICATED', async () => {
    const port = await kvServer(TOKEN).listen();
    const err = await rejection(client(`127.0.0.1:${port}`).call(InternalKVGcsService.InternalKVPut, {}));
    expect(err.grpcCode).toBe(GrpcStatus.UNAUTHENTICATED);
    expect(err.type).toBe(ErrorType.UNAUTHENTICATED);
    expect(err.message).toMatch(/requires the cluster token/);
  });

  it('rejects a wrong token with UNAUTHENTICATED, including one of the right length', async () => {
    const port = await kvServer(TOKEN).listen();
    for (const token of ['wrong', TOKEN.replace(/a/g, 'b')]) {
      const err = await rejection(
        client(`127.0.0.1:${port}`, { token }).call(InternalKVGcsService.InternalKVPut, {}),
      );
      expect(err.grpcCode).toBe(GrpcStatus.UNAUTHENTICATED);
      expect(err.message).toMatch(/token is wrong/);
    }
  });

  it('rejects a stream without the token before the handler runs', async () => {
    const server = createGrpcServer({ token: TOKEN });
    let ran = false;
    server.addService(InternalPubSubGcsService, {
      GcsSubscribe: (_req, call) => {
        ran = true;
        call.end();
      },
    });
    cleanups.push(() => server.close(100));
    const port = await server.listen();
    const stream = client(`127.0.0.1:${port}`, { token: 'nope' }).stream(
      InternalPubSubGcsService.GcsSubscribe,
      {},
    );
    const err = await rejection(
      (async () => {
        for await (const _ of stream) {
        }
      })(),
    );
    expect(err.grpcCode).toBe(GrpcStatus.UNAUTHENTICATED);
    expect(ran).toBe(false);
  });
});

describe('gRPC errors', () => {
  it('carries a handler ErrorInfo in the trailer, field for field', async () => {
    const port = await kvServer().listen();
    const err = await rejection(
      client(`127.0.0.1:${port}`).call(InternalKVGcsService.InternalKVGet, {
        namespace: 'abc',
        key: Buffer.from('x'),
      }),
    );
    expect(err.type).toBe(ErrorType.NOT_FOUND);
    expect(err.grpcCode).toBe(GrpcStatus.NOT_FOUND);
    expect(err.message).toBe('no such key');
    expect(err.info.reason).toBe('abc');
  });

  it('maps a plain thrown error through toErrorInfo', async () => {
    const port = await kvServer().listen();
    const err = await rejection(client(`127.0.0.1:${port}`).call(InternalKVGcsService.InternalKVExists, {}));
    expect(err.type).toBe(ErrorType.INVALID_ARGUMENT);
    expect(err.info.errorClass).toBe('TypeError');
    expect(err.message).toBe('exists is broken on purpose');
  });

  it('answers a method without a handler with UNIMPLEMENTED', async () => {
    const port = await kvServer().listen();
    const err = await rejection(client(`127.0.0.1:${port}`).call(InternalKVGcsService.InternalKVDel, {}));
    expect(err.grpcCode).toBe(GrpcStatus.UNIMPLEMENTED);
    expect(err.type).toBe(ErrorType.UNIMPLEMENTED);
  });

  it('fails a call past its deadline with DEADLINE_EXCEEDED', async () => {
    const port = await kvServer().listen();
    const c = client(`127.0.0.1:${port}`);
    const err = await rejection(
      c.call(InternalKVGcsService.InternalKVKeys, {}, { deadlineMs: 50, idempotent: false }),
    );
    expect(err.grpcCode).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    expect(err.type).toBe(ErrorType.DEADLINE_EXCEEDED);
  });

  it('retries an idempotent call that keeps timing out, then gives up', async () => {
    const port = await kvServer().listen();
    const attempts: number[] = [];
    const err = await rejection(
      client(`127.0.0.1:${port}`, { backoffMs: 1 }).call(
        InternalKVGcsService.InternalKVKeys,
        {},
        { deadlineMs: 20, retries: 2, onRetry: (n) => attempts.push(n) },
      ),
    );
    expect(attempts).toEqual([1, 2]);
    expect(err.grpcCode).toBe(GrpcStatus.DEADLINE_EXCEEDED);
  });

  it('rejects bad client input with a clear error', () => {
    expect(() => createGrpcClient('')).toThrow(/host:port/);
    const c = client('127.0.0.1:1');
    expect(() => c.stream(InternalKVGcsService.InternalKVGet, {})).toThrow(/use client.call/);
    expect(() => createGrpcServer().addService(InternalKVGcsService, { Nope: () => ({}) } as never)).toThrow(
      /Nope is not a method/,
    );
  });
});

describe('gRPC server streaming', () => {
  it('delivers every message in order and stops when the client cancels', async () => {
    const server = createGrpcServer({ token: TOKEN });
    let cancelled!: () => void;
    const serverSawCancel = new Promise<void>((resolve) => {
      cancelled = resolve;
    });
    server.addService(InternalPubSubGcsService, {
      GcsSubscribe: (req, call) => {
        for (let i = 1; i <= 5; i++) {
          call.write({ channel: req.channels[0], sequenceId: i, key: Buffer.from(req.subscriberId) });
        }
        call.on('cancelled', cancelled);
      },
    });
    cleanups.push(() => server.close(100));
    const port = await server.listen();
    const stream = client(`127.0.0.1:${port}`, { token: TOKEN }).stream(
      InternalPubSubGcsService.GcsSubscribe,
      {
        subscriberId: Buffer.from('sub'),
        channels: [tray.v1.ChannelType.NODE_INFO_CHANNEL],
      },
    );
    const seen: number[] = [];
    for await (const message of stream) {
      expect(message.channel).toBe(tray.v1.ChannelType.NODE_INFO_CHANNEL);
      expect(Buffer.from(message.key).toString()).toBe('sub');
      seen.push(message.sequenceId);
      if (seen.length === 5) stream.cancel();
    }
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    await serverSawCancel;
  });

  it('ends the iteration when the server ends the stream, and reports a handler error', async () => {
    const server = createGrpcServer();
    server.addService(InternalPubSubGcsService, {
      GcsSubscribe: async (req, call) => {
        if (req.channels.length === 0)
          throw errorWithInfo({ type: ErrorType.INVALID_ARGUMENT, message: 'no channels' });
        call.write({ sequenceId: 7 });
        call.end();
      },
    });
    cleanups.push(() => server.close(100));
    const port = await server.listen();
    const c = client(`127.0.0.1:${port}`);
    const got: number[] = [];
    for await (const m of c.stream(InternalPubSubGcsService.GcsSubscribe, { channels: [1] }))
      got.push(m.sequenceId);
    expect(got).toEqual([7]);
    const err = await rejection(
      (async () => {
        for await (const _ of c.stream(InternalPubSubGcsService.GcsSubscribe, {})) {
        }
      })(),
    );
    expect(err.type).toBe(ErrorType.INVALID_ARGUMENT);
    expect(err.message).toBe('no channels');
  });
});

describe('gRPC retries', () => {
  it('an idempotent call succeeds against a server that comes up after the first attempt failed', async () => {
    const port = await freePort();
    let server: TrayGrpcServer | undefined;
    let started: Promise<number> | undefined;
    const c = client(`127.0.0.1:${port}`, { token: TOKEN, backoffMs: 20 });
    const failures: RemoteError[] = [];
    const reply = await c.call(
      InternalKVGcsService.InternalKVPut,
      { namespace: 'n', key: Buffer.from('late') },
      {
        retries: 50,
        onRetry: (_n, err) => {
          failures.push(err);
          if (server === undefined) {
            server = kvServer(TOKEN);
            started = server.listen('127.0.0.1', port);
          }
        },
      },
    );
    expect(await started).toBe(port);
    expect(reply.added).toBe(true);
    expect(failures[0]!.grpcCode).toBe(GrpcStatus.UNAVAILABLE);
    expect(failures[0]!.type).toBe(ErrorType.UNAVAILABLE);
  });

  it('waitForReady: a call without retries waits for a server that is not listening yet', async () => {
    const port = await freePort();
    const c = client(`127.0.0.1:${port}`, { token: TOKEN });
    const waiting = c.call(
      InternalKVGcsService.InternalKVPut,
      { namespace: 'n', key: Buffer.from('early') },
      { waitForReady: true, retries: 0, deadlineMs: 20_000 },
    );
    // The same channel fails a plain call at once: nothing listens, and the first call waits.
    const plain = await rejection(c.call(InternalKVGcsService.InternalKVGet, {}, { retries: 0 }));
    expect(plain.grpcCode).toBe(GrpcStatus.UNAVAILABLE);
    const server = kvServer(TOKEN);
    expect(await server.listen('127.0.0.1', port)).toBe(port);
    expect((await waiting).added).toBe(true);
  });

  it('does not retry a call marked not idempotent', async () => {
    const port = await freePort();
    let retried = false;
    const err = await rejection(
      client(`127.0.0.1:${port}`).call(
        InternalKVGcsService.InternalKVPut,
        {},
        {
          idempotent: false,
          onRetry: () => {
            retried = true;
          },
        },
      ),
    );
    expect(err.grpcCode).toBe(GrpcStatus.UNAVAILABLE);
    expect(retried).toBe(false);
  });
});

describe('gRPC reconnect window', () => {
  it('a call with no retries left waits through the window for a server that comes back', async () => {
    const port = await freePort();
    let server: TrayGrpcServer | undefined;
    let failures = 0;
    const c = client(`127.0.0.1:${port}`, { token: TOKEN, backoffMs: 20, reconnectTimeoutMs: 60_000 });
    const reply = await c.call(
      InternalKVGcsService.InternalKVPut,
      { namespace: 'n', key: Buffer.from('back') },
      {
        retries: 0,
        onRetry: () => {
          // Comes up only after several failed attempts: more than `retries` allows.
          if (++failures === 3) {
            server = kvServer(TOKEN);
            void server.listen('127.0.0.1', port);
          }
        },
      },
    );
    expect(reply.added).toBe(true);
    expect(failures).toBeGreaterThanOrEqual(3);
  });

  it('past the window fails with UNAVAILABLE naming the server, its address and the setting', async () => {
    const port = await freePort();
    const c = client(`127.0.0.1:${port}`, {
      backoffMs: 20,
      reconnectTimeoutMs: 300,
      serverLabel: 'the GCS',
      reconnectSetting: 'SOME_SETTING',
    });
    const err = await rejection(c.call(InternalKVGcsService.InternalKVGet, {}, { retries: 0 }));
    expect(err.type).toBe(ErrorType.UNAVAILABLE);
    expect(err.message).toMatch(
      new RegExp(
        `/InternalKVGet: the GCS at 127\\.0\\.0\\.1:${port} could not be reached for 0\\.3 s \\(the reconnect window, SOME_SETTING\\); is it running\\?`,
      ),
    );
  });

  it('does not wait for a handler that answers UNAVAILABLE itself', async () => {
    const server = createGrpcServer({ token: TOKEN });
    server.addService(InternalKVGcsService, {
      InternalKVGet: () => {
        throw errorWithInfo({ type: ErrorType.UNAVAILABLE, message: 'not now' });
      },
    });
    cleanups.push(() => server.close(100));
    const port = await server.listen('127.0.0.1', 0);
    let retried = false;
    const c = client(`127.0.0.1:${port}`, { token: TOKEN, reconnectTimeoutMs: 60_000 });
    const err = await rejection(
      c.call(InternalKVGcsService.InternalKVGet, {}, { retries: 0, onRetry: () => (retried = true) }),
    );
    expect(err.message).toBe('not now');
    expect(retried).toBe(false);
  });
});
