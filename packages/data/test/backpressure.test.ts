// Read backpressure: one read task makes 64 MiB (twice the object store) in 1 MiB blocks for a
// driver loop that is much slower (it hashes each block 40 times). The read (a custom
// Datasource) writes how many blocks it has yielded to a file before each yield; after each
// block the consumer checks how far ahead the producer is: never more than the executor's budget
// in blocks plus the generator's 2-block buffer and the blocks in hand. (At this pace on a loaded
// 2-core machine the read itself is about as slow as the consumer, so a build without the
// pacing passes too; core's test/generator-backpressure.test.ts is the one that catches a
// generator running ahead.) Every row arrives, in
// order; the store stays within the budget and nothing is spilled. Then batches that each span
// several small blocks: the same, with the blocks they were cut from no longer pinned by them.
// Real local cluster.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tray from '@tray/core';
import * as data from '@tray/data';
import { StoreClient } from '@tray/object-store';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { withPeakStoreUse } from './store-peak.js';

const MiB = 1024 * 1024;
const STORE = 32 * MiB;
const BLOCKS = 64;
let dir = '';
let store: StoreClient | undefined;
const ctx = data.DataContext.getCurrent();
const defaultTarget = ctx.targetMaxBlockSize;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tray-data-backpressure-'));
  await tray.init({ numCpus: 2, objectStoreMemory: STORE });
  const socket = await tray.get(tray.remote(() => process.env.TRAY_STORE_SOCKET ?? '').remote());
  store = await StoreClient.connect(socket);
  ctx.targetMaxBlockSize = MiB; // each 1 MiB piece the read yields is a block of its own
});

afterAll(async () => {
  ctx.targetMaxBlockSize = defaultTarget;
  store?.close();
  await tray.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

function yielded(file: string): number {
  try {
    return Number(readFileSync(file, 'utf8'));
  } catch {
    return 0;
  }
}

it('a slow consumer holds a read task back: within the budget, complete and in order', {
  timeout: 300_000,
}, async () => {
  const countFile = path.join(dir, 'yielded');
  const source: data.Datasource = {
    name: 'Counted',
    getReadTasks: () => [
      {
        source: 'counted',
        args: { file: countFile, blocks: BLOCKS },
        read: async function* ({ file, blocks }: { file: string; blocks: number }) {
          const fs = require('node:fs');
          for (let i = 0; i < blocks; i++) {
            fs.writeFileSync(`${file}.tmp`, String(i + 1));
            fs.renameSync(`${file}.tmp`, file);
            yield { i: [i], payload: [new Uint8Array(1024 * 1024).fill(i % 251)] };
          }
        },
      },
    ],
  };
  const budgetBytes = STORE * data.DataContext.getCurrent().objectStoreMemoryFraction;
  const budgetBlocks = Math.floor(budgetBytes / MiB);
  // Blocks the producer may be ahead of the consumer: the budget's worth taken from the
  // generator, its 2-block buffer, the one iterBatches prefetched and the one being made.
  const bound = budgetBlocks + 2 + 2;
  const order: number[] = [];
  const ahead: number[] = [];
  let taken = 0;
  const { peak } = await withPeakStoreUse(store!, async () => {
    for await (const batch of data
      .readDatasource(source)
      .iterBatches({ batchSize: null, batchFormat: 'columns' })) {
      const b = batch as { i: number[]; payload: Uint8Array[] };
      order.push(...b.i);
      expect(b.payload[0]![MiB - 1]).toBe(b.i[0]! % 251);
      taken++;
      // The slow consumer: hashing each block many times over takes far longer than making it.
      const hash = createHash('sha256');
      for (let round = 0; round < 40; round++) hash.update(b.payload[0]!);
      hash.digest();
      ahead.push(yielded(countFile) - taken);
    }
  });
  console.log(
    `most blocks ahead of the consumer ${Math.max(...ahead)} (bound ${bound}); peak store use ${(peak / MiB).toFixed(1)} MiB (budget ${budgetBytes / MiB} MiB) for ${BLOCKS} MiB`,
  );
  expect(order).toEqual(Array.from({ length: BLOCKS }, (_, i) => i));
  expect(Math.max(...ahead)).toBeLessThanOrEqual(bound);
  expect(peak).toBeLessThanOrEqual(budgetBytes + 2 * 2 * MiB);
  expect((await store!.stats()).spilledObjects).toBe(0);
});

it('batches over many small blocks keep the store within the budget: nothing is spilled', {
  timeout: 300_000,
}, async () => {
  // 128 blocks of 16 rows (64 KiB each: 1 MiB a block) in batches of 100 rows: each batch spans
  // 7 blocks, which the executor counts released as soon as the batch has taken their rows.
  const blocks = 128;
  const rowBytes = 64 * 1024;
  const before = (await store!.stats()).spilledObjects;
  const ids: number[] = [];
  let intact = true;
  const { peak } = await withPeakStoreUse(store!, async () => {
    const ds = data.range(blocks * 16, { overrideNumBlocks: blocks }).mapBatches(
      (b: { id: ArrayLike<number> }) => ({
        id: Array.from(b.id),
        payload: Array.from(b.id, (id) => new Uint8Array(64 * 1024).fill(id % 251)),
      }),
      { batchFormat: 'columns' },
    );
    for await (const batch of ds.iterBatches({ batchSize: 100, batchFormat: 'arrow' })) {
      const table = batch as import('apache-arrow').Table;
      const id = table.getChild('id')!.toArray() as ArrayLike<number>;
      const payload = table.getChild('payload')!;
      for (let i = 0; i < table.numRows; i++) {
        ids.push(Number(id[i]));
        const bytes = payload.get(i) as Uint8Array;
        if (bytes.length !== rowBytes || bytes[rowBytes - 1] !== Number(id[i]) % 251) intact = false;
      }
    }
  });
  const budgetBytes = STORE * data.DataContext.getCurrent().objectStoreMemoryFraction;
  console.log(
    `batches of 100 rows over ${blocks} blocks of 16: peak store use ${(peak / MiB).toFixed(1)} MiB (budget ${budgetBytes / MiB} MiB of ${STORE / MiB})`,
  );
  expect(ids).toEqual(Array.from({ length: blocks * 16 }, (_, i) => i));
  expect(intact).toBe(true);
  // Pinned past the budget: views released but not yet collected (the driver collects each
  // quarter of the budget), the block being cut, one being made, one in flight. A batch that
  // kept its 7 blocks pinned went 7 MiB past that (25–27 MiB here).
  expect(peak).toBeLessThanOrEqual(budgetBytes * 1.25 + 3 * MiB);
  expect((await store!.stats()).spilledObjects - before).toBe(0);
});

it('a slow actor pool holds its read task back: within the budget, nothing is spilled', {
  timeout: 300_000,
}, async () => {
  // One read task makes 48 MiB in 1 MiB blocks for one actor that takes 30 ms a block. Before,
  // the read ran to its end (its generator was not paced for a pool) and the actor's input
  // views stayed pinned (a busy actor is not collected): the store filled and spilled.
  const source: data.Datasource = {
    name: 'Quick',
    getReadTasks: () => [
      {
        source: 'quick',
        args: { blocks: 48 },
        read: async function* ({ blocks }: { blocks: number }) {
          for (let i = 0; i < blocks; i++)
            yield { i: [i], payload: [new Uint8Array(1024 * 1024).fill(i % 251)] };
        },
      },
    ],
  };
  class Slow {
    call(b: { i: number[]; payload: Uint8Array[] }) {
      const until = Date.now() + 30;
      while (Date.now() < until) {}
      return { i: b.i, last: b.payload.map((p) => p[p.length - 1]!) };
    }
  }
  const before = (await store!.stats()).spilledObjects;
  const { result, peak } = await withPeakStoreUse(store!, () =>
    data.readDatasource(source).mapBatches(Slow, { concurrency: 1, batchFormat: 'columns' }).takeAll(),
  );
  const rows = result as { i: number; last: number }[];
  const budgetBytes = STORE * data.DataContext.getCurrent().objectStoreMemoryFraction;
  console.log(
    `read → slow actor pool: peak store use ${(peak / MiB).toFixed(1)} MiB (budget ${budgetBytes / MiB} MiB)`,
  );
  expect(rows.map((r) => r.i)).toEqual(Array.from({ length: 48 }, (_, i) => i));
  expect(rows.map((r) => r.last)).toEqual(Array.from({ length: 48 }, (_, i) => i % 251));
  expect(peak).toBeLessThanOrEqual(budgetBytes + 2 * 2 * MiB);
  expect((await store!.stats()).spilledObjects - before).toBe(0);
});
