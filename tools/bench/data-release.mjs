#!/usr/bin/env node
// @tray/data's store memory without the driver's garbage collector: a pipeline producing
// --factor times the object store (range → mapBatches making 1 MiB blocks) consumed by
// count() (the driver never reads a block) and by iterBatches (it reads each one), on a local
// cluster with a --store MiB store. Prints, per consumer: wall time, the driver's CPU time
// (process.cpuUsage) per MiB streamed, its major garbage collections (PerformanceObserver), the
// store's peak use (sampled from its stats) against the executor's budget (half the store), and
// the load average. Target: peak ≤ budget for both, and for count() at most one major GC in
// the driver (the collection at the end of an execution): its blocks' refs are released, not
// left to the collector.
// Options: --store 32 --factor 10. Needs the built workspace (`npm run build`).
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import * as tray from '@tray/core';
import * as data from '@tray/data';
import { StoreClient } from '@tray/object-store';
import { wholeNumberOption } from './lib.mjs';

const USAGE = 'node tools/bench/data-release.mjs [--store 32] [--factor 10]';
const option = (name, fallback) => wholeNumberOption(name, fallback, USAGE);

const MiB = 2 ** 20;
const storeBytes = option('--store', 32) * MiB;
const blocks = (option('--factor', 10) * storeBytes) / MiB;
let majorGcs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (e.detail?.kind === 4) majorGcs++;
}).observe({ entryTypes: ['gc'] });

await tray.init({ numCpus: 2, objectStoreMemory: storeBytes, logToDriver: false });
// biome-ignore lint/suspicious/noUndeclaredEnvVars: set by tray in its workers, not a build input
const socket = await tray.get(tray.remote(() => process.env.TRAY_STORE_SOCKET ?? '').remote());
const store = await StoreClient.connect(socket);
const pipeline = () =>
  data
    .range(blocks * 128, { overrideNumBlocks: blocks })
    .mapBatches((b) => ({ id: b.id, payload: Array.from(b.id, () => new Uint8Array(8192).fill(7)) }), {
      batchFormat: 'columns',
    });

async function measure(name, consume) {
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, (await store.stats()).usedBytes);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  const gcsBefore = majorGcs;
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const rows = await consume();
  const wall = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  sampling = false;
  await sampler;
  const mib = blocks;
  const budget = storeBytes * data.DataContext.getCurrent().objectStoreMemoryFraction;
  return {
    consumer: name,
    rows,
    wall_s: +(wall / 1000).toFixed(2),
    driver_cpu_ms_per_mib: +((used.user + used.system) / 1000 / mib).toFixed(2),
    driver_major_gcs: majorGcs - gcsBefore,
    peak_mib: +(peak / MiB).toFixed(1),
    budget_mib: budget / MiB,
    peak_within_budget: peak <= budget,
  };
}

const results = [];
results.push(await measure('count', () => pipeline().count()));
results.push(
  await measure('iterBatches', async () => {
    let rows = 0;
    for await (const b of pipeline().iterBatches({ batchSize: null, batchFormat: 'arrow' }))
      rows += b.numRows;
    return rows;
  }),
);
await store.close();
await tray.shutdown();
console.table(results);
const countRun = results[0];
console.log(
  `load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; ${blocks} MiB through a ${storeBytes / MiB} MiB store; ` +
    `target (count: peak ≤ budget, ≤ 1 major GC in the driver) ${results.every((r) => r.peak_within_budget) && countRun.driver_major_gcs <= 1 ? 'met' : 'NOT met'}`,
);
