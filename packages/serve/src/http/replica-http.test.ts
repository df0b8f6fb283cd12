import * as tray from '@tray/core';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cancel } from '../handle/cancel.js';
import { ingress } from './ingress.js';
import { type FetchHandler, firstItems, serveHttp } from './replica-http.js';
import { LARGE_BODY_BYTES, type ResponseHead, type ResponseItem, type SerializedRequest } from './wire.js';

const HONO_APP = new URL('../../test/fixtures/hono-app.mjs', import.meta.url).href;

function request(path: string, init: Partial<SerializedRequest> = {}): SerializedRequest {
  return {
    method: 'GET',
    url: `http://127.0.0.1:8000${path}`,
    headers: [],
    routePrefix: '/',
    body: null,
    ...init,
  };
}

/** Runs one request through serveHttp and collects the head and the body (refs read from the store). */
async function call(instance: FetchHandler, req: SerializedRequest) {
  const items: ResponseItem[] = [];
  for await (const item of serveHttp(instance, req)) items.push(item);
  const head = items[0] as ResponseHead;
  const chunks: Uint8Array[] = [];
  for (const item of items.slice(1))
    chunks.push(item instanceof tray.ObjectRef ? await tray.get(item) : (item as Uint8Array));
  return { head, items, text: Buffer.concat(chunks).toString() };
}

const header = (head: ResponseHead, name: string) =>
  head.headers.filter(([n]) => n === name).map(([, v]) => v);

describe('serveHttp', () => {
  it('gives fetch the method, URL, query, headers and inline body, and returns status, headers and body', async () => {
    const app = {
      async fetch(req: Request) {
        const url = new URL(req.url);
        return new Response(
          `${req.method} ${url.pathname} q=${url.searchParams.get('q')} x=${req.headers.get('x-a')} body=${await req.text()}`,
          {
            status: 201,
            headers: { 'x-served': 'yes' },
          },
        );
      },
    };
    const { head, text } = await call(
      app,
      request('/items?q=1', {
        method: 'POST',
        headers: [
          ['x-a', 'b'],
          ['content-type', 'text/plain'],
        ],
        body: new TextEncoder().encode('hello'),
      }),
    );
    expect(head.status).toBe(201);
    expect(header(head, 'x-served')).toEqual(['yes']);
    expect(text).toBe('POST /items q=1 x=b body=hello');
  });

  it('keeps several Set-Cookie headers apart', async () => {
    const app = {
      fetch() {
        const headers = new Headers();
        headers.append('set-cookie', 'a=1; Path=/');
        headers.append('set-cookie', 'b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT');
        return new Response(null, { status: 204, headers });
      },
    };
    const { head, items } = await call(app, request('/'));
    expect(head.status).toBe(204);
    expect(header(head, 'set-cookie')).toEqual(['a=1; Path=/', 'b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT']);
    expect(items).toHaveLength(1);
  });

  it('streams: each chunk is yielded as the response produces it, before the next exists', async () => {
    // Each pull of the body stream waits here until the test feeds it a chunk (null ends the body).
    const pulls: Array<(chunk: string | null) => void> = [];
    const app = {
      fetch() {
        const body = new ReadableStream<Uint8Array>(
          {
            pull: (controller) =>
              new Promise<void>((resolve) => {
                pulls.push((chunk) => {
                  if (chunk === null) controller.close();
                  else controller.enqueue(new TextEncoder().encode(chunk));
                  resolve();
                });
              }),
          },
          { highWaterMark: 0 },
        );
        return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
      },
    };
    const gen = serveHttp(app, request('/stream'));
    const head = (await gen.next()).value as ResponseHead;
    expect(head.status).toBe(200);
    for (const [i, chunk] of ['one', 'two'].entries()) {
      const next = gen.next();
      await expect.poll(() => pulls.length).toBe(i + 1);
      pulls[i]?.(chunk);
      expect(Buffer.from((await next).value as Uint8Array).toString()).toBe(chunk);
      expect(pulls).toHaveLength(i + 1);
    }
    const end = gen.next();
    await expect.poll(() => pulls.length).toBe(3);
    pulls[2]?.(null);
    expect((await end).done).toBe(true);
  });

  it('answers a throwing fetch with 500 and its message, and the same instance serves the next request', async () => {
    class Flaky {
      n = 0;
      fetch(req: Request) {
        this.n++;
        if (new URL(req.url).pathname === '/boom') throw new RangeError('no such widget 42');
        return new Response(`ok ${this.n}`);
      }
    }
    const instance = new Flaky();
    const bad = await call(instance, request('/boom'));
    expect(bad.head.status).toBe(500);
    expect(bad.text).toContain('RangeError: no such widget 42');
    const good = await call(instance, request('/fine'));
    expect(good.head.status).toBe(200);
    expect(good.text).toBe('ok 2');
  });

  it('answers 500 saying what to return when fetch returns something that is not a Response', async () => {
    const { head, text } = await call(
      { fetch: () => ({ status: 200 }) as unknown as Response },
      request('/'),
    );
    expect(head.status).toBe(500);
    expect(text).toContain('not a Response');
    const none = await call({} as FetchHandler, request('/'));
    expect(none.head.status).toBe(500);
    expect(none.text).toContain('no fetch(request) method');
  });
});

describe("the ingress's request.signal", () => {
  it('is a Request whose signal aborts with the caller, and so do its clones and Requests made from it', async () => {
    const cancel = new Cancel();
    let seen: { req: Request; derived: Request[]; early: AbortSignal } | undefined;
    const app = {
      fetch(req: Request) {
        const derived = [req.clone(), new Request(req), new Request(req, { headers: { 'x-more': '1' } })];
        seen = { req, derived, early: req.signal };
        return new Response('ok');
      },
    };
    await firstItems(app, request('/'), undefined as never, cancel, 1024);
    const { req, derived, early } = seen!;
    expect(req).toBeInstanceOf(Request);
    expect(req.signal).toBe(early);
    expect([req, ...derived].map((r) => r.signal.aborted)).toEqual([false, false, false, false]);
    const reason = new Error('the client went away');
    cancel.abort(reason);
    expect([req, ...derived].map((r) => r.signal.aborted)).toEqual([true, true, true, true]);
    expect(req.signal.reason).toBe(reason);
  });

  it('is aborted already when the caller cancelled before the request was read', async () => {
    const cancel = new Cancel();
    cancel.abort(new Error('too late'));
    let aborted: boolean | undefined;
    await firstItems(
      {
        fetch(req: Request) {
          aborted = req.signal.aborted;
          return new Response(null);
        },
      },
      request('/'),
      undefined as never,
      cancel,
      1024,
    );
    expect(aborted).toBe(true);
  });
});

describe('the Request a GET is given', () => {
  it('is a whole Request: headers, body, clone, new Request(req) and its prototype all work', async () => {
    const cancel = new Cancel();
    let checks: unknown[] = [];
    const app = {
      async fetch(req: Request) {
        const url = req.url;
        const method = req.method;
        checks = [
          req instanceof Request,
          Object.prototype.toString.call(req),
          url,
          method,
          req.body,
          req.bodyUsed,
          req.headers.get('x-a'),
          req.cache,
          req.clone().url,
          new Request(req).headers.get('x-a'),
          new Request(req, { method: 'POST', body: 'b' }).method,
          await req.text(),
          req.bodyUsed,
          Request.prototype.clone.call(req).method,
        ];
        return new Response(`${method} ${new URL(url).pathname}`);
      },
    };
    const first = await firstItems(
      app,
      request('/a/b?q=1', { headers: [['x-a', 'one']] }),
      undefined as never,
      cancel,
      1024,
    );
    expect(Buffer.from(first.items[1] as Uint8Array).toString()).toBe('GET /a/b');
    expect(checks).toEqual([
      true,
      '[object Request]',
      'http://127.0.0.1:8000/a/b?q=1',
      'GET',
      null,
      false,
      'one',
      'default',
      'http://127.0.0.1:8000/a/b?q=1',
      'one',
      'POST',
      '',
      false,
      'GET',
    ]);
  });

  it('is refused where Request refuses it: a URL with credentials is a 500', async () => {
    const { head, text } = await call(
      { fetch: () => new Response('unreachable') },
      request('/', { url: 'http://user:pw@127.0.0.1:8000/' }),
    );
    expect(head.status).toBe(500);
    expect(text).toContain('credentials');
  });
});

describe('the Response body', () => {
  it('is the bytes a string, bytes, JSON, a blob, a clone or a stream give', async () => {
    const bytes = new Uint8Array([104, 105]);
    const cloned = new Response('twin');
    const cases: Array<[() => Response, string]> = [
      [() => new Response('caf\u00e9 \ud83d\ude00'), 'caf\u00e9 \ud83d\ude00'],
      [
        () => {
          const r = new Response(bytes);
          bytes[0] = 0; // Response copied the bytes it was made from
          return r;
        },
        'hi',
      ],
      [() => Response.json({ a: 1 }), '{"a":1}'],
      [() => cloned.clone(), 'twin'],
      [() => new Response(new Blob(['blob'])), 'blob'],
      [
        () =>
          new Response(
            new ReadableStream({
              start(c) {
                c.enqueue(new Uint8Array([111, 107]));
                c.close();
              },
            }),
          ),
        'ok',
      ],
    ];
    for (const [make, body] of cases) {
      const first = await firstItems({ fetch: make }, request('/'), undefined as never, undefined, 1024);
      expect(first.rest).toBeUndefined();
      expect(Buffer.concat(first.items.slice(1) as Uint8Array[]).toString()).toBe(body);
    }
    expect(await cloned.text()).toBe('twin');
  });
});

describe('firstItems', () => {
  it('gives the head and the body there at once, and the rest of a stream still to come as `rest`', async () => {
    const whole = await firstItems(
      { fetch: () => new Response('all of it') },
      request('/'),
      undefined as never,
      undefined,
      1024,
    );
    expect(whole.rest).toBeUndefined();
    expect(Buffer.from(whole.items[1] as Uint8Array).toString()).toBe('all of it');
    let release: (() => void) | undefined;
    const later = new Promise<void>((r) => (release = r));
    const app = {
      fetch: () =>
        new Response(
          new ReadableStream<Uint8Array>({
            async start(controller) {
              controller.enqueue(new TextEncoder().encode('now;'));
              await later;
              controller.enqueue(new TextEncoder().encode('later'));
              controller.close();
            },
          }),
        ),
    };
    const first = await firstItems(app, request('/'), undefined as never, undefined, 1024);
    expect(first.items.map((i) => (i instanceof Uint8Array ? Buffer.from(i).toString() : 'head'))).toEqual([
      'head',
      'now;',
    ]);
    expect(first.rest).toBeDefined();
    release?.();
    const rest: string[] = [];
    for (let r = await first.rest!.next(); !r.done; r = await first.rest!.next())
      rest.push(Buffer.from(r.value as Uint8Array).toString());
    expect(rest).toEqual(['later']);
  });
});

describe('serveHttp with the object store', () => {
  beforeAll(async () => {
    await tray.init({ numCpus: 1 });
  });
  afterAll(async () => {
    await tray.shutdown();
  });

  it('reads a request body from bodyRef and sends a large response body as an ObjectRef', async () => {
    const big = new Uint8Array(LARGE_BODY_BYTES * 3).map((_, i) => i % 251);
    const app = {
      async fetch(req: Request) {
        const got = new Uint8Array(await req.arrayBuffer());
        return new Response(got.reverse());
      },
    };
    const { head, items } = await call(app, request('/up', { method: 'PUT', bodyRef: await tray.put(big) }));
    expect(head.status).toBe(200);
    const refs = items.slice(1).filter((i) => i instanceof tray.ObjectRef);
    expect(refs.length).toBeGreaterThan(0);
    const parts: Uint8Array[] = [];
    for (const item of items.slice(1))
      parts.push(item instanceof tray.ObjectRef ? await tray.get(item) : (item as Uint8Array));
    expect(Buffer.concat(parts).equals(Buffer.from(big.slice().reverse()))).toBe(true);
  });
});

describe('serve.ingress', () => {
  it('adapts a Hono app: routes, path parameters, query and body', async () => {
    const app = new Hono();
    app.get('/users/:id', (c) => c.json({ id: c.req.param('id') }));
    app.post('/echo', async (c) => c.text(`echo:${await c.req.text()}`));
    const Ingress = ingress(app);
    const instance = new Ingress();
    expect((await call(instance, request('/users/7'))).text).toBe('{"id":"7"}');
    const echo = await call(
      instance,
      request('/echo', { method: 'POST', body: new TextEncoder().encode('hi') }),
    );
    expect(echo.text).toBe('echo:hi');
    expect((await call(instance, request('/missing'))).head.status).toBe(404);
  });

  it('by module: the class is self-contained source naming the module and export', () => {
    // It imports the app in the replica (its import() bound by core's code loading there); the
    // proxy tests run it in a real replica.
    const Ingress = ingress(new Hono(), { module: HONO_APP, exportName: 'app' });
    const source = Ingress.toString();
    expect(source).toContain(JSON.stringify(HONO_APP));
    expect(source).toContain('["app"]');
    expect(() => new Function(`return ${source}`)()).not.toThrow();
  });

  it('rejects what is not an app, and bad options, saying what it takes', () => {
    expect(() => ingress({} as never)).toThrow(/must have a fetch\(request: Request\) method/);
    expect(() => ingress(new Hono(), { module: '', exportName: 'app' })).toThrow(
      /module must be a non-empty string/,
    );
    expect(() => ingress(new Hono(), { module: 'x', exportName: 'app', extra: 1 } as never)).toThrow(
      /unknown option extra/,
    );
  });
});
