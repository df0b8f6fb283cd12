// Per-operator reservations on a real local cluster (2 CPUs, a 32 MiB store, so a 16 MiB
// budget): read -> map(slow) -> map(fast) over 64 MiB of 1 MiB blocks. Each map stage writes a
// file per block it finished, so the test sees how far every operator got whenever the driver
// takes a block. Every operator keeps running: the first blocks reach the driver while the slow
// operator is still far from done, the operators never get further ahead of each other (or of
// the driver) than the budget allows, the blocks counted against the operators stay within the
// budget (stats()), the store within a quarter more (the driver's views awaiting collection)
// and nothing spills.
// The same with a slow driver. Then streamingSplit(2) into two consumers and iterBatches over
// a dataset several times the store: both finish without spilling, and the blocks the split
// coordinator holds are counted against the last operator until handed out, and every block's
// count is given back at the end (stats() says nothing is still counted).
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tray from '@tray/core';
import * as data from '@tray/data';
import { StoreClient } from '@tray/object-store';
import { afterAll, beforeAll, expect, it } from 'vitest';

const MiB = 1024 * 1024;
const STORE = 32 * MiB;
const BLOCKS = 64;
const ROWS = 16; // rows per block, 64 KiB each: 1 MiB blocks
let dir = '';
let store: StoreClient | undefined;
const budget = STORE * data.DataContext.getCurrent().objectStoreMemoryFraction;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tray-data-reservations-'));
  await tray.init({ numCpus: 2, objectStoreMemory: STORE });
  const socket = await tray.get(tray.remote(() => process.env.TRAY_STORE_SOCKET ?? '').remote());
  store = await StoreClient.connect(socket);
});

afterAll(async () => {
  store?.close();
  await tray.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

/** Samples the store's use until stopped; returns the peak. */
function sampleStore() {
  let peak = 0;
  let sampling = true;
  const done = (async () => {
    while (sampling) {
      peak = Math.max(peak, (await store!.stats()).usedBytes);
      await new Promise((r) => setImmediate(r));
    }
  })();
  return async () => {
    sampling = false;
    await done;
    return peak;
  };
}

type Block = { id: Int32Array; payload: Uint8Array[] };

/** read (range + a 1 MiB payload, fused) -> slow map -> fast map, each map marking its blocks. */
function pipeline(marks: string) {
  mkdirSync(marks);
  return (
    data
      .range(BLOCKS * ROWS, { overrideNumBlocks: BLOCKS })
      .mapBatches(
        (b) => ({ id: b.id, payload: Array.from(b.id as Int32Array, () => new Uint8Array(65536).fill(5)) }),
        { batchFormat: 'columns' },
      )
      // Other resources than the read: its own operator. Hashes its block 30 times.
      .mapBatches(
        function slow(b) {
          const { createHash } = require('node:crypto');
          const block = b as Block;
          for (let round = 0; round < 30; round++) {
            const hash = createHash('sha256');
            for (const p of block.payload) hash.update(p);
            hash.digest();
          }
          require('node:fs').writeFileSync(`${marks}/slow-${block.id[0]}`, '');
          return b;
        },
        { batchFormat: 'columns', concurrency: 2, captures: { marks } },
      )
      .mapBatches(
        function fast(b) {
          require('node:fs').writeFileSync(`${marks}/fast-${(b as Block).id[0]}`, '');
          return b;
        },
        { batchFormat: 'columns', numCpus: 0.5, captures: { marks } },
      )
  );
}

function marked(marks: string, op: 'slow' | 'fast'): number {
  return readdirSync(marks).filter((f) => f.startsWith(`${op}-`)).length;
}

/** Blocks one operator may be ahead of what follows it: the whole budget's worth, two generator buffers of 2 blocks, and a block in hand on each side. */
const AHEAD = budget / MiB + 2 * 2 + 2;

async function runPipeline(name: string, slowDriver: boolean) {
  const marks = path.join(dir, name);
  const ds = pipeline(marks);
  const stop = sampleStore();
  const ids: number[] = [];
  let slowAtFirst = -1;
  let mostAhead = 0;
  let taken = 0;
  try {
    for await (const batch of ds.iterBatches({ batchSize: null, batchFormat: 'columns' })) {
      const b = batch as Block;
      ids.push(...b.id);
      taken++;
      const slow = marked(marks, 'slow');
      const fast = marked(marks, 'fast');
      if (slowAtFirst < 0) slowAtFirst = slow;
      mostAhead = Math.max(mostAhead, slow - fast, fast - taken);
      if (slowDriver) {
        const hash = createHash('sha256');
        for (let round = 0; round < 30; round++) for (const p of b.payload) hash.update(p);
        hash.digest();
      }
    }
  } finally {
    const peak = await stop();
    console.log(
      `${name}: slow op had done ${slowAtFirst} of ${BLOCKS} blocks when the first block arrived; ` +
        `most blocks an operator was ahead of the next ${mostAhead} (bound ${AHEAD}); peak store use ${(peak / MiB).toFixed(1)} MiB (budget ${budget / MiB} MiB)\n${ds.stats()}`,
    );
    // The blocks counted against the operators never exceed the budget; the store holds a
    // little more: blocks the driver read and let go of stay pinned by their views until the
    // driver collects them, every quarter of the budget.
    const counted = /at most ([\d.]+) MiB of blocks counted/.exec(ds.stats());
    expect(Number(counted?.[1])).toBeLessThanOrEqual(budget / MiB);
    expect(peak).toBeLessThanOrEqual(budget * 1.25);
  }
  return { ds, ids, slowAtFirst, mostAhead };
}

it('read -> slow map -> fast map: every operator keeps running, within the budget', {
  timeout: 300_000,
}, async () => {
  for (const slowDriver of [false, true]) {
    const { ds, ids, slowAtFirst, mostAhead } = await runPipeline(
      slowDriver ? 'slow-driver' : 'fast-driver',
      slowDriver,
    );
    expect(ids).toEqual(Array.from({ length: BLOCKS * ROWS }, (_, i) => i));
    // The fast operator's blocks arrive while the slow one is still running...
    expect(slowAtFirst).toBeLessThan(BLOCKS);
    // ...and no operator runs further ahead of the next than the budget's blocks.
    expect(mostAhead).toBeLessThanOrEqual(AHEAD);
    const stats = ds.stats();
    expect(stats).toMatch(/Operator 1 ReadRange->MapBatches\(fn\): 64 blocks/);
    expect(stats).toMatch(/Operator 2 MapBatches\(slow\): 64 blocks/);
    expect(stats).toMatch(/Operator 3 MapBatches\(fast\): 64 blocks/);
    expect(stats).not.toMatch(/still (held|counted)/);
    expect((await store!.stats()).spilledObjects).toBe(0);
  }
});

it('streamingSplit(2) and iterBatches over 8x the store finish without spilling; nothing stays counted', {
  timeout: 300_000,
}, async () => {
  // 256 blocks of 256 rows of 4 KiB (1 MiB each): batches of 100 and 64 rows are cut from them.
  const blocks = 256;
  const rowsPerBlock = 256;
  const ds = data
    .range(blocks * rowsPerBlock, { overrideNumBlocks: blocks })
    .mapBatches(
      (b) => ({ id: b.id, payload: Array.from(b.id as Int32Array, () => new Uint8Array(4096).fill(9)) }),
      { batchFormat: 'columns' },
    );
  const first = sampleStore();
  let iterRows = 0;
  for await (const batch of ds.iterBatches({ batchSize: 100, batchFormat: 'columns' }))
    iterRows += (batch as Block).id.length;
  const iterPeak = await first();
  expect(iterRows).toBe(blocks * rowsPerBlock);
  expect(ds.stats()).not.toMatch(/still (held|counted)/);
  console.log(`iterBatches(100): peak ${(iterPeak / MiB).toFixed(1)} MiB`);
  expect(iterPeak).toBeLessThanOrEqual(budget);
  expect((await store!.stats()).spilledObjects).toBe(0);

  const stop = sampleStore();
  const [a, b] = ds.streamingSplit(2);
  const consume = async (it: data.DataIterator) => {
    let rows = 0;
    for await (const batch of it.iterBatches({ batchSize: 64, batchFormat: 'columns' }))
      rows += (batch as Block).id.length;
    return rows;
  };
  const rows = await Promise.all([consume(a!), consume(b!)]);
  const peak = await stop();
  // The driver gives back the last blocks' counts once the coordinator says every split ended
  // (after the consumers saw their end): wait for that, with a deadline.
  const deadline = Date.now() + 60_000;
  while (/still (held|counted)/.test(ds.stats()) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  const splitStats = ds.stats();
  console.log(
    `streamingSplit(2): rows ${rows.join(' + ')}, peak ${(peak / MiB).toFixed(1)} MiB\n${splitStats}`,
  );
  expect(rows[0]! + rows[1]!).toBe(blocks * rowsPerBlock);
  // The coordinator's buffered blocks were counted against the operator that made them...
  const held = /Store held for its outputs: at most ([\d.]+) MiB/.exec(splitStats);
  expect(Number(held?.[1])).toBeGreaterThanOrEqual(2);
  // ...and given back once handed out: nothing is still counted, and never more than the budget.
  expect(splitStats).not.toMatch(/still (held|counted)/);
  const counted = /at most ([\d.]+) MiB of blocks counted/.exec(splitStats);
  expect(Number(counted?.[1])).toBeLessThanOrEqual(budget / MiB);
  // Blocks handed out are the consumers' (prefetched, in use, views not yet collected): the
  // store holds more than the budget then, but stays well within its capacity.
  expect(peak).toBeLessThan(STORE);
  expect((await store!.stats()).spilledObjects).toBe(0);
});
