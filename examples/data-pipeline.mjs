// Data: a pipeline of @tray/data on a local cluster. 1,000 rows are bucketed by id % 4 in map
// tasks, written to Parquet (one file per block) and read back, and the mean id per bucket is
// computed by a distributed groupBy. Progress per operator goes to stderr.
// Run it with `node examples/data-pipeline.mjs` after `npm run build`.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tray from '@tray/core';
import * as data from '@tray/data';

await tray.init();
const dir = mkdtempSync(path.join(os.tmpdir(), 'tray-example-'));
try {
  const files = await data
    .range(1000, { overrideNumBlocks: 4 })
    .map((row) => ({ id: row.id, bucket: row.id % 4 }))
    .writeParquet(dir);
  const means = await data.readParquet(dir).groupBy('bucket').mean('id').takeAll();
  console.log(files.length);
  console.log(means.map((r) => r['mean(id)']));
} finally {
  rmSync(dir, { recursive: true, force: true });
  await tray.shutdown();
}
