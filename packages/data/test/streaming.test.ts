// Streaming in bounded store memory: a pipeline that produces ten times the object store's
// capacity (read → mapBatches making 1 MiB blocks → a consumer in the driver) runs to the end
// while the node's store, sampled throughout from its own stats, never holds more than the
// executor's budget (half the store, Ray's default fraction) and nothing is spilled.
import * as tray from '@tray/core';
import * as data from '@tray/data';
import { StoreClient } from '@tray/object-store';
import { afterAll, beforeAll, expect, it } from 'vitest';

const STORE = 32 * 1024 * 1024;
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

it('a pipeline 10x the object store streams through half of it, without spilling', {
  timeout: 300_000,
}, async () => {
  const blocks = 320;
  const rowsPerBlock = 128;
  const ds = data
    .range(blocks * rowsPerBlock, { overrideNumBlocks: blocks })
    .mapBatches(
      (b) => ({ id: b.id, payload: Array.from(b.id as Int32Array, () => new Uint8Array(8192).fill(7)) }),
      { batchFormat: 'columns' },
    );
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const s = await store!.stats();
      peak = Math.max(peak, s.usedBytes);
      await new Promise((r) => setImmediate(r));
    }
  })();
  let rows = 0;
  let bytes = 0;
  try {
    for await (const batch of ds.iterBatches({ batchSize: null, batchFormat: 'arrow' })) {
      const table = batch as import('apache-arrow').Table;
      rows += table.numRows;
      bytes += table.getChild('payload')!.data.reduce((s, d) => s + d.values.byteLength, 0);
    }
  } finally {
    sampling = false;
    await sampler;
  }
  const stats = await store!.stats();
  console.log(
    `peak store use ${(peak / 2 ** 20).toFixed(1)} MiB of ${STORE / 2 ** 20} MiB; ${(bytes / 2 ** 20).toFixed(0)} MiB streamed`,
  );
  expect(rows).toBe(blocks * rowsPerBlock);
  expect(bytes).toBeGreaterThanOrEqual(10 * STORE);
  expect(peak).toBeGreaterThan(0);
  expect(peak).toBeLessThanOrEqual(STORE * data.DataContext.getCurrent().objectStoreMemoryFraction);
  expect(stats.spilledObjects).toBe(0);
});
