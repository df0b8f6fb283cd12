import { Agent, request as httpRequest } from 'node:http';
import * as tray from '@tray/core';
import { waitFor } from '@tray/test-support';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BackPressureError, DeploymentUnavailableError } from '../errors.js';
import { type FetchHandler, serveHttp } from '../http/replica-http.js';
import { LARGE_BODY_BYTES, type SerializedRequest } from '../http/wire.js';
import { ProxyServer, type ProxyServerOptions } from './http-server.js';
import { type Route, RouteMatcher } from './route-table.js';

// The proxy's HTTP layer over real sockets on loopback, with the ingress run in this process
// through serveHttp (the proxy actor's handle calls are tested on a cluster in test/).

const servers: ProxyServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
beforeAll(async () => {
  await tray.init({ numCpus: 1 });
});
afterAll(async () => {
  await tray.shutdown();
});

async function start(
  apps: Record<string, FetchHandler>,
  routes: Route[],
  extra: Partial<ProxyServerOptions> = {},
) {
  const seen: SerializedRequest[] = [];
  const matcher = new RouteMatcher(routes);
  const server = new ProxyServer({
    host: '127.0.0.1',
    port: 0,
    routes: () => matcher,
    call: (route, req) => {
      seen.push(req);
      return serveHttp(apps[route.app] as FetchHandler, req);
    },
    put: (bytes) => tray.put(bytes),
    get: (ref) => tray.get(ref),
    ...extra,
  });
  servers.push(server);
  const port = await server.listen();
  return { base: `http://127.0.0.1:${port}`, port, seen, server };
}

const named = (name: string): FetchHandler => ({
  fetch: (req) => new Response(`${name} ${new URL(req.url).pathname}`),
});

describe('ProxyServer', () => {
  it('routes by the longest matching prefix on segment boundaries, and 404s what nothing matches', async () => {
    const routes = [
      { routePrefix: '/api', app: 'api', ingress: 'A' },
      { routePrefix: '/api/v2', app: 'v2', ingress: 'B' },
      { routePrefix: '/static/', app: 'static', ingress: 'C' },
    ];
    const { base } = await start({ api: named('api'), v2: named('v2'), static: named('static') }, routes);
    const get = async (path: string) => {
      const res = await fetch(base + path);
      return `${res.status} ${(await res.text()).trim()}`;
    };
    expect(await get('/api')).toBe('200 api /api');
    expect(await get('/api/v1/x')).toBe('200 api /api/v1/x');
    expect(await get('/api/v2/x?y=1')).toBe('200 v2 /api/v2/x');
    expect(await get('/static/a.css')).toBe('200 static /static/a.css');
    expect(await get('/apix')).toMatch(/^404 Path '\/apix' not found/);
    expect(await get('/')).toMatch(/^404/);
    const table = await (await fetch(`${base}/-/routes`)).json();
    expect(table).toEqual({ '/api/v2': 'v2', '/api': 'api', '/static': 'static' });
    expect(await get('/-/healthz')).toBe('200 success');
  });

  it('aborts the ingress call when the client hangs up mid-request (no timeout set)', async () => {
    let waiting = 0;
    let aborted = 0;
    const waiter: FetchHandler = {
      async fetch(req) {
        waiting++;
        await new Promise((r) => req.signal.addEventListener('abort', r, { once: true }));
        aborted++;
        return new Response('too late');
      },
    };
    const { base } = await start({ w: waiter }, [{ routePrefix: '/', app: 'w', ingress: 'W' }], {
      call: (_route, req, cancel) => serveHttp(waiter, req, undefined, cancel.signal),
    });
    const client = new AbortController();
    const hungUp = fetch(`${base}/wait`, { signal: client.signal }).catch((e: Error) => e.name);
    await waitFor(() => waiting === 1 || undefined, {
      what: 'the request at the ingress',
      timeoutMs: 30_000,
    });
    client.abort();
    expect(await hungUp).toBe('AbortError');
    await waitFor(() => aborted === 1 || undefined, {
      what: "the ingress's request.signal to abort",
      timeoutMs: 30_000,
    });
  });

  it('"/" takes every path no longer prefix takes, and the app sees its route prefix', async () => {
    const { base, seen } = await start({ root: named('root'), api: named('api') }, [
      { routePrefix: '/', app: 'root', ingress: 'R' },
      { routePrefix: '/api', app: 'api', ingress: 'A' },
    ]);
    expect(await (await fetch(`${base}/apix`)).text()).toBe('root /apix');
    expect(await (await fetch(`${base}/api/z`)).text()).toBe('api /api/z');
    expect(seen.map((r) => r.routePrefix)).toEqual(['/', '/api']);
  });

  it('answers 408 when the ingress takes longer than requestTimeoutMs, and keeps serving', async () => {
    const slow: FetchHandler = {
      fetch: (req) =>
        new URL(req.url).pathname === '/slow' ? new Promise<Response>(() => {}) : new Response('quick'),
    };
    const { base } = await start({ app: slow }, [{ routePrefix: '/', app: 'app', ingress: 'S' }], {
      requestTimeoutMs: 200,
    });
    const res = await fetch(`${base}/slow`);
    expect(res.status).toBe(408);
    expect(await res.text()).toContain('requestTimeoutMs');
    expect(await (await fetch(`${base}/fast`)).text()).toBe('quick');
  });

  it('answers 413 for a body over maxRequestBodyBytes, declared or chunked', async () => {
    const { base, seen } = await start(
      { app: named('app') },
      [{ routePrefix: '/', app: 'app', ingress: 'S' }],
      {
        maxRequestBodyBytes: 1000,
      },
    );
    const declared = await fetch(`${base}/up`, { method: 'POST', body: 'x'.repeat(1001) });
    expect(declared.status).toBe(413);
    expect(await declared.text()).toContain('http.maxRequestBodyBytes = 1000');
    const chunks = new ReadableStream({
      start(c) {
        for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(400));
        c.close();
      },
    });
    const chunked = await fetch(`${base}/up`, {
      method: 'POST',
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect((await fetch(`${base}/up`, { method: 'POST', body: 'x'.repeat(1000) })).status).toBe(200);
    expect(seen).toHaveLength(1);
  });

  it('answers 503 with Retry-After when serve has no replica for it, 500 when the replica throws', async () => {
    const errors: Record<string, Error> = {
      '/busy': new BackPressureError('every replica of A is at maxOngoingRequests'),
      '/gone': new DeploymentUnavailableError('A has no running replica'),
    };
    const matcher = new RouteMatcher([{ routePrefix: '/', app: 'app', ingress: 'A' }]);
    const { base } = await start({}, [], {
      routes: () => matcher,
      call: (_route, req) => {
        const error = errors[new URL(req.url).pathname];
        if (error !== undefined) throw error;
        return serveHttp(
          {
            fetch: () => {
              throw new Error('model exploded');
            },
          },
          req,
        );
      },
    });
    for (const path of ['/busy', '/gone']) {
      const res = await fetch(base + path);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await res.text()).toContain((errors[path] as Error).message);
    }
    const boom = await fetch(`${base}/x`);
    expect(boom.status).toBe(500);
    expect(await boom.text()).toContain('model exploded');
  });

  it('streams a response: the client has each chunk before the replica makes the next', async () => {
    let release: (() => void) | undefined;
    let made = 0;
    const app: FetchHandler = {
      fetch: () =>
        new Response(
          new ReadableStream(
            {
              async pull(c) {
                if (made === 3) return c.close();
                await new Promise<void>((r) => {
                  release = r;
                });
                c.enqueue(new TextEncoder().encode(`chunk${made++};`));
              },
            },
            { highWaterMark: 0 },
          ),
          { headers: { 'content-type': 'text/plain' } },
        ),
    };
    const { base } = await start({ app }, [{ routePrefix: '/', app: 'app', ingress: 'S' }]);
    const res = await fetch(`${base}/s`);
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    for (let i = 0; i < 3; i++) {
      await expect.poll(() => release).toBeDefined();
      const r = release as () => void;
      release = undefined;
      r();
      const { value } = await reader.read();
      expect(decoder.decode(value)).toBe(`chunk${i};`);
      expect(made).toBe(i + 1);
    }
    expect((await reader.read()).done).toBe(true);
  });

  it('sends a body of 100 KiB and more through the object store both ways, smaller ones inline', async () => {
    const app: FetchHandler = {
      async fetch(req) {
        const got = new Uint8Array(await req.arrayBuffer());
        return new Response(got.map((b) => 255 - b));
      },
    };
    const { base, seen } = await start({ app }, [{ routePrefix: '/', app: 'app', ingress: 'S' }]);
    const big = new Uint8Array(LARGE_BODY_BYTES * 10).map((_, i) => (i * 7) % 256);
    const res = await fetch(`${base}/big`, { method: 'POST', body: big });
    const back = new Uint8Array(await res.arrayBuffer());
    expect(back.byteLength).toBe(big.byteLength);
    expect(back.every((b, i) => b === 255 - (big[i] as number))).toBe(true);
    await fetch(`${base}/small`, { method: 'POST', body: new Uint8Array(LARGE_BODY_BYTES - 1) });
    expect(seen[0]?.bodyRef).toBeInstanceOf(tray.ObjectRef);
    expect(seen[0]?.body).toBeNull();
    expect(seen[1]?.bodyRef).toBeUndefined();
    expect(seen[1]?.body?.byteLength).toBe(LARGE_BODY_BYTES - 1);
  });

  it('streams a chunked upload to the ingress as it pulls, and 413s one that goes past the limit', async () => {
    // The ingress here pulls the body the way a replica does through the proxy actor's receiveBody.
    let server: ProxyServer | undefined;
    const pulls: number[] = [];
    const matcher = new RouteMatcher([{ routePrefix: '/', app: 'app', ingress: 'S' }]);
    const started = await start({}, [], {
      maxRequestBodyBytes: 1000,
      bodyStreams: { proxy: 'SERVE_PROXY_ACTOR-test', namespace: 'serve' },
      routes: () => matcher,
      call: async function* (_route, req) {
        expect(req.body).toBeNull();
        expect(req.bodyStream).toMatchObject({ proxy: 'SERVE_PROXY_ACTOR-test', namespace: 'serve' });
        let total = 0;
        for (;;) {
          const chunk = await (server as ProxyServer).pullBody((req.bodyStream as { id: string }).id);
          if (chunk === null) break;
          pulls.push(chunk.byteLength);
          total += chunk.byteLength;
        }
        yield { status: 200, headers: [] };
        yield new TextEncoder().encode(`got ${total}`);
      },
    });
    server = started.server;
    const chunked = (sizes: number[]) =>
      new ReadableStream({
        start(c) {
          for (const n of sizes) c.enqueue(new Uint8Array(n));
          c.close();
        },
      });
    const ok = await fetch(`${started.base}/up`, {
      method: 'POST',
      body: chunked([300, 300, 300]),
      duplex: 'half',
    } as RequestInit);
    expect(await ok.text()).toBe('got 900');
    expect(pulls.reduce((a, b) => a + b, 0)).toBe(900);
    const over = await fetch(`${started.base}/up`, {
      method: 'POST',
      body: chunked([400, 400, 400]),
      duplex: 'half',
    } as RequestInit);
    expect(over.status).toBe(413);
    expect(await over.text()).toContain('http.maxRequestBodyBytes = 1000');
  });

  it('keeps connections alive: sequential requests on a keep-alive agent reuse one socket', async () => {
    const { port } = await start({ app: named('app') }, [{ routePrefix: '/', app: 'app', ingress: 'S' }]);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const ports = new Set<number>();
    const reused: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, path: `/n${i}`, agent }, (res) => {
          ports.add(res.socket.localPort as number);
          reused.push(req.reusedSocket);
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end();
      });
    }
    agent.destroy();
    expect(ports.size).toBe(1);
    expect(reused).toEqual([false, true, true, true, true]);
  });

  it('sends an answer complete in one reply with a Content-Length, and ends the call when done', async () => {
    const bytes = (t: string) => new TextEncoder().encode(t);
    let closed = 0;
    const { port } = await start({}, [{ routePrefix: '/', app: 'a', ingress: 'A' }], {
      call: async () => ({
        items: [{ status: 201, headers: [['x-a', '1']] }, bytes('he'), bytes('llo')],
        close: () => closed++,
      }),
    });
    const res = await new Promise<{ status?: number; headers: Record<string, unknown>; body: string }>(
      (resolve, reject) => {
        httpRequest({ host: '127.0.0.1', port, path: '/x' }, (r) => {
          let body = '';
          r.on('data', (c) => (body += c));
          r.on('end', () => resolve({ status: r.statusCode, headers: r.headers, body }));
        })
          .on('error', reject)
          .end();
      },
    );
    expect(res).toMatchObject({ status: 201, body: 'hello' });
    expect(res.headers['content-length']).toBe('5');
    expect(res.headers['transfer-encoding']).toBeUndefined();
    expect(res.headers['x-a']).toBe('1');
    expect(closed).toBe(1);
  });

  it('sends a whole answer byte for byte, small (with its head in one write) and large', async () => {
    const small = Uint8Array.from({ length: 256 }, (_, i) => i);
    const large = Uint8Array.from({ length: 64 * 1024 }, (_, i) => (i * 7) % 256);
    const { port } = await start({}, [{ routePrefix: '/', app: 'a', ingress: 'A' }], {
      call: async (_route, req) => ({
        items: [{ status: 200, headers: [] }, req.url.endsWith('/small') ? small : large],
        close: () => {},
      }),
    });
    for (const [path, want] of [
      ['/small', small],
      ['/large', large],
    ] as const) {
      const got = await new Promise<Buffer>((resolve, reject) => {
        httpRequest({ host: '127.0.0.1', port, path }, (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => resolve(Buffer.concat(chunks)));
        })
          .on('error', reject)
          .end();
      });
      expect(got.equals(Buffer.from(want))).toBe(true);
    }
  });

  it('streams the rest of an answer after its first items, and ends the call when the client hangs up', async () => {
    const bytes = (t: string) => new TextEncoder().encode(t);
    let closed = 0;
    let aborted = false;
    const { port } = await start({}, [{ routePrefix: '/', app: 'a', ingress: 'A' }], {
      call: async (_route, _req, cancel) => ({
        items: [{ status: 200, headers: [] }, bytes('first;')],
        rest: (async function* () {
          yield bytes('second;');
          await new Promise<void>((r) => cancel.onAbort(r));
          aborted = true;
          yield bytes('never');
        })(),
        close: () => closed++,
      }),
    });
    const got = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/s' }, (r) => {
        let body = '';
        r.on('data', (c) => {
          body += c;
          // Both parts arrived while the call still runs: hang up.
          if (body.includes('second;')) {
            req.destroy();
            resolve(body);
          }
        });
      });
      req.on('error', () => {});
      req.on('close', () => reject(new Error('closed before the second part')));
      req.end();
    });
    expect(got).toBe('first;second;');
    await waitFor(() => (closed === 1 && aborted) || undefined, {
      what: 'the call ended after the client hung up',
      timeoutMs: 30_000,
    });
  });
});
