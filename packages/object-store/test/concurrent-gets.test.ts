// Gets of one object that overlap: each get the store answers takes one reference for the
// client, and the client holds one per object, so the duplicates must be given back. A get that
// found the object already held by an overlapping get used to keep the store's second reference
// forever: the object stayed pinned, and a delete was deferred until the client went away (the
// borrower stress of @tray/core left such objects in the store).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { StoreClient, StoreServer } from '../src/index.js';

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
  cleanup = [];
});

it('overlapping gets of one object leave it unpinned once their views are released, and a delete is not deferred', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tray-store-test-'));
  cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
  const server = await StoreServer.start({
    socketPath: path.join(dir, 'store.sock'),
    capacity: 16 << 20,
    spillDir: path.join(dir, 'spill'),
  });
  cleanup.push(() => server.close());
  const client = await StoreClient.connect(server.socketPath);
  cleanup.push(() => client.close());
  const id = new Uint8Array(28).fill(7);
  await client.put(id, new Uint8Array(200_000).fill(3));
  // Different timeouts go to the store in different batches: two references come back.
  const [a, b, c] = await Promise.all([
    client.get(id),
    client.get(id, { timeoutMs: 1000 }),
    client.get(id, { timeoutMs: 2000 }),
  ]);
  expect([a.data[0], b.data[199_999], c.data[5]]).toEqual([3, 3, 3]);
  expect((await client.stats()).numPinned).toBe(1);
  for (const view of [a, b, c]) client.release(view);
  expect(await client.delete(id)).toEqual([]);
  const stats = await client.stats();
  expect([stats.numObjects, stats.numPinned, stats.usedBytes]).toEqual([0, 0, 0]);
});
