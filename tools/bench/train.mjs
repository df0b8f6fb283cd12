#!/usr/bin/env node
import { mkdtempSync, rmSync } from 'node:fs';
// @tray/train's data-parallel speed-up: the tfjs MLP of packages/train/examples/mlp.mjs trained
// with DataParallelTrainer on 2 workers (gradients averaged by allReduce every step) against 1
// worker, same global batch and steps, in interleaved rounds (2, 1, 1, 2, 2, 1, ...) so that a
// change in the machine's load hits both alike. Throughput is samples per second between the
// first and the last epoch's report (epoch 0 is the warm-up: worker start, tfjs load, JIT), so
// cluster start-up is not in it. Issue 15's target: 2 workers ≥ 1.6× 1 worker. The machine's
// load average is printed before and after (on a shared machine the ratio is only as good as
// the CPUs the workers got: each round prints the share of a CPU rank 0's process got): rerun
// when the machine is quiet with `node tools/bench/train.mjs`.
// Prints a table; `--json` also prints one JSON line last:
//   { two_workers_samples_per_s, one_worker_samples_per_s, ratio, rounds, load_before, load_after, ... }
// Options: --rounds 3 --epochs 6 --rows 8192 --batch 512 --hidden 256 --cpus 2.
// Needs the built workspace (`npm run build`).
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tray from '@tray/core';
import * as train from '@tray/train';

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`${name} must be a whole number ≥ 1, got '${process.argv[at + 1] ?? ''}'`);
    console.error(
      'usage: node tools/bench/train.mjs [--json] [--rounds 3] [--epochs 6] [--rows 8192] [--batch 512] [--hidden 256] [--cpus 2]',
    );
    process.exit(2);
  }
  return value;
}

const ROUNDS = option('--rounds', 3);
const EPOCHS = Math.max(2, option('--epochs', 6));
const ROWS = option('--rows', 8192);
const BATCH = option('--batch', 512);
const HIDDEN = option('--hidden', 256);
const CPUS = option('--cpus', 2);
const json = process.argv.includes('--json');

const here = path.dirname(fileURLToPath(import.meta.url));
const MODULE = pathToFileURL(path.join(here, '../../packages/train/examples/mlp.mjs')).href;
const trainMlp = tray.remote(async (_config) => undefined, { module: MODULE, exportName: 'trainMlp' });
const config = { rows: ROWS, batchSize: BATCH, epochs: EPOCHS, lr: 0.05, hidden: HIDDEN };
const storagePath = mkdtempSync(path.join(tmpdir(), 'tray-bench-train-'));

/** Samples/s of one run, between the first and the last report. */
async function run(numWorkers, round) {
  const result = await new train.DataParallelTrainer(trainMlp, {
    trainLoopConfig: config,
    scalingConfig: { numWorkers },
    runConfig: { name: `bench-${numWorkers}w-${round}`, storagePath, verbose: false },
  }).fit();
  if (result.error) throw result.error;
  const h = result.metricsHistory;
  const seconds = h[h.length - 1].time_total_s - h[0].time_total_s;
  const samples = h.slice(1).reduce((t, m) => t + m.samples, 0);
  const compute = h.slice(1).reduce((t, m) => t + m.compute_s, 0);
  const allReduce = h.slice(1).reduce((t, m) => t + m.allreduce_s, 0);
  const cpu = h.slice(1).reduce((t, m) => t + m.cpu_s, 0);
  return {
    samplesPerS: samples / seconds,
    finalLoss: h[h.length - 1].loss,
    compute,
    allReduce,
    cpu,
    seconds,
  };
}

const loadBefore = loadavg()[0];
await tray.init({ numCpus: CPUS });
const rates = { 1: [], 2: [] };
const allReduceShare = [];
/** CPU-seconds per sample over all workers (rank 0's times numWorkers). */
const cpuPerSample = { 1: [], 2: [] };
try {
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? [2, 1] : [1, 2];
    for (const n of order) {
      const r = await run(n, round);
      rates[n].push(r.samplesPerS);
      console.error(
        `round ${round + 1}: ${n} worker(s) ${r.samplesPerS.toFixed(0)} samples/s (loss ${r.finalLoss.toFixed(4)}; ` +
          `rank 0: ${r.compute.toFixed(2)} s in tfjs, ${r.allReduce.toFixed(2)} s in allReduce of ${r.seconds.toFixed(2)} s, ` +
          `${r.cpu.toFixed(2)} CPU-s: ${((100 * r.cpu) / r.seconds).toFixed(0)}% of a CPU)`,
      );
      if (n === 2) allReduceShare.push(r.allReduce / r.seconds);
      cpuPerSample[n].push((n * r.cpu) / (r.samplesPerS * r.seconds));
    }
  }
} finally {
  await tray.shutdown();
  rmSync(storagePath, { recursive: true, force: true });
}
const loadAfter = loadavg()[0];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const two = median(rates[2]);
const one = median(rates[1]);
const ratio = two / one;
console.log(
  `MLP ${8}-${HIDDEN}-1, global batch ${BATCH}, ${ROWS} rows, ${EPOCHS} epochs, ${ROUNDS} interleaved rounds`,
);
console.log(`  2 workers: ${two.toFixed(0)} samples/s (median)`);
console.log(`  1 worker:  ${one.toFixed(0)} samples/s (median)`);
console.log(`  ratio 2/1: ${ratio.toFixed(2)} (target ≥ 1.6)`);
const efficiency = median(cpuPerSample[1]) / median(cpuPerSample[2]);
console.log(
  `  CPU-s per sample, 1 worker / 2 workers: ${efficiency.toFixed(2)} (1.00: the work splits without overhead; ` +
    'on a shared machine the wall-clock ratio is bounded by the CPU share the workers get)',
);
console.log(
  `  share of a 2-worker run rank 0 spent waiting in allReduce: ${median(allReduceShare).toFixed(2)} (median)`,
);
console.log(
  `  load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after, on ${cpus().length} CPUs`,
);
if (json) {
  console.log(
    JSON.stringify({
      two_workers_samples_per_s: two,
      one_worker_samples_per_s: one,
      ratio,
      allreduce_share: median(allReduceShare),
      cpu_efficiency: efficiency,
      rounds: ROUNDS,
      two_workers_rounds: rates[2],
      one_worker_rounds: rates[1],
      load_before: loadBefore,
      load_after: loadAfter,
      cpus: cpus().length,
      config,
    }),
  );
}
