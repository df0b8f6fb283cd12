// PeerConnections against real framed servers on loopback: one connection per peer, shared;
// a peer on this node over its socket, on another node over TCP; a closed connection or a node
// the GCS marked dead is forgotten so the next use connects again; nothing opens after close().

import { waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionClosedError } from '../errors.js';
import { type FramedServer, listen } from './endpoint.js';
import { PeerConnections } from './peer-connections.js';
import { Cleanup, socketPath } from './test-support.js';

const TOKEN = 'peer-connections-token';
const HERE = 'aa'.repeat(28);
const THERE = 'bb'.repeat(28);
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function peer(target: string | { port: number }): Promise<FramedServer> {
  return cleanup.server(await listen(target, () => {}, { token: TOKEN }));
}

function tcpPort(server: FramedServer): number {
  if (typeof server.address === 'string') throw new Error('expected a TCP server');
  return server.address.port;
}

describe('PeerConnections', () => {
  it('shares one connection per peer: the socket on this node, TCP on another', async () => {
    const local = await peer(socketPath(cleanup));
    const remote = await peer({ port: 0 });
    const opened: string[] = [];
    const peers = new PeerConnections(TOKEN, (c) => opened.push(c.label), HERE);
    cleanup.add(() => peers.close());
    const socket = local.address as string;
    const here = { nodeId: Buffer.from(HERE, 'hex'), socketPath: socket, ip: '127.0.0.1', port: 1 };
    const there = {
      nodeId: Buffer.from(THERE, 'hex'),
      socketPath: '/nowhere',
      ip: '127.0.0.1',
      port: tcpPort(remote),
    };
    const [a, b] = await Promise.all([peers.get(here), peers.get(here)]);
    expect(a).toBe(b);
    const c = await peers.get(there);
    expect(c).not.toBe(a);
    expect(opened).toEqual([`worker at ${socket}`, `worker at 127.0.0.1:${tcpPort(remote)}`]);
    await waitFor(() => local.connections.size === 1 && remote.connections.size === 1, {
      what: 'both servers to see one',
    });
    expect(peers.remoteNodes()).toEqual(new Set([THERE]));
  });

  it('connects again after a connection closed, and closeNode cuts the dead node off', async () => {
    const remote = await peer({ port: 0 });
    const peers = new PeerConnections(TOKEN, () => {}, HERE, 'raylet', { keepAliveMs: 10_000 });
    cleanup.add(() => peers.close());
    const there = { nodeId: Buffer.from(THERE, 'hex'), ip: '127.0.0.1', port: tcpPort(remote) };
    const first = await peers.get(there);
    for (const c of remote.connections) c.destroy();
    await waitFor(() => first.closed, { what: 'the first connection to close' });
    const second = await peers.get(there);
    expect(second).not.toBe(first);
    expect(peers.closeNode(THERE)).toBe(1);
    await waitFor(() => second.closed, { what: 'closeNode to close the connection' });
    expect(peers.remoteNodes()).toEqual(new Set());
  });

  it('refuses new connections once closed, with the error it was given', async () => {
    const remote = await peer({ port: 0 });
    const peers = new PeerConnections(TOKEN, () => {}, HERE, 'raylet', {
      closedError: () => new ConnectionClosedError('the raylet is stopping'),
      destroyOnClose: true,
    });
    const open = await peers.get({
      ip: '127.0.0.1',
      port: tcpPort(remote),
      nodeId: Buffer.from(THERE, 'hex'),
    });
    peers.close();
    await waitFor(() => open.closed, { what: 'close() to cut the open connection' });
    await expect(peers.get({ ip: '127.0.0.1', port: tcpPort(remote) })).rejects.toThrow(
      'the raylet is stopping',
    );
  });
});
