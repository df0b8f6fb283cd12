// streamingSplit(n, { equal: true }) streams: three consumers, each a task in its own worker
// process, pull their split of one execution through the coordinator actor while it runs. Each
// gets exactly floor(total / 3) rows, together they hold every row once (at most two dropped),
// and a dataset four times the object store goes through it without filling it or spilling.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tray from '@tray/core';
import * as data from '@tray/data';
import { StoreClient } from '@tray/object-store';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { withPeakStoreUse } from './store-peak.js';

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

it('three consumers in other processes get equal rows of a dataset 4x the store, streamed', {
  timeout: 300_000,
}, async () => {
  const blocks = 128;
  const total = blocks * 100 + 7; // blocks of 100 or 101 rows: the last ones must be cut
  const ds = data
    .range(total, { overrideNumBlocks: blocks })
    .mapBatches(
      (b) => ({ id: b.id, payload: Array.from(b.id as Int32Array, () => new Uint8Array(12288).fill(1)) }),
      { batchFormat: 'columns' },
    );
  // The consumer runs from the fixture module (by reference): this is only its signature.
  const signature = async (_iterator: unknown) => ({ pid: 0, rows: 0, ids: [] as number[] });
  const consume = tray
    .remote(signature, {
      module: pathToFileURL(path.join(import.meta.dirname, 'fixtures', 'split-consumer.mjs')).href,
      exportName: 'consume',
    })
    .options({ numCpus: 0 });
  const { result: results, peak } = await withPeakStoreUse(store!, () =>
    tray.get(ds.streamingSplit(3, { equal: true }).map((it) => consume.remote(it))),
  );
  console.log(
    `rows per consumer ${results.map((r) => r.rows).join(', ')}; peak store use ${(peak / 2 ** 20).toFixed(1)} MiB of ${STORE / 2 ** 20} MiB for ${((total * 12288) / 2 ** 20).toFixed(0)} MiB`,
  );
  const each = Math.floor(total / 3);
  expect(results.map((r) => r.rows)).toEqual([each, each, each]);
  expect(new Set(results.map((r) => r.pid)).size).toBe(3);
  expect(results.map((r) => r.pid)).not.toContain(process.pid);
  const ids = results.flatMap((r) => r.ids);
  expect(new Set(ids).size).toBe(3 * each);
  expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < total)).toBe(true);
  expect(total * 12288).toBeGreaterThan(4 * STORE);
  expect(peak).toBeLessThan(STORE);
  expect((await store!.stats()).spilledObjects).toBe(0);
});
