// The replica's Response behaves as Node's in every way a user can see, and the replica sends
// a string or bytes body without making its stream.
import { beforeAll, describe, expect, it } from 'vitest';
import { installLazyResponse, LazyBody } from './lazy-response.js';
import { firstItems } from './replica-http.js';

const NodeResponse = globalThis.Response;
const bodyOf = (r: Response) =>
  (r as unknown as Record<symbol, { body: unknown }>)[
    Object.getOwnPropertySymbols(r).find((s) => s.description === 'state')!
  ].body;

beforeAll(() => {
  installLazyResponse();
});

describe('the lazy Response', () => {
  it('is installed once, a subclass of Node’s, and instanceof holds for Node’s own Responses', () => {
    expect(globalThis.Response).not.toBe(NodeResponse);
    installLazyResponse();
    expect(Object.getPrototypeOf(globalThis.Response)).toBe(NodeResponse);
    expect(new Response('x')).toBeInstanceOf(NodeResponse);
    expect(Response.json({ a: 1 })).toBeInstanceOf(Response);
    expect(new NodeResponse('x')).toBeInstanceOf(Response);
    expect({}).not.toBeInstanceOf(Response);
    expect(Object.prototype.toString.call(new Response('x'))).toBe('[object Response]');
  });

  it('reads as Node’s does: text, bytes, stream, bodyUsed, clone, headers and status', async () => {
    const r = new Response('héllo', { status: 201, statusText: 'Made', headers: { 'x-a': '1' } });
    expect([r.status, r.statusText, r.ok, r.headers.get('x-a'), r.headers.get('content-type')]).toEqual([
      201,
      'Made',
      true,
      '1',
      'text/plain;charset=UTF-8',
    ]);
    expect(r.bodyUsed).toBe(false);
    const twin = r.clone();
    expect(await r.text()).toBe('héllo');
    expect(r.bodyUsed).toBe(true);
    await expect(r.text()).rejects.toThrow(TypeError);
    expect(new Uint8Array(await twin.arrayBuffer())).toEqual(new Uint8Array(Buffer.from('héllo')));
    const streamed = new Response('chunk');
    const reader = streamed.body!.getReader();
    expect(Buffer.from((await reader.read()).value!).toString()).toBe('chunk');
    expect(await new Response('{"a":[1]}').json()).toEqual({ a: [1] });
    expect(new Response('x', { headers: { 'content-type': 'text/html' } }).headers.get('content-type')).toBe(
      'text/html',
    );
  });

  it('copies bytes it is made from, as Node’s does, and adds no content-type for them', async () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const r = new Response(bytes);
    bytes[0] = 9;
    expect(new Uint8Array(await r.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
    expect(new Response(new Uint8Array(1)).headers.get('content-type')).toBeNull();
  });

  it('refuses a body with a status that has none, and leaves other bodies to Node’s', async () => {
    expect(() => new Response('x', { status: 204 })).toThrow(TypeError);
    expect(new Response(null, { status: 204 }).body).toBeNull();
    expect(await new Response(new Blob(['b'])).text()).toBe('b');
    expect(await new Response(new URLSearchParams({ q: '1' })).text()).toBe('q=1');
  });
});

describe('a replica answering with a lazy Response', () => {
  it('sends its body without making its stream', async () => {
    let made: Response | undefined;
    const first = await firstItems(
      {
        fetch: () => {
          made = new Response('ok', { headers: { 'x-b': '2' } });
          return made;
        },
      },
      { method: 'GET', url: 'http://127.0.0.1:8000/', headers: [], routePrefix: '/', body: null },
      undefined as never,
      undefined,
      1024,
    );
    expect(first.items[0]).toMatchObject({ status: 200 });
    expect(Buffer.from(first.items[1] as Uint8Array).toString()).toBe('ok');
    const body = bodyOf(made!);
    expect(body).toBeInstanceOf(LazyBody);
    expect((body as LazyBody).materialized).toBe(false);
  });
});
