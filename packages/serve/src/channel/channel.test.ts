// The direct proxy↔replica channel over a real loopback socket: a client with the cluster token
// gets its replies (many in flight, answered out of order), a client with another token is cut
// off before any request reaches the handler, and a malformed request is answered with an error
// that says what is wrong, the handler never seeing it.
import { connect } from 'node:net';
import { waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import type { HttpReply } from '../controller/types.js';
import type { SerializedRequest } from '../http/wire.js';
import { ChannelClient, ChannelClosedError } from './client.js';
import { decodeReply, readFrames, writeHello } from './frames.js';
import { ChannelServer } from './server.js';

const TOKEN = 'a'.repeat(64);
const servers: ChannelServer[] = [];
const clients: ChannelClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) s.stopListening();
});

const request = (path: string): SerializedRequest => ({
  method: 'GET',
  url: `http://x${path}`,
  headers: [['accept', 'text/plain']],
  routePrefix: '/',
  body: null,
});

async function start(handled: string[]) {
  const server = new ChannelServer(TOKEN, async (call, req) => {
    handled.push(req.url);
    // The slow one answers after the fast one: replies match their requests by id.
    if (req.url.endsWith('/slow')) await new Promise((r) => setTimeout(r, 50));
    const reply: HttpReply = {
      rejected: false,
      items: [{ status: 200, headers: [] }, new TextEncoder().encode(`${call.method} ${req.url}`)],
      done: true,
      ongoing: 0,
    };
    return reply;
  });
  servers.push(server);
  return server.listen();
}

describe('the serve channel', () => {
  it('answers requests of a client with the token, many in flight on one connection', async () => {
    const handled: string[] = [];
    const port = await start(handled);
    const client = new ChannelClient('127.0.0.1', port, TOKEN);
    clients.push(client);
    await client.ready;
    const [slow, fast] = await Promise.all([
      client.http({ method: 'm', requestId: '1' }, request('/slow')),
      client.http({ method: 'm', requestId: '2' }, request('/fast')),
    ]);
    const text = (r: HttpReply) =>
      r.rejected ? 'rejected' : new TextDecoder().decode(r.items[1] as Uint8Array);
    expect(text(slow)).toBe('m http://x/slow');
    expect(text(fast)).toBe('m http://x/fast');
    expect(handled.sort()).toEqual(['http://x/fast', 'http://x/slow']);
  });

  it('cuts off a client with another token before its request is handled', async () => {
    const handled: string[] = [];
    const port = await start(handled);
    const client = new ChannelClient('127.0.0.1', port, 'b'.repeat(64));
    clients.push(client);
    await expect(client.http({ method: 'm', requestId: '1' }, request('/x'))).rejects.toBeInstanceOf(
      ChannelClosedError,
    );
    expect(client.up).toBe(false);
    expect(handled).toEqual([]);
  });

  it('carries every field of a request and a reply as they were', async () => {
    let seen: { call: unknown; req: SerializedRequest } | undefined;
    const reply: HttpReply = {
      rejected: false,
      items: [
        {
          status: 201,
          statusText: 'Créé',
          headers: [
            ['x-ünï', 'vâl'],
            ['set-cookie', 'a=1'],
          ],
        },
        new Uint8Array([0, 1, 255]),
        { status: 204, headers: [] },
      ],
      done: false,
      streamId: 42,
      ongoing: 3,
    };
    const server = new ChannelServer(TOKEN, async (call, req) => {
      seen = { call, req };
      return reply;
    });
    servers.push(server);
    const client = new ChannelClient('127.0.0.1', await server.listen(), TOKEN);
    clients.push(client);
    const sent: SerializedRequest = {
      method: 'POST',
      url: 'http://x/ä?q=1',
      headers: [
        ['content-type', 'text/plain; charset=utf-8'],
        ['x-e', ''],
      ],
      routePrefix: '/ä',
      body: new TextEncoder().encode('body ✓'),
    };
    expect(await client.http({ method: '__serve_http__', requestId: 'r-1' }, sent)).toEqual(reply);
    expect(seen).toEqual({ call: { method: '__serve_http__', requestId: 'r-1' }, req: sent });
  });

  it('answers a malformed request with an error naming what is wrong', async () => {
    const handled: string[] = [];
    const port = await start(handled);
    const socket = connect({ host: '127.0.0.1', port });
    const replies: unknown[] = [];
    readFrames(socket, 1024 * 1024, (frame) => replies.push(decodeReply(frame)));
    await new Promise((r) => socket.once('connect', r));
    writeHello(socket, TOKEN);
    // A request frame (kind 1, id 7) that ends inside its call.method: a length of 9 bytes, 1 there.
    const frame = Buffer.from([0, 0, 0, 10, 1, 0, 0, 0, 7, 0, 0, 0, 9, 109]);
    await new Promise((r) => setImmediate(r));
    socket.write(frame);
    await waitFor(() => replies.length > 0 || undefined, { what: 'the error reply', timeoutMs: 30_000 });
    socket.destroy();
    expect(replies[0]).toMatchObject({ id: 7, error: { name: 'TypeError' } });
    expect((replies[0] as { error: { message: string } }).error.message).toMatch(
      /malformed channel request frame: the frame ends inside a field/,
    );
    expect(handled).toEqual([]);
  });

  it('cuts off a client whose first frame is over the hello limit', async () => {
    const handled: string[] = [];
    const port = await start(handled);
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise((r) => socket.once('connect', r));
    const closed = new Promise((r) => socket.once('close', r));
    socket.write(Buffer.from([0, 0, 0x10, 0]));
    await closed;
    expect(handled).toEqual([]);
  });
});
