#!/usr/bin/env node
// The CPU cost of @tray/data's shuffle and sort tasks, without a cluster: runs the worker's own
// shuffleMap and shuffleReduce (the code a sort or randomShuffle runs in its tasks) in this
// process over --mib MiB of rows (key and value, float64) in --blocks blocks, and the same
// single-process index sort data-shuffle.mjs uses as its peer. CPU time is this process's
// (user + system), so the numbers hold on a loaded machine better than data-shuffle.mjs's wall
// times; the cluster's own costs (scheduling, store, IPC) are not in them.
// `--tasks PATH` runs another build's dist/worker/tasks.js (e.g. a copy of the old build) to
// compare before and after. Rounds alternate between data and the peer (--rounds, default 3);
// each number is the median. Needs the built workspace (`npm run build`).
import { loadavg } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeVector, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { median, wholeNumberOption } from './lib.mjs';

const USAGE = 'node tools/bench/data-shuffle-cpu.mjs [--mib 64] [--blocks 8] [--rounds 3] [--tasks PATH]';
const option = (name, fallback) => wholeNumberOption(name, fallback, USAGE);

const MIB = option('--mib', 64);
const BLOCKS = option('--blocks', 8);
const ROUNDS = option('--rounds', 3);
const ROWS = Math.floor((MIB * 2 ** 20) / 16);
const at = process.argv.indexOf('--tasks');
const tasksPath =
  at >= 0
    ? path.resolve(process.argv[at + 1])
    : new URL('../../packages/data/dist/worker/tasks.js', import.meta.url).pathname;
const tasks = await import(pathToFileURL(tasksPath).href);

function blocks() {
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
    out.push(tableToIPC(new Table({ key: makeVector(key), value: makeVector(value) }), 'stream'));
  }
  return out;
}

/** What a sort or randomShuffle runs in its tasks: sample, map each block, reduce each part. */
async function viaTasks(input, kind) {
  const n = input.length;
  let map = { kind: 'random', seed: 7 };
  const reduce =
    kind === 'sort' ? { kind: 'sort', key: ['key'], descending: false } : { kind: 'random', seed: 7 };
  if (kind === 'sort') {
    const all = input.flatMap((b) => tasks.sampleKeys(b, ['key'], 20)).sort((a, b) => a[0] - b[0]);
    const boundaries = [];
    for (let i = 1; i < n; i++) boundaries.push(all[Math.floor((i * all.length) / n)]);
    map = { kind: 'range', key: ['key'], boundaries, descending: false };
  }
  const parts = input.map((b, i) => tasks.shuffleMap(b, map, n, i));
  const out = [];
  for (let r = 0; r < n; r++) out.push((await tasks.shuffleReduce(reduce, r, ...parts.map((p) => p[r])))[0]);
  return out;
}

function peerSort(input) {
  const tables = input.map((b) => tableFromIPC(b));
  const key = new Float64Array(ROWS);
  const value = new Float64Array(ROWS);
  let o = 0;
  for (const t of tables) {
    key.set(t.getChild('key').toArray(), o);
    value.set(t.getChild('value').toArray(), o);
    o += t.numRows;
  }
  const indices = ROWS <= 2 ** 26 ? new Uint32Array(ROWS) : new Array(ROWS);
  for (let i = 0; i < ROWS; i++) indices[i] = i;
  const order = indices.sort((a, b) => key[a] - key[b]);
  const k = new Float64Array(ROWS);
  const v = new Float64Array(ROWS);
  for (let i = 0; i < ROWS; i++) {
    k[i] = key[order[i]];
    v[i] = value[order[i]];
  }
  return tableToIPC(new Table({ key: makeVector(k), value: makeVector(v) }), 'stream');
}

async function measure(fn) {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await fn();
  const used = process.cpuUsage(cpu);
  return { cpu: (used.user + used.system) / 1e6, wall: Number(process.hrtime.bigint() - start) / 1e9 };
}

const input = blocks();
const runs = { sort: [], shuffle: [], peer: [] };
for (let r = 0; r < ROUNDS; r++) {
  runs.sort.push(await measure(() => viaTasks(input, 'sort')));
  runs.peer.push(await measure(() => peerSort(input)));
  runs.shuffle.push(await measure(() => viaTasks(input, 'random')));
}
const result = { input_mib: MIB, blocks: BLOCKS, rounds: ROUNDS, tasks: tasksPath };
for (const [name, list] of Object.entries(runs)) {
  result[`${name}_cpu_s`] = Number(median(list.map((m) => m.cpu)).toFixed(2));
  result[`${name}_wall_s`] = Number(median(list.map((m) => m.wall)).toFixed(2));
}
result.sort_cpu_vs_peer = Number((result.peer_cpu_s / result.sort_cpu_s).toFixed(2));
result.loadavg_1m = Number(loadavg()[0].toFixed(2));
console.log(
  `${MIB} MiB in ${BLOCKS} blocks, median of ${ROUNDS} (load ${result.loadavg_1m}): sort tasks ${result.sort_cpu_s} s CPU (${result.sort_wall_s} s wall), randomShuffle tasks ${result.shuffle_cpu_s} s CPU (${result.shuffle_wall_s} s wall), single-process sort ${result.peer_cpu_s} s CPU (${result.peer_wall_s} s wall)`,
);
console.log(JSON.stringify(result));
