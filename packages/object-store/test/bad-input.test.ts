// Bad input gets typed errors, from the client API and from raw messages on the socket alike,
// and the store goes on serving what it holds.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, ErrorType, RemoteError, StoreService } from '@tray/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ObjectExistsError,
  ObjectNotFoundError,
  ObjectNotSealedError,
  ObjectStoreError,
  StoreClient,
  StoreServer,
} from '../src/index.js';

const id = (n: number) => {
  const bytes = Buffer.alloc(28);
  bytes.writeUInt32BE(n, 24);
  return bytes;
};

let dir: string;
let server: StoreServer;
let client: StoreClient;
const kept = id(1);

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tray-store-bad-'));
  server = await StoreServer.start({
    socketPath: path.join(dir, 's.sock'),
    capacity: 16 << 20,
    spillDir: dir,
  });
  client = await StoreClient.connect(path.join(dir, 's.sock'));
  await client.put(kept, Buffer.from('still here'));
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function storeStillServes() {
  const object = await client.get(kept);
  expect(Buffer.from(object.data).toString()).toBe('still here');
  client.release(object);
}

describe('client API arguments', () => {
  it.each([
    ['a 27-byte id', Buffer.alloc(27)],
    ['a 29-byte id', Buffer.alloc(29)],
    ['a string id', 'x'.repeat(28)],
    ['no id', undefined],
  ])('rejects %s with a TypeError naming the argument', async (_, bad) => {
    await expect(client.get(bad as any)).rejects.toThrow(TypeError);
    await expect(client.create(bad as any, 1)).rejects.toThrow(/id must be a 28-byte Uint8Array/);
    await expect(client.getMany([kept, bad as any])).rejects.toThrow(/ids\[1\]/);
    await storeStillServes();
  });

  it.each([
    [-1, RangeError],
    [2 ** 60, RangeError],
    [(16 << 20) + 1, RangeError],
    [1.5, TypeError],
    [Number.NaN, TypeError],
    ['10', TypeError],
  ])('rejects size %s', async (size, cls) => {
    await expect(client.create(id(2), size as any)).rejects.toThrow(cls);
    await expect(client.create(id(2), 1, size as any)).rejects.toThrow(/metadataSize/);
    await storeStillServes();
  });

  it('rejects a timeout that is not a number', async () => {
    await expect(client.get(kept, { timeoutMs: 'soon' as any })).rejects.toThrow(
      /timeoutMs must be a number/,
    );
  });
});

describe('store errors are typed', () => {
  it('unknown ids, double seal, get of a deleted object', async () => {
    await expect(client.get(id(99))).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(client.seal(id(99))).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(client.abort(id(99))).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(client.put(kept, Buffer.from('again'))).rejects.toBeInstanceOf(ObjectExistsError);
    await expect(client.seal(kept)).rejects.toBeInstanceOf(ObjectExistsError);

    await client.create(id(3), 10);
    await expect(client.delete(id(3))).rejects.toBeInstanceOf(ObjectNotSealedError);
    await client.seal(id(3));
    await expect(client.seal(id(3))).rejects.toMatchObject({ code: 'OBJECT_EXISTS' });
    expect(await client.delete(id(3))).toEqual([]);
    await expect(client.get(id(3))).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await client.contains(id(3))).toBe(false);
    await expect(client.get(id(3))).rejects.toBeInstanceOf(ObjectStoreError);
    await storeStillServes();
  });

  it('a deleted object being read goes when its reader releases it', async () => {
    await client.put(id(4), Buffer.alloc(1000, 4));
    const view = await client.get(id(4));
    const deferred = await client.delete(id(4));
    expect(deferred.map((d) => Buffer.from(d).equals(id(4)))).toEqual([true]);
    expect(view.data[999]).toBe(4);
    await expect(client.get(id(4))).rejects.toBeInstanceOf(ObjectNotFoundError);
    client.release(view);
    expect(view.data.length).toBe(0); // detached: its bytes are unreachable
    await storeStillServes();
  });
});

describe('raw messages on the socket', () => {
  it('malformed requests get INVALID_ARGUMENT and never reach C++', async () => {
    const raw = await connect(path.join(dir, 's.sock'));
    const bad = [
      () => raw.request(StoreService.Create, { objectId: Buffer.alloc(3), dataSize: 1 }),
      () => raw.request(StoreService.Create, { objectId: id(5), dataSize: 2 ** 52 }),
      () => raw.request(StoreService.Get, { objectIds: [Buffer.alloc(0)], timeoutMs: 0 }),
      () => raw.request(StoreService.Seal, {}),
      () => raw.request(StoreService.Release, { objectIds: [Buffer.alloc(100)] }),
      () => raw.request(StoreService.Delete, { objectIds: [Buffer.alloc(1)] }),
      () => raw.request(StoreService.Abort, { objectId: Buffer.alloc(28 * 2) }),
    ];
    for (const call of bad) {
      const err = await call().catch((e) => e);
      expect(err).toBeInstanceOf(RemoteError);
      expect((err as RemoteError).type).toBe(ErrorType.INVALID_ARGUMENT);
      expect((err as RemoteError).info.message).toMatch(/objectId|objectIds|dataSize/);
    }
    // Releasing what it never held is harmless.
    await raw.request(StoreService.Release, { objectIds: [kept] });
    raw.close();
    await storeStillServes();
    expect(server.stats().numObjects).toBe(1);
  });
});
