// A shuffle lets go of its intermediate blocks as the next stage takes them: the input blocks
// once their map tasks ran, the map parts once their reducers ran, and the output blocks once
// consumed. Input, parts and output together (3 × 24 MiB) would not fit the 64 MiB store; the
// store, sampled from its own stats through a randomShuffle and a sort, holds at most about two
// of them, spills nothing, and is empty again after the output has been consumed (no ref kept).
import * as tray from '@tray/core';
import * as data from '@tray/data';
import { StoreClient } from '@tray/object-store';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { withPeakStoreUse } from './store-peak.js';

const STORE = 64 * 1024 * 1024;
const INPUT = 24 * 1024 * 1024;
let store: StoreClient | undefined;

beforeAll(async () => {
  await tray.init({ numCpus: 2, objectStoreMemory: STORE });
  const socket = await tray.get(tray.remote(() => process.env.TRAY_STORE_SOCKET ?? '').remote());
  store = await StoreClient.connect(socket);
});

afterAll(async () => {
  store?.close();
  await tray.shutdown();
});

async function storeDrains(): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const used = (await store!.stats()).usedBytes;
    if (used <= 1024 * 1024 || Date.now() > deadline) return used;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const blocks = 24;
const rowsPerBlock = 64;
const payload = INPUT / (blocks * rowsPerBlock);
const source = () =>
  data.range(blocks * rowsPerBlock, { overrideNumBlocks: blocks }).mapBatches(
    (b, size: number) => ({
      id: b.id,
      payload: Array.from(b.id as Int32Array, () => new Uint8Array(size)),
    }),
    { fnArgs: [payload] },
  );

for (const [name, shuffle] of [
  ['randomShuffle', (ds: data.Dataset) => ds.randomShuffle({ seed: 5 })],
  ['sort', (ds: data.Dataset) => ds.sort('id', { descending: true })],
] as const) {
  it(`${name} of 24 MiB in a 64 MiB store frees its input and map parts as it goes`, {
    timeout: 300_000,
  }, async () => {
    const { result: ids, peak } = await withPeakStoreUse(store!, async () => {
      const out: number[] = [];
      for await (const b of shuffle(source()).iterBatches({ batchSize: null })) {
        for (const id of (b as data.Columns).id as Int32Array) out.push(id);
      }
      return out;
    });
    // Nothing stays pinned: once the driver's garbage is collected the store is empty (the last
    // blocks consumed may wait for that collection; the shuffle's own blocks did not).
    globalThis.gc?.();
    const left = await storeDrains();
    console.log(
      `${name}: peak store use ${(peak / 2 ** 20).toFixed(1)} MiB for ${INPUT / 2 ** 20} MiB; ${(left / 2 ** 20).toFixed(1)} MiB left after`,
    );
    expect(ids.length).toBe(blocks * rowsPerBlock);
    expect([...ids].sort((a, b) => a - b)).toEqual([...Array(blocks * rowsPerBlock).keys()]);
    if (name === 'sort') expect(ids).toEqual([...Array(blocks * rowsPerBlock).keys()].reverse());
    // About two of the three stages at once (a sort holds its input until the last map ran and
    // its output until consumed); 2.5× leaves room for a collection that runs late under load.
    expect(peak).toBeLessThan(2.5 * INPUT);
    expect((await store!.stats()).spilledObjects).toBe(0);
    expect(left).toBeLessThanOrEqual(1024 * 1024);
  });
}
