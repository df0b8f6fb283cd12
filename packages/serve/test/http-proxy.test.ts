// The HTTP proxy end to end on a real local cluster: the proxy actor's node:http server on a
// free loopback port, the controller's route table, replica actors answering through
// serveHttp, and real HTTP clients. What a user notices: the longest route prefix wins, unknown
// routes are 404, a slow request 408, an oversize body 413, no free replica 503 with
// Retry-After, a throwing replica 500 (and it keeps serving), a timed-out request cancels the
// replica's fetch (request.signal aborts), a SIGKILLed replica's requests are retried on the
// other, responses stream, a large body
// goes both ways, connections are kept alive, and a Hono app works through serve.ingress.
import { createHash } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import * as tray from '@tray/core';
import * as serve from '@tray/serve';
import { freePort, waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const HONO_APP = new URL('./fixtures/hono-app.mjs', import.meta.url).href;
let base = '';
let port = 0;

const Named = serve.deployment(
  class Named {
    constructor(private readonly label: string) {}
    fetch(req: Request) {
      return Response.json({ app: this.label, path: new URL(req.url).pathname });
    }
  },
  { actorOptions: { numCpus: 0 } },
);

const Misc = serve.deployment(
  class Misc {
    release: (() => void) | undefined;
    seen = 0;
    waiting = 0;
    cancelled = 0;
    counts() {
      return { waiting: this.waiting, cancelled: this.cancelled };
    }
    async fetch(req: Request): Promise<Response> {
      const path = new URL(req.url).pathname;
      if (path === '/r/boom') throw new Error('the model file is missing');
      if (path === '/r/slow') return new Promise(() => {});
      if (path === '/r/release') {
        const r = this.release;
        this.release = undefined;
        r?.();
        return new Response(r === undefined ? 'nothing waiting' : 'released');
      }
      if (path === '/r/stream') {
        const self = this;
        let i = 0;
        const body = new ReadableStream<Uint8Array>(
          {
            async pull(c) {
              if (i === 3) return c.close();
              // Chunk i+1 is made only after the client asked for it with /r/release.
              if (i > 0) await new Promise<void>((resolve) => (self.release = resolve));
              c.enqueue(new TextEncoder().encode(`chunk${i++};`));
            },
          },
          { highWaterMark: 0 },
        );
        return new Response(body, { headers: { 'content-type': 'text/plain' } });
      }
      if (path === '/r/seen') return new Response(String(this.seen));
      if (path === '/r/wait') {
        // Answers only when cancelled: the proxy's timeout or a client that hung up.
        this.waiting++;
        // Under load the 408 may come before the request reached the replica: then its signal
        // is aborted already when fetch runs.
        if (!req.signal.aborted)
          await new Promise((r) => req.signal.addEventListener('abort', r, { once: true }));
        this.cancelled++;
        return new Response('cancelled');
      }
      if (path === '/r/upload') {
        // Counts the body as it arrives, so the client can see it read before the upload ends.
        const reader = (req.body as ReadableStream<Uint8Array>).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          this.seen += value.byteLength;
        }
        return new Response(`got ${this.seen}`);
      }
      if (path === '/r/big') {
        const got = new Uint8Array(await req.arrayBuffer());
        return new Response(
          got.map((b) => 255 - b),
          { headers: { 'x-got': String(got.byteLength) } },
        );
      }
      return new Response(`misc ${path}`);
    }
  },
  { actorOptions: { numCpus: 0 }, maxOngoingRequests: 8 },
);

const Busy = serve.deployment(
  class Busy {
    async fetch(): Promise<Response> {
      await new Promise((r) => setTimeout(r, 2_000));
      return new Response('done');
    }
  },
  { actorOptions: { numCpus: 0 }, maxOngoingRequests: 1, maxQueuedRequests: 1 },
);

const Pids = serve.deployment(
  class Pids {
    async fetch(): Promise<Response> {
      await new Promise((r) => setTimeout(r, 20));
      return new Response(String(process.pid));
    }
  },
  { numReplicas: 2, healthCheckPeriodMs: 300, actorOptions: { numCpus: 0 } },
);

beforeAll(async () => {
  await tray.init({ numCpus: 2 });
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  await serve.start({ http: { port, requestTimeoutMs: 3_000 }, proxyLocation: 'HeadOnly' });
  await serve.run(Named.bind('api'), { name: 'api', routePrefix: '/api' });
  await serve.run(Named.bind('v2'), { name: 'v2', routePrefix: '/api/v2' });
  await serve.run(Misc.bind(), { name: 'misc', routePrefix: '/r' });
  await serve.run(Busy.bind(), { name: 'busy', routePrefix: '/busy' });
  await serve.run(Pids.bind(), { name: 'pids', routePrefix: '/pids' });
  const Hono = serve.deployment(
    serve.ingress({ fetch: () => new Response('') }, { module: HONO_APP, exportName: 'mounted' }),
    {
      name: 'HonoIngress',
      actorOptions: { numCpus: 0 },
    },
  );
  await serve.run(Hono.bind(), { name: 'hono', routePrefix: '/hono' });
  // The proxy polls the route table: wait until it knows all six.
  await waitFor(
    async () => {
      const res = await fetch(`${base}/-/routes`).catch(() => undefined);
      return res?.ok === true && Object.keys((await res.json()) as object).length === 6;
    },
    { timeoutMs: 60_000, what: 'the proxy to serve the six routes' },
  );
});

afterAll(async () => {
  await serve.shutdown().catch(() => {});
  await tray.shutdown();
});

const get = async (path: string, init?: RequestInit) => {
  const res = await fetch(base + path, init);
  return { status: res.status, text: await res.text(), headers: res.headers };
};

describe('the serve HTTP proxy', () => {
  it('routes by the longest matching prefix, 404s unknown routes, and lists its routes', async () => {
    expect(JSON.parse((await get('/api/x')).text)).toEqual({ app: 'api', path: '/api/x' });
    expect(JSON.parse((await get('/api/v2/y')).text)).toEqual({ app: 'v2', path: '/api/v2/y' });
    expect(JSON.parse((await get('/api')).text)).toEqual({ app: 'api', path: '/api' });
    const none = await get('/apix');
    expect(none.status).toBe(404);
    expect(none.text).toContain("Path '/apix' not found");
    expect(JSON.parse((await get('/-/routes')).text)).toMatchObject({
      '/api': 'api',
      '/api/v2': 'v2',
      '/r': 'misc',
    });
    expect((await get('/-/healthz')).text.trim()).toBe('success');
  });

  it('answers 500 with the error when the replica throws, and the replica keeps serving', async () => {
    const boom = await get('/r/boom');
    expect(boom.status).toBe(500);
    expect(boom.text).toContain('the model file is missing');
    expect((await get('/r/ok')).text).toBe('misc /r/ok');
  });

  it('answers 408 past http.requestTimeoutMs', async () => {
    const slow = await get('/r/slow');
    expect(slow.status).toBe(408);
    expect((await get('/r/after')).status).toBe(200);
  });

  it('cancels the replica call when it answers 408: its fetch sees request.signal abort', async () => {
    const misc = serve.getDeploymentHandle('Misc', 'misc');
    const counts = async () => (await misc.counts.remote()) as { waiting: number; cancelled: number };
    // Under load a request can spend the 3 s in the proxy's router (a slow queue-length probe
    // counts as full) and never reach the replica; send until one has reached it.
    await waitFor(
      async () => {
        const before = await counts();
        const timedOut = await get('/r/wait');
        expect(timedOut.status).toBe(408);
        return (await counts()).waiting > before.waiting || undefined;
      },
      { what: 'a timed-out /r/wait request that reached the replica', timeoutMs: 120_000 },
    );
    // Every one that reached the replica sees its request.signal abort.
    await waitFor(
      async () => {
        const now = await counts();
        return now.cancelled === now.waiting || undefined;
      },
      { what: "the timed-out requests' fetches to see request.signal abort", timeoutMs: 60_000 },
    );
  });

  it('retries the HTTP requests of a SIGKILLed replica on the other (over the direct channel)', async () => {
    const statuses: Array<number | string> = [];
    const pids: number[] = [];
    let running = true;
    const loops = Array.from({ length: 6 }, async () => {
      while (running) {
        try {
          const res = await fetch(`${base}/pids`);
          const text = await res.text();
          statuses.push(res.status);
          if (res.status === 200) pids.push(Number(text));
        } catch (error) {
          statuses.push((error as Error).message);
        }
      }
    });
    try {
      const before = await waitFor(() => (new Set(pids).size === 2 ? new Set(pids) : undefined), {
        what: 'both replicas answering',
        timeoutMs: 60_000,
      });
      const victim = [...before][0] as number;
      process.kill(victim, 'SIGKILL');
      await waitFor(() => pids.slice(-30).some((p) => !before.has(p)) || undefined, {
        what: 'a replacement replica answering',
        timeoutMs: 90_000,
      });
    } finally {
      running = false;
      await Promise.all(loops);
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  });

  it('answers 413 for a body over the limit', async () => {
    const res = await get('/r/up', { method: 'POST', body: new Uint8Array(101 * 1024 * 1024) });
    expect(res.status).toBe(413);
  });

  it('answers 503 with Retry-After when no replica can take the request', async () => {
    // One replica that takes one request at a time and queues one more: of four requests sent together,
    // two are answered (one after the other), the others refused while those are in.
    const refused = await waitFor(
      async () => {
        const all = await Promise.all([0, 1, 2, 3].map(() => get('/busy')));
        const statuses = all.map((r) => r.status);
        return statuses.includes(200) && statuses.includes(503)
          ? all.find((r) => r.status === 503)
          : undefined;
      },
      { timeoutMs: 60_000, what: 'one request answered and one refused' },
    );
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.text).toMatch(/Service unavailable/);
  });

  it('streams a response: the client has each chunk before the replica makes the next', async () => {
    const res = await fetch(`${base}/r/stream`);
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    for (let i = 0; i < 3; i++) {
      if (i > 0) {
        // The replica waits for this release before it makes chunk i.
        await waitFor(async () => (await get('/r/release')).text === 'released', {
          timeoutMs: 30_000,
          what: `chunk ${i} to be waiting`,
        });
      }
      const { value } = await reader.read();
      expect(decoder.decode(value)).toBe(`chunk${i};`);
    }
    expect((await reader.read()).done).toBe(true);
  });

  it('streams a chunked upload: the replica reads the first part before the client sends the rest', async () => {
    const reply = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/r/upload',
          method: 'POST',
          headers: { 'transfer-encoding': 'chunked' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode as number, text }));
        },
      );
      req.on('error', reject);
      req.write('a'.repeat(1000));
      // The rest goes only once the replica has counted the first 1000 bytes.
      waitFor(async () => (await get('/r/seen')).text === '1000', {
        timeoutMs: 30_000,
        what: 'the replica to read the first chunk',
      }).then(() => {
        req.write('b'.repeat(2000));
        req.end('c'.repeat(500));
      }, reject);
    });
    expect(await reply).toEqual({ status: 200, text: 'got 3500' });
  });

  it('carries a 4 MiB body to the replica and a 4 MiB answer back (through the object store)', async () => {
    const big = new Uint8Array(4 * 1024 * 1024).map((_, i) => (i * 31) % 256);
    const res = await fetch(`${base}/r/big`, { method: 'POST', body: big });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-got')).toBe(String(big.byteLength));
    const back = new Uint8Array(await res.arrayBuffer());
    const expected = big.map((b) => 255 - b);
    expect(createHash('sha256').update(back).digest('hex')).toBe(
      createHash('sha256').update(expected).digest('hex'),
    );
  });

  it('keeps a connection alive across requests', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const reused: boolean[] = [];
    const ports = new Set<number>();
    for (let i = 0; i < 4; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, path: `/api/k${i}`, agent }, (res) => {
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
    expect(reused).toEqual([false, true, true, true]);
  });

  it('serves a Hono app through serve.ingress', async () => {
    expect(JSON.parse((await get('/hono/users/5?q=z')).text)).toEqual({ id: '5', q: 'z' });
    expect((await get('/hono')).text).toBe('hono root');
    expect((await get('/hono/echo', { method: 'POST', body: 'hey' })).text).toBe('echo:hey');
    expect((await get('/hono/nothing')).status).toBe(404);
  });
});
