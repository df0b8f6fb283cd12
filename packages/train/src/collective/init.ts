// initCollectiveGroup: what every member calls to make a group. Listens on its node's address,
// registers it with the group's rendezvous actor, then dials every lower rank and accepts every
// higher one, authenticating each connection (handshake.ts). Resolves with the connected group
// once it has a connection to every other member; rank 0 then removes the rendezvous actor.
// When the rendezvous shows every member on this node, the group gets a shared region (shm.ts).
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import * as tray from '@tray/core';
import { CollectiveGroupError } from './errors.js';
import { Group } from './group.js';
import { acceptHandshake, dialHandshake, type HandshakeParams } from './handshake.js';
import { Peer } from './peer.js';
import { rendezvous } from './rendezvous.js';
import { crossAddon, SameNode } from './same-node.js';
import { ShmRegion } from './shm.js';
import type { CollectiveGroup, CollectiveGroupSpec } from './types.js';

const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_WORLD_SIZE = 4096;

function checkSpec(spec: CollectiveGroupSpec): void {
  const where = (detail: string) =>
    new CollectiveGroupError(String(spec?.name), 'init', undefined, `bad CollectiveGroupSpec: ${detail}`);
  if (typeof spec !== 'object' || spec === null) throw where('pass { name, worldSize, rank }');
  if (typeof spec.name !== 'string' || spec.name.length === 0 || spec.name.length > 200) {
    throw where(
      `name must be a non-empty string of at most 200 characters, got ${JSON.stringify(spec.name)}`,
    );
  }
  if (!Number.isInteger(spec.worldSize) || spec.worldSize < 1 || spec.worldSize > MAX_WORLD_SIZE) {
    throw where(`worldSize must be an integer in [1, ${MAX_WORLD_SIZE}], got ${spec.worldSize}`);
  }
  if (!Number.isInteger(spec.rank) || spec.rank < 0 || spec.rank >= spec.worldSize) {
    throw where(`rank must be an integer in [0, ${spec.worldSize}), got ${spec.rank}`);
  }
  for (const key of ['timeoutMs', 'opTimeoutMs'] as const) {
    const v = spec[key];
    if (v !== undefined && !(typeof v === 'number' && v > 0 && Number.isFinite(v))) {
      throw where(`${key} must be a positive number of milliseconds, got ${v}`);
    }
  }
}

/** TRAY_COLLECTIVE_DIRECT_MAX_BYTES: where allReduce switches from direct exchange to reduce-scatter + all-gather. */
function directMaxBytes(name: string): number | undefined {
  const v = process.env.TRAY_COLLECTIVE_DIRECT_MAX_BYTES;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new CollectiveGroupError(
      name,
      'init',
      undefined,
      `TRAY_COLLECTIVE_DIRECT_MAX_BYTES must be a number of bytes >= 0, got ${JSON.stringify(v)}`,
    );
  }
  return n;
}

/**
 * TRAY_COLLECTIVE_SHM_MIN_BYTES: on one node, the smallest tensor that goes through the shared
 * region (0: every one; `off`: none, every tensor over TCP).
 */
function shmMinBytes(name: string): number | undefined {
  const v = process.env.TRAY_COLLECTIVE_SHM_MIN_BYTES;
  if (v === undefined || v === '') return undefined;
  if (v === 'off') return Number.POSITIVE_INFINITY;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new CollectiveGroupError(
      name,
      'init',
      undefined,
      `TRAY_COLLECTIVE_SHM_MIN_BYTES must be a number of bytes >= 0 or "off", got ${JSON.stringify(v)}`,
    );
  }
  return n;
}

/** The host of this process's node (its raylet's address): members listen there. */
async function nodeHost(nodeId: string): Promise<string> {
  const node = (await tray.nodes()).find((n) => n.nodeId === nodeId);
  if (node === undefined) return '127.0.0.1';
  const host = node.address.slice(0, node.address.lastIndexOf(':'));
  return host.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
}

function listen(host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ pauseOnConnect: false });
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function dial(address: string): Promise<Socket> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(at + 1));
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

export async function initCollectiveGroup(spec: CollectiveGroupSpec): Promise<CollectiveGroup> {
  checkSpec(spec);
  const { name, rank, worldSize } = spec;
  const timeoutMs = spec.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const shmMin = shmMinBytes(name);
  const group = new Group({
    name,
    rank,
    worldSize,
    opTimeoutMs: spec.opTimeoutMs,
    directMaxBytes: directMaxBytes(name),
    shmMinBytes: shmMin,
  });
  if (worldSize === 1) return group;
  const fail = (peer: number | undefined, detail: string, cause?: unknown) =>
    new CollectiveGroupError(name, 'init', peer, detail, { cause });
  const deadline = Date.now() + timeoutMs;

  const nodeId = tray.getRuntimeContext().nodeId ?? '';
  const host = await nodeHost(nodeId);
  const server = await listen(host);
  group.setServer(server);
  const port = (server.address() as { port: number }).port;
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const events = {
    fail: (r: number, detail: string) => group.fail(r, detail),
    abort: (r: number, blamed: number | undefined, reason: string) => group.aborted(r, blamed, reason),
  };
  // Accept from the start: a peer may dial as soon as its own rendezvous answers, before ours
  // does; its HELLO is checked once ours gives the secret.
  let setParams: (p: HandshakeParams) => void = () => {};
  let noParams: (err: Error) => void = () => {};
  const ready = new Promise<HandshakeParams>((resolve, reject) => {
    setParams = resolve;
    noParams = reject;
  });
  ready.catch(() => {});
  const awaited = new Set<number>();
  for (let r = rank + 1; r < worldSize; r++) awaited.add(r);
  const handshaking = new Set<Socket>();
  let allAccepted: () => void = () => {};
  const accepted = new Promise<void>((resolve) => {
    allAccepted = resolve;
    if (awaited.size === 0) resolve();
  });
  server.on('connection', (socket) => {
    handshaking.add(socket);
    acceptHandshake(socket, Math.max(1000, deadline - Date.now()), ready, (r) => awaited.has(r)).then(
      ({ peerRank, leftover }) => {
        handshaking.delete(socket);
        if (!awaited.delete(peerRank)) return socket.destroy();
        group.addPeer(new Peer(peerRank, socket, leftover, events));
        if (awaited.size === 0) allAccepted();
      },
      // A peer that failed the handshake was disconnected; the real one may still come.
      () => handshaking.delete(socket),
    );
  });
  try {
    const { handle, joined } = await rendezvous(name, rank, worldSize, address, nodeId, timeoutMs);
    const params: HandshakeParams = {
      name,
      rank,
      worldSize,
      secret: Buffer.from(joined.secret, 'hex'),
      timeoutMs: Math.max(1000, deadline - Date.now()),
    };
    setParams(params);
    // Every member on this node: large tensors go through one shared region (shm.ts).
    const ids = joined.nodeIds ?? [];
    if (
      shmMin !== Number.POSITIVE_INFINITY &&
      ids.length === worldSize &&
      ids.every((id) => id !== '' && id === nodeId)
    ) {
      const key = ShmRegion.keyOf(name, params.secret);
      const addon = crossAddon();
      group.setRegion(
        new ShmRegion(rank, worldSize, key, joined.pids?.[0] ?? 0, group.signal),
        new SameNode(
          rank,
          worldSize,
          ShmRegion.keyOf(`${name}/arrays`, params.secret),
          addon,
          group.exchange,
          group.signal,
        ),
      );
    }
    const dialed = Promise.all(
      joined.addresses.slice(0, rank).map(async (addr, r) => {
        let socket: Socket;
        try {
          socket = await dial(addr);
        } catch (err) {
          throw fail(r, `cannot connect to rank ${r} at ${addr}: ${(err as Error).message}`, err);
        }
        try {
          const leftover = await dialHandshake(socket, params, r);
          group.addPeer(new Peer(r, socket, leftover, events));
        } catch (err) {
          throw fail(r, `the connection to rank ${r} at ${addr} failed: ${(err as Error).message}`, err);
        }
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => {
          const missing = [...awaited];
          reject(
            fail(
              missing[0],
              `not connected to every member within ${timeoutMs} ms (ranks ${missing.join(', ') || 'below'} missing)`,
            ),
          );
        },
        Math.max(1, deadline - Date.now()),
      );
    });
    try {
      // A peer dying meanwhile fails setup at once, naming it, rather than at the deadline.
      await Promise.race([Promise.all([accepted, dialed]), expired, group.failed]);
    } finally {
      clearTimeout(timer);
    }
    server.close();
    if (group.failure !== undefined) throw group.failure;
    // Everyone has dialed rank 0, so everyone has read the rendezvous: it can go.
    if (rank === 0) void tray.kill(handle, { noRestart: true }).catch(() => {});
    return group;
  } catch (err) {
    noParams(err as Error);
    for (const socket of handshaking) socket.destroy();
    await group.destroy();
    throw err instanceof CollectiveGroupError ? err : fail(undefined, (err as Error).message, err);
  }
}
