// Objects moving between nodes: one real GCS and real raylets in this process, each with its own
// store, on 127.0.0.1. What a user notices: an object put on node A is readable, byte for byte,
// on node B after B's PullObject; a missing object, a dead node, a full store or a bad request
// fails with an error that says so and B keeps serving; a peer dying mid-transfer leaves nothing
// half-made in B's store; the transfer endpoints (GetObjectChunk on the framed TCP port, which
// pulls use, and the gRPC PullObjectChunks stream, used with peers that registered no framed
// port) want the cluster token and refuse bad requests.
import { randomBytes } from 'node:crypto';
import type { GcsServer } from '@tray/gcs';
import { StoreClient } from '@tray/object-store';
import {
  type Connection,
  connect,
  createGrpcClient,
  createGrpcServer,
  ErrorType,
  listen,
  NodeInfoGcsService,
  NodeManagerService,
  ObjectManagerService,
  RemoteError,
  type ServerStreamCall,
  type tray,
} from '@tray/protocol';
import { startNode, type TestNode, TEST_TOKEN as TOKEN } from '@tray/raylet/testing';
import { cleanUp, onCleanup, waitFor } from '@tray/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { startGcs } from './gcs.js';

const MiB = 1024 * 1024;
afterEach(cleanUp);

async function node(
  gcs: GcsServer,
  objectStoreMemory = 48 * MiB,
): Promise<TestNode & { store: StoreClient }> {
  const n = await startNode({ gcsAddress: gcs.address, numCpus: 1, prestartWorkers: 0, objectStoreMemory });
  onCleanup(() => n.stop());
  const store = await StoreClient.connect(n.raylet.storeSocketPath);
  onCleanup(() => store.close());
  return Object.assign(n, { store });
}

function pull(to: TestNode, objectId: Uint8Array, from: string | Uint8Array) {
  return to.driver.request(NodeManagerService.PullObject, {
    objectId,
    nodeId: typeof from === 'string' ? Buffer.from(from, 'hex') : from,
  });
}

async function failure(promise: Promise<unknown>): Promise<RemoteError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RemoteError);
  return err as RemoteError;
}

const objectId = () => randomBytes(28);

async function framedTo(n: TestNode, token: string | undefined): Promise<Connection> {
  const c = await connect({ host: '127.0.0.1', port: n.raylet.framedPort }, { token });
  onCleanup(() => c.close());
  return c;
}

describe('moving objects between nodes', () => {
  it('pulls a small and a 20 MiB object from A to B, byte-identical, as an evictable copy', async () => {
    const gcs = await startGcs();
    const a = await node(gcs);
    const b = await node(gcs);
    const small = { id: objectId(), data: randomBytes(1000), meta: Buffer.from('small-meta') };
    const large = { id: objectId(), data: randomBytes(20 * MiB), meta: randomBytes(333) };
    for (const o of [small, large]) await a.store.put(o.id, o.data, o.meta);

    for (const o of [small, large]) {
      expect(await b.store.contains(o.id)).toBe(false);
      await pull(b, o.id, a.raylet.nodeId);
      const copy = await b.store.get(o.id);
      expect(Buffer.from(copy.data).equals(o.data)).toBe(true);
      expect(Buffer.from(copy.metadata).equals(o.meta)).toBe(true);
      b.store.release(copy);
      expect(await a.store.contains(o.id)).toBe(true); // the primary stays where it was made
    }
    // Already here: answered at once, still the same bytes.
    await pull(b, large.id, a.raylet.nodeId);
    // Concurrent pulls of one object all see it sealed.
    const again = { id: objectId(), data: randomBytes(12 * MiB) };
    await a.store.put(again.id, again.data);
    await Promise.all([1, 2, 3].map(() => pull(b, again.id, a.raylet.nodeId)));
    const againCopy = await b.store.get(again.id);
    expect(Buffer.from(againCopy.data).equals(again.data)).toBe(true);
    b.store.release(againCopy);

    // The copies on B are secondary: a primary put that needs their room evicts them.
    const before = await b.store.stats();
    await b.store.put(objectId(), randomBytes(40 * MiB));
    const after = await b.store.stats();
    expect(after.evictedObjects).toBeGreaterThan(before.evictedObjects);
    expect(await b.store.contains(large.id)).toBe(false);
    expect(await a.store.contains(large.id)).toBe(true);
  });

  it("frees an owner's objects on the node that holds the primary and the node that pulled a copy", async () => {
    const gcs = await startGcs();
    const a = await node(gcs);
    const b = await node(gcs);
    const kept = objectId();
    const freed = objectId();
    for (const id of [kept, freed]) await a.store.put(id, randomBytes(2 * MiB));
    for (const id of [kept, freed]) await pull(b, id, a.raylet.nodeId);
    // The owner is on B; the primaries are on A.
    await b.driver.request(NodeManagerService.FreeObjects, {
      objectIds: [freed],
      nodeId: Buffer.from(a.raylet.nodeId, 'hex'),
    });
    expect(await a.store.contains(freed)).toBe(false);
    expect(await b.store.contains(freed)).toBe(false);
    expect(await a.store.contains(kept)).toBe(true);
    expect(await b.store.contains(kept)).toBe(true);
    // Freeing what is already gone is not an error; bad requests are refused and nothing is lost.
    await b.driver.request(NodeManagerService.FreeObjects, {
      objectIds: [freed],
      nodeId: Buffer.from(a.raylet.nodeId, 'hex'),
    });
    const short = await failure(
      b.driver.request(NodeManagerService.FreeObjects, {
        objectIds: [Buffer.alloc(5)],
        nodeId: Buffer.from(a.raylet.nodeId, 'hex'),
      }),
    );
    expect(short.info.type).toBe(ErrorType.INVALID_ARGUMENT);
    expect(short.message).toMatch(/object_ids\[0\]/);
    const badNode = await failure(
      b.driver.request(NodeManagerService.FreeObjects, { objectIds: [kept], nodeId: Buffer.alloc(3) }),
    );
    expect(badNode.info.type).toBe(ErrorType.INVALID_ARGUMENT);
    expect(await a.store.contains(kept)).toBe(true);
  });

  it('streams 5 MiB chunks with the sizes, and only to callers with the cluster token', async () => {
    const gcs = await startGcs();
    const a = await node(gcs);
    const o = { id: objectId(), data: randomBytes(20 * MiB), meta: randomBytes(10) };
    await a.store.put(o.id, o.data, o.meta);
    const address = `127.0.0.1:${a.raylet.grpcPort}`;

    for (const token of [undefined, 'not-the-token']) {
      const client = createGrpcClient(address, { token });
      onCleanup(() => client.close());
      const err = await failure(
        (async () => {
          for await (const _ of client.stream(ObjectManagerService.PullObjectChunks, { objectId: o.id })) {
          }
        })(),
      );
      expect(err.type).toBe(ErrorType.UNAUTHENTICATED);
    }

    const client = createGrpcClient(address, { token: TOKEN });
    onCleanup(() => client.close());
    const chunks: tray.v1.ObjectChunk[] = [];
    for await (const c of client.stream(ObjectManagerService.PullObjectChunks, { objectId: o.id }))
      chunks.push(c);
    expect(chunks.map((c) => c.chunkIndex)).toEqual([0, 1, 2, 3, 4]);
    for (const c of chunks) {
      expect(c.numChunks).toBe(5);
      expect(c.dataSize).toBe(20 * MiB);
      expect(c.metadataSize).toBe(10);
      expect(c.data.byteLength).toBeLessThanOrEqual(5 * MiB);
    }
    expect(Buffer.concat(chunks.map((c) => c.data)).equals(Buffer.concat([o.data, o.meta]))).toBe(true);

    // Asked for what it does not have, or with a malformed id: typed errors, and it keeps serving.
    const missing = await failure(
      (async () => {
        for await (const _ of client.stream(ObjectManagerService.PullObjectChunks, {
          objectId: objectId(),
        })) {
        }
      })(),
    );
    expect(missing.type).toBe(ErrorType.NOT_FOUND);
    expect(missing.grpcCode).toBe(5); // gRPC NOT_FOUND
    const bad = await failure(
      (async () => {
        for await (const _ of client.stream(ObjectManagerService.PullObjectChunks, {
          objectId: randomBytes(5),
        })) {
        }
      })(),
    );
    expect(bad.type).toBe(ErrorType.INVALID_ARGUMENT);
    expect(bad.message).toMatch(/object_id must be 28 bytes, got 5/);
  });

  it('serves chunks on the framed TCP port: token required, any chunk size, bad requests refused', async () => {
    const gcs = await startGcs();
    const a = await node(gcs);
    const o = { id: objectId(), data: randomBytes(3 * MiB + 5), meta: randomBytes(7) };
    await a.store.put(o.id, o.data, o.meta);
    const ask = (c: Connection, chunkIndex: number, extra: Partial<tray.v1.GetObjectChunkRequest> = {}) =>
      c.request(NodeManagerService.GetObjectChunk, { objectId: o.id, chunkIndex, chunkBytes: MiB, ...extra });

    for (const token of [undefined, 'not-the-token']) {
      const refused = await ask(await framedTo(a, token), 0).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(refused?.message).toMatch(/cluster token/);
    }

    const c = await framedTo(a, TOKEN);
    const chunks = await Promise.all([0, 1, 2, 3].map((i) => ask(c, i)));
    for (const [i, chunk] of chunks.entries()) {
      expect(chunk.chunkIndex).toBe(i);
      expect(chunk.numChunks).toBe(4);
      expect(chunk.dataSize).toBe(o.data.length);
      expect(chunk.metadataSize).toBe(7);
    }
    expect(chunks.map((x) => x.data.byteLength)).toEqual([MiB, MiB, MiB, 12]);
    expect(Buffer.concat(chunks.map((x) => x.data)).equals(Buffer.concat([o.data, o.meta]))).toBe(true);
    // chunk_bytes 0 is the sender's default (2 MiB, raylet.proto).
    const byDefault = await Promise.all([0, 1].map((i) => ask(c, i, { chunkBytes: 0 })));
    expect(byDefault.map((x) => [x.numChunks, x.data.byteLength])).toEqual([
      [2, 2 * MiB],
      [2, MiB + 12],
    ]);
    expect(Buffer.concat(byDefault.map((x) => x.data)).equals(Buffer.concat([o.data, o.meta]))).toBe(true);

    const refusals: Array<[Partial<tray.v1.GetObjectChunkRequest>, number, RegExp]> = [
      [{ chunkIndex: 4 }, ErrorType.INVALID_ARGUMENT, /chunk_index 4 is out of range: .* has 4 chunks/],
      [
        { chunkBytes: 1000 },
        ErrorType.INVALID_ARGUMENT,
        /chunk_bytes must be 0 or from 65536 to 67108864, got 1000/,
      ],
      [{ chunkBytes: 1024 * MiB }, ErrorType.INVALID_ARGUMENT, /chunk_bytes must be/],
      [{ objectId: randomBytes(5) }, ErrorType.INVALID_ARGUMENT, /object_id must be 28 bytes, got 5/],
      [{ nodeId: randomBytes(3) }, ErrorType.INVALID_ARGUMENT, /node_id must be 28 bytes, got 3/],
      [{ objectId: objectId() }, ErrorType.NOT_FOUND, /is not in the store of node/],
    ];
    for (const [extra, type, message] of refusals) {
      const err = await failure(ask(c, extra.chunkIndex ?? 0, extra));
      expect(err.type).toBe(type);
      expect(err.message).toMatch(message);
    }

    // The sender holds the object while a transfer is under way: deleting it on A is deferred
    // until the last chunk went out, and the rest of it is still served.
    const held = { id: objectId(), data: randomBytes(2 * MiB) };
    await a.store.put(held.id, held.data);
    const first = await ask(c, 0, { objectId: held.id });
    expect(first.numChunks).toBe(2);
    expect((await a.store.delete(held.id)).map((x) => Buffer.from(x).toString('hex'))).toEqual([
      held.id.toString('hex'),
    ]);
    const second = await ask(c, 1, { objectId: held.id });
    expect(Buffer.concat([first.data, second.data]).equals(held.data)).toBe(true);
    await waitFor(async () => !(await a.store.contains(held.id)), {
      what: 'the deferred delete once the transfer let go',
    });
  });

  it('answers bad pulls with errors that say what failed, and keeps serving', async () => {
    const gcs = await startGcs();
    const a = await node(gcs);
    const b = await node(gcs);
    const tiny = await node(gcs, 8 * MiB);
    const present = { id: objectId(), data: randomBytes(10 * MiB) };
    await a.store.put(present.id, present.data);

    const shortId = await failure(pull(b, randomBytes(27), a.raylet.nodeId));
    expect(shortId.type).toBe(ErrorType.INVALID_ARGUMENT);
    expect(shortId.message).toMatch(/object_id must be 28 bytes, got 27/);
    const shortNode = await failure(pull(b, present.id, randomBytes(3)));
    expect(shortNode.type).toBe(ErrorType.INVALID_ARGUMENT);
    expect(shortNode.message).toMatch(/node_id must be 28 bytes, got 3/);

    const unknown = randomBytes(28);
    const noSuchNode = await failure(pull(b, present.id, unknown));
    expect(noSuchNode.type).toBe(ErrorType.INVALID_ARGUMENT);
    expect(noSuchNode.message).toContain(`node ${unknown.toString('hex')} is not in the GCS node table`);

    const missingId = objectId();
    const missing = await failure(pull(b, missingId, a.raylet.nodeId));
    expect(missing.type).toBe(ErrorType.NOT_FOUND);
    expect(missing.message).toContain(
      `object ${missingId.toString('hex')} is not in the store of node ${a.raylet.nodeId}`,
    );
    const notHere = await failure(pull(b, missingId, b.raylet.nodeId));
    expect(notHere.type).toBe(ErrorType.NOT_FOUND);

    const full = await failure(pull(tiny, present.id, a.raylet.nodeId));
    expect(full.type).toBe(ErrorType.OBJECT_STORE_FULL);
    expect(full.message).toMatch(/larger than the store of node/);
    expect((await tiny.store.stats()).numObjects).toBe(0);

    // A node that left the cluster is reported dead.
    await a.stop();
    const dead = await failure(pull(b, present.id, a.raylet.nodeId));
    expect(dead.type).toBe(ErrorType.NODE_DIED);
    expect(dead.message).toContain(`node ${a.raylet.nodeId} is dead`);

    // B still serves pulls.
    const c = await node(gcs);
    await c.store.put(present.id, present.data);
    await pull(b, present.id, c.raylet.nodeId);
    expect(Buffer.from((await b.store.get(present.id)).data).equals(present.data)).toBe(true);
  });

  it('framed transfer: a peer that dies mid-transfer leaves nothing half-made; pulls share one transfer', async () => {
    const gcs = await startGcs();
    const b = await node(gcs);
    const id = objectId();
    const data = randomBytes(12 * MiB);
    // A fake peer on the framed transport: answers chunk 0, holds every other request until it dies.
    const asked: number[] = [];
    const fake = await listen(
      { host: '127.0.0.1', port: 0 },
      (c) =>
        c.handle(NodeManagerService.GetObjectChunk, (req) => {
          asked.push(req.chunkIndex);
          if (req.chunkIndex !== 0) return new Promise<never>(() => {});
          return {
            objectId: req.objectId,
            chunkIndex: 0,
            numChunks: Math.ceil(data.length / req.chunkBytes),
            dataSize: data.length,
            data: data.subarray(0, req.chunkBytes),
          };
        }),
      { token: TOKEN },
    );
    onCleanup(() => fake.close());
    const fakePort = (fake.address as { port: number }).port;
    const fakeId = randomBytes(28);
    const gcsClient = createGrpcClient(gcs.address, { token: TOKEN });
    onCleanup(() => gcsClient.close());
    await gcsClient.call(NodeInfoGcsService.RegisterNode, {
      node: { nodeId: fakeId, nodeIp: '127.0.0.1', rayletPort: fakePort, rayletFramedPort: fakePort },
    });

    const pulls = [1, 2, 3].map(() =>
      pull(b, id, fakeId).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    // B created the object, wrote chunk 0, and has more chunks asked for at once (a window).
    await waitFor(async () => asked.length > 2 && (await b.store.stats()).usedBytes >= data.length, {
      what: 'B to write chunk 0 and ask for the next ones',
    });
    await gcsClient.call(NodeInfoGcsService.UnregisterNode, { nodeId: fakeId, reason: 'test kills it' });
    await fake.close();

    for (const err of await Promise.all(pulls)) {
      expect(err).toBeInstanceOf(RemoteError);
      expect((err as RemoteError).type).toBe(ErrorType.NODE_DIED);
      expect((err as RemoteError).message).toContain(`node ${fakeId.toString('hex')} is dead`);
      expect((err as RemoteError).message).toContain(`object ${id.toString('hex')}`);
    }
    expect(asked.filter((i) => i === 0)).toHaveLength(1); // three pulls, one transfer
    expect(asked.length).toBeGreaterThan(2);
    expect(await b.store.contains(id)).toBe(false);
    expect((await b.store.stats()).usedBytes).toBe(0);

    // A live peer whose chunks are wrong: refused, and nothing is left either.
    const liar = await listen(
      { host: '127.0.0.1', port: 0 },
      (c) =>
        c.handle(NodeManagerService.GetObjectChunk, (req) => ({
          objectId: req.objectId,
          chunkIndex: req.chunkIndex,
          numChunks: Math.ceil(data.length / req.chunkBytes),
          dataSize: data.length,
          data: data.subarray(0, req.chunkIndex === 0 ? req.chunkBytes : 10),
        })),
      { token: TOKEN },
    );
    onCleanup(() => liar.close());
    const liarPort = (liar.address as { port: number }).port;
    const liarId = randomBytes(28);
    await gcsClient.call(NodeInfoGcsService.RegisterNode, {
      node: { nodeId: liarId, nodeIp: '127.0.0.1', rayletPort: liarPort, rayletFramedPort: liarPort },
    });
    const lie = await failure(pull(b, id, liarId));
    expect(lie.message).toMatch(/sent a bad chunk of object .*: chunk \d+ holds 10 bytes where \d+ were due/);
    expect((await b.store.stats()).usedBytes).toBe(0);

    // The creations were aborted: the same object can be pulled from a live node afterwards.
    const a = await node(gcs);
    await a.store.put(id, data);
    await pull(b, id, a.raylet.nodeId);
    expect(Buffer.from((await b.store.get(id)).data).equals(data)).toBe(true);
  });

  it('gRPC fallback (a peer with no framed port): leaves nothing half-made when the peer dies mid-transfer, and shares one transfer between pulls', async () => {
    const gcs = await startGcs();
    const b = await node(gcs);
    const id = objectId();
    const data = randomBytes(12 * MiB);
    // A fake peer: sends the first chunk, then holds the stream open until the test kills it.
    let calls = 0;
    let streaming: ServerStreamCall<tray.v1.ObjectChunk> | undefined;
    const fake = createGrpcServer({ token: TOKEN });
    fake.addService(ObjectManagerService, {
      PullObjectChunks: (req, call) => {
        calls++;
        streaming = call;
        call.write({
          objectId: req.objectId,
          chunkIndex: 0,
          numChunks: 3,
          dataSize: data.length,
          data: data.subarray(0, 5 * MiB),
        });
      },
    });
    fake.addService(NodeManagerService, { GetNodeStats: () => ({}) });
    const fakePort = await fake.listen('127.0.0.1', 0);
    onCleanup(() => fake.close(0));
    const fakeId = randomBytes(28);
    const gcsClient = createGrpcClient(gcs.address, { token: TOKEN });
    onCleanup(() => gcsClient.close());
    await gcsClient.call(NodeInfoGcsService.RegisterNode, {
      node: { nodeId: fakeId, nodeIp: '127.0.0.1', rayletPort: fakePort },
    });

    const pulls = [1, 2, 3].map(() =>
      pull(b, id, fakeId).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    // B created the object and wrote the first chunk into it.
    await waitFor(async () => streaming && (await b.store.stats()).usedBytes >= data.length, {
      what: 'B to start writing the object',
    });
    expect(calls).toBe(1);
    // The peer leaves the cluster and its process dies with the stream open.
    await gcsClient.call(NodeInfoGcsService.UnregisterNode, { nodeId: fakeId, reason: 'test kills it' });
    await fake.close(0);

    for (const err of await Promise.all(pulls)) {
      expect(err).toBeInstanceOf(RemoteError);
      expect((err as RemoteError).type).toBe(ErrorType.NODE_DIED);
      expect((err as RemoteError).message).toContain(`node ${fakeId.toString('hex')} is dead`);
      expect((err as RemoteError).message).toContain(`object ${id.toString('hex')}`);
    }
    expect(calls).toBe(1); // three pulls, one transfer
    expect(await b.store.contains(id)).toBe(false);
    expect((await b.store.stats()).usedBytes).toBe(0);

    // The creation was aborted: the same object can be pulled from a live node afterwards.
    const a = await node(gcs);
    await a.store.put(id, data);
    await pull(b, id, a.raylet.nodeId);
    expect(Buffer.from((await b.store.get(id)).data).equals(data)).toBe(true);
  });
});
