#!/usr/bin/env node
// @tray/data's operators sharing a cluster: read -> map(slow) -> map(fast) over --mib MiB of
// 1 MiB blocks through a 32 MiB store on 2 CPUs (16 MiB budget), consumed by iterBatches. The
// slow map hashes each block 30 times and marks it done in a directory, so the run shows how
// far the slow operator got when the first block reached the driver (the fast one kept up, not
// starved). Prints one JSON line: time to the first block, the slow map's blocks done then, wall
// time, the store's peak (sampled from its stats), spilled objects, the most blocks counted
// against the budget at once (from stats()) and the load average.
// Options: --mib 64. Needs the built workspace (`npm run build`).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tray from '@tray/core';
import * as data from '@tray/data';
import { StoreClient } from '@tray/object-store';

const MiB = 2 ** 20;
const at = process.argv.indexOf('--mib');
const blocks = at < 0 ? 64 : Number(process.argv[at + 1]);
if (!Number.isInteger(blocks) || blocks < 1) {
  console.error(`--mib must be a whole number ≥ 1, got '${process.argv[at + 1] ?? ''}'`);
  console.error('usage: node tools/bench/data-operators.mjs [--mib 64]');
  process.exit(2);
}
const marks = mkdtempSync(path.join(os.tmpdir(), 'tray-bench-operators-'));
await tray.init({ numCpus: 2, objectStoreMemory: 32 * MiB, logToDriver: false });
data.DataContext.getCurrent().enableProgressBars = false;
// biome-ignore lint/suspicious/noUndeclaredEnvVars: set by tray in its workers, not a build input
const socket = await tray.get(tray.remote(() => process.env.TRAY_STORE_SOCKET ?? '').remote());
const store = await StoreClient.connect(socket);
const ds = data
  .range(blocks * 16, { overrideNumBlocks: blocks })
  .mapBatches((b) => ({ id: b.id, payload: Array.from(b.id, () => new Uint8Array(65536).fill(5)) }), {
    batchFormat: 'columns',
  })
  .mapBatches(
    function slow(b) {
      const { createHash } = require('node:crypto');
      for (let round = 0; round < 30; round++) {
        const hash = createHash('sha256');
        for (const p of b.payload) hash.update(p);
        hash.digest();
      }
      require('node:fs').writeFileSync(`${marks}/slow-${b.id[0]}`, '');
      return b;
    },
    { batchFormat: 'columns', concurrency: 2, captures: { marks } },
  )
  .mapBatches(
    function fast(b) {
      return b;
    },
    { batchFormat: 'columns', numCpus: 0.5 },
  );
let peak = 0;
let sampling = true;
const sampler = (async () => {
  while (sampling) {
    peak = Math.max(peak, (await store.stats()).usedBytes);
    await new Promise((r) => setImmediate(r));
  }
})();
const t0 = performance.now();
let first = -1;
let slowAtFirst = -1;
let rows = 0;
for await (const b of ds.iterBatches({ batchSize: null })) {
  if (first < 0) {
    first = performance.now() - t0;
    slowAtFirst = readdirSync(marks).length;
  }
  rows += b.id.length;
}
const wall = performance.now() - t0;
sampling = false;
await sampler;
const counted = /at most ([\d.]+) MiB of blocks counted/.exec(ds.stats());
console.log(
  JSON.stringify({
    rows,
    first_block_s: +(first / 1000).toFixed(2),
    slow_done_at_first: slowAtFirst,
    blocks,
    wall_s: +(wall / 1000).toFixed(2),
    peak_mib: +(peak / MiB).toFixed(1),
    spilled: (await store.stats()).spilledObjects,
    counted_peak_mib: counted ? Number(counted[1]) : null,
    loadavg_1m: +os.loadavg()[0].toFixed(1),
  }),
);
store.close();
await tray.shutdown();
rmSync(marks, { recursive: true, force: true });
