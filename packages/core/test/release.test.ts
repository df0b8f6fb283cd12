// tray.experimental.release: a ref let go explicitly gives its store memory back at once, with
// no garbage collection (this file never calls gc()); using a released ref is an error that
// says so; a second release does nothing; an argument released right after .remote() still
// reaches its task.
import type { StoreClient } from '@tray/object-store';
import { waitFor } from '@tray/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tray from '../src/index.js';
import { connectNodeStore } from './helpers.js';

const MiB = 1024 * 1024;
let store: StoreClient;

beforeAll(async () => {
  await tray.init({ numCpus: 1, objectStoreMemory: 64 * MiB });
  store = await connectNodeStore();
});

afterAll(async () => {
  await store?.close();
  await tray.shutdown();
});

async function storeHolds(bytesAtMost: number, what: string): Promise<void> {
  let used = -1;
  await waitFor(
    async () => {
      used = (await store.stats()).usedBytes;
      return used <= bytesAtMost;
    },
    { what, timeoutMs: 60_000 },
  ).catch((err: Error) => {
    throw new Error(`${err.message} (the store uses ${used} bytes, expected at most ${bytesAtMost})`);
  });
}

describe('tray.experimental.release', () => {
  it('gives store memory back without a garbage collection', async () => {
    const before = (await store.stats()).usedBytes;
    const refs: tray.ObjectRef<Uint8Array>[] = [];
    for (let i = 0; i < 8; i++) refs.push(await tray.put(new Uint8Array(4 * MiB).fill(i)));
    expect((await store.stats()).usedBytes).toBeGreaterThanOrEqual(before + 32 * MiB);
    expect(tray.experimental.release(refs)).toBe(8);
    await storeHolds(before + MiB, 'the released objects to leave the store');
  });

  it('refuses a released ref with an error that names the release', async () => {
    const ref = await tray.put(new Uint8Array(2 * MiB));
    tray.experimental.release(ref);
    await expect(tray.get(ref)).rejects.toThrow(/was released \(tray\.experimental\.release\)/);
    const echo = tray.remote((x: Uint8Array) => x.byteLength);
    expect(() => echo.remote(ref)).toThrow(/was released/);
    expect(() => tray.experimental.release([ref, 'nope' as never])).toThrow(
      /element 1 is not an ObjectRef \(got .*\); pass a ref or an array of refs/,
    );
  });

  it('a second release does nothing; another ref to the object keeps it', async () => {
    const ref = await tray.put(new Uint8Array(4 * MiB).fill(7));
    // A second instance of the same object: deserialized out of a put that holds the first.
    const outer = await tray.put([ref]);
    const [again] = await tray.get(outer);
    tray.experimental.release(outer);
    expect(tray.experimental.release(ref)).toBe(1);
    expect(tray.experimental.release(ref)).toBe(0);
    expect(tray.experimental.release([ref, ref])).toBe(0);
    const value = await tray.get(again!);
    expect(value.byteLength).toBe(4 * MiB);
    expect(value[0]).toBe(7);
    expect(value[4 * MiB - 1]).toBe(7);
  });

  it('an argument released right after .remote() still reaches the task, then leaves the store', async () => {
    const before = (await store.stats()).usedBytes;
    const sum = tray.remote((bytes: Uint8Array) => bytes.reduce((a, b) => a + b, 0));
    const ref = await tray.put(new Uint8Array(3 * MiB).fill(1));
    const result = sum.remote(ref);
    tray.experimental.release(ref);
    expect(await tray.get(result)).toBe(3 * MiB);
    tray.experimental.release(result);
    await storeHolds(before + MiB, 'the argument to leave the store once its task is done');
  });
});
