#!/usr/bin/env node
// @tray/data's all-to-all operators and its consumer path, each against a single-process peer
// in the same run on the same data:
//   - randomShuffle({ seed }) and sort('key') of --mib MiB of rows (key and value, float64) held
//     as --blocks blocks in the object store, in MiB/s, against one process sorting the same rows
//     (Float64Array keys, an index sort, the columns gathered: the best plain Node can do), with
//     the node store's peak use during each (sampled from the store's own stats);
//   - iterBatches({ batchSize: 256 }) over Parquet files, in batches/s, against reading the same
//     files with parquet-wasm in this process and slicing them into 256-row batches.
// Ratios are peer time / data time (> 1: data is faster). `--json` prints one JSON line last.
// Options: --mib 64 --blocks 8 --cpus 2 --iter-mib (default: --mib, at most 128: iterBatches
// goes over the first rows only). TRAY_BENCH_ISSUE_SIZES=1 makes the default --mib 2048 (issue
// 13's size) and --blocks 16. Needs the built workspace (`npm run build`).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import * as tray from '@tray/core';
import * as data from '@tray/data';
import { StoreClient } from '@tray/object-store';
import { makeVector, Table, tableFromIPC } from 'apache-arrow';
import * as pw from 'parquet-wasm';
import { wholeNumberOption } from './lib.mjs';

const USAGE = 'node tools/bench/data-shuffle.mjs [--json] [--mib 64] [--blocks 8] [--cpus 2] [--iter-mib 64]';
const option = (name, fallback) => wholeNumberOption(name, fallback, USAGE);

// biome-ignore lint/suspicious/noUndeclaredEnvVars: read by this script, not a build input
const ISSUE_SIZES = process.env.TRAY_BENCH_ISSUE_SIZES === '1';
const MIB = option('--mib', ISSUE_SIZES ? 2048 : 64);
const BLOCKS = option('--blocks', ISSUE_SIZES ? 16 : 8);
const ITER_MIB = option('--iter-mib', Math.min(MIB, 128));
const CPUS = option('--cpus', 2);
const json = process.argv.includes('--json');
const ROWS = Math.floor((MIB * 2 ** 20) / 16);

function tables() {
  const out = [];
  let seed = 12345;
  for (let b = 0; b < BLOCKS; b++) {
    const n = Math.floor(((b + 1) * ROWS) / BLOCKS) - Math.floor((b * ROWS) / BLOCKS);
    const key = new Float64Array(n);
    const value = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      key[i] = seed / 2147483648;
      value[i] = b * n + i;
    }
    out.push(new Table({ key: makeVector(key), value: makeVector(value) }));
  }
  return out;
}

function peerSort(parts) {
  const key = new Float64Array(ROWS);
  const value = new Float64Array(ROWS);
  let at = 0;
  for (const t of parts) {
    key.set(t.getChild('key').toArray(), at);
    value.set(t.getChild('value').toArray(), at);
    at += t.numRows;
  }
  // V8 sorts a typed array with a comparator only up to 2^27 elements; past that, a plain array.
  const indices = ROWS <= 2 ** 26 ? new Uint32Array(ROWS) : new Array(ROWS);
  for (let i = 0; i < ROWS; i++) indices[i] = i;
  const order = indices.sort((a, b) => key[a] - key[b]);
  const k = new Float64Array(ROWS);
  const v = new Float64Array(ROWS);
  for (let i = 0; i < ROWS; i++) {
    k[i] = key[order[i]];
    v[i] = value[order[i]];
  }
  return new Table({ key: makeVector(k), value: makeVector(v) });
}

async function timed(fn) {
  const start = process.hrtime.bigint();
  const result = await fn();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, result };
}

async function withPeak(store, fn) {
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, (await store.stats()).usedBytes);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    return { ...(await fn()), peak: () => peak };
  } finally {
    sampling = false;
    await sampler;
  }
}

const work = mkdtempSync(path.join(tmpdir(), 'tray-bench-shuffle-'));
try {
  const parts = tables();
  // Input, map parts and output of a shuffle fit three times the input (the input stays: it is
  // a materialized dataset).
  await tray.init({ numCpus: CPUS, objectStoreMemory: Math.max(256, MIB * 3) * 2 ** 20 });
  // biome-ignore lint/suspicious/noUndeclaredEnvVars: set by the raylet in its workers, not a build input
  const socket = await tray.get(tray.remote(() => process.env.TRAY_STORE_SOCKET ?? '').remote());
  const store = await StoreClient.connect(socket);
  const ds = await data.fromArrow(parts).materialize();
  await ds.randomShuffle({ seed: 1 }).count(); // warm-up: workers started

  const shuffle = await withPeak(store, () => timed(() => ds.randomShuffle({ seed: 7 }).count()));
  const shufflePeak = shuffle.peak();
  // Each number as soon as it is measured: a long run that fails later keeps them.
  console.log(
    `  (randomShuffle ${shuffle.seconds.toFixed(1)} s, store peak ${Math.round(shufflePeak / 2 ** 20)} MiB)`,
  );
  const sort = await withPeak(store, () => timed(() => ds.sort('key').count()));
  const sortPeak = sort.peak();
  console.log(`  (sort ${sort.seconds.toFixed(1)} s, store peak ${Math.round(sortPeak / 2 ** 20)} MiB)`);
  const peer = await timed(() => peerSort(parts));

  // iterBatches over Parquet files against reading them here.
  const files = path.join(work, 'pq');
  mkdirSync(files);
  const iterRows = Math.floor((ITER_MIB * 2 ** 20) / 16);
  await ds.limit(iterRows).writeParquet(files);
  const iter = await timed(async () => {
    let n = 0;
    for await (const _ of data.readParquet(files).iterBatches({ batchSize: 256, batchFormat: 'arrow' })) n++;
    return n;
  });
  const direct = await timed(() => {
    let n = 0;
    for (const name of readdirSync(files).sort()) {
      // One record batch per file, as @tray/data's read tasks ask for.
      const t = tableFromIPC(
        pw.readParquet(readFileSync(path.join(files, name)), { batchSize: 1 << 30 }).intoIPCStream(),
      );
      for (let s = 0; s < t.numRows; s += 256) {
        t.slice(s, s + 256);
        n++;
      }
    }
    return n;
  });
  store.close();
  await tray.shutdown();

  const mibPerS = (s) => Math.round(MIB / s);
  const result = {
    shuffle_mib_per_s: mibPerS(shuffle.seconds),
    sort_mib_per_s: mibPerS(sort.seconds),
    single_process_sort_mib_per_s: mibPerS(peer.seconds),
    sort_ratio: Number((peer.seconds / sort.seconds).toFixed(2)),
    shuffle_store_peak_mib: Math.round(shufflePeak / 2 ** 20),
    sort_store_peak_mib: Math.round(sortPeak / 2 ** 20),
    iter_batches_per_s: Math.round(iter.result / iter.seconds),
    direct_batches_per_s: Math.round(direct.result / direct.seconds),
    iter_ratio: Number((direct.seconds / iter.seconds).toFixed(2)),
    input_mib: MIB,
    iter_input_mib: ITER_MIB,
    blocks: BLOCKS,
    cpus: CPUS,
    loadavg_1m: Number(loadavg()[0].toFixed(2)),
  };
  console.log(`${MIB} MiB of rows in ${BLOCKS} blocks, ${CPUS} CPUs (load ${result.loadavg_1m})`);
  console.log(
    `  randomShuffle ${result.shuffle_mib_per_s} MiB/s, store peak ${result.shuffle_store_peak_mib} MiB`,
  );
  console.log(`  sort          ${result.sort_mib_per_s} MiB/s, store peak ${result.sort_store_peak_mib} MiB`);
  console.log(
    `  single-process sort ${result.single_process_sort_mib_per_s} MiB/s  (ratio ${result.sort_ratio}x)`,
  );
  console.log(
    `  iterBatches(256) over ${ITER_MIB} MiB of Parquet ${result.iter_batches_per_s} batches/s vs reading the files here ${result.direct_batches_per_s} (ratio ${result.iter_ratio}x)`,
  );
  if (json) console.log(JSON.stringify(result));
} finally {
  rmSync(work, { recursive: true, force: true });
}
