#!/usr/bin/env node
// Where a randomShuffle's CPU goes on a local cluster: runs ds.randomShuffle({ seed }).count()
// over --mib MiB of rows (key and value, float64) in 16 materialized blocks, --rounds times after
// a warm-up, and prints for each run the wall time, MiB/s and the CPU seconds (user + system,
// from /proc/PID/stat) of every process of the cluster: the driver, each worker (map and reduce
// tasks), the raylet (with its object store), the GCS. CPU time holds on a loaded machine where
// wall time does not; the load average is printed. Compare with data-shuffle-cpu.mjs, the same
// tasks' code in one process: the difference is what the cluster adds (store copies, IPC).
// Options: --mib 256 --rounds 2. Linux only (/proc). Needs the built workspace.
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import * as tray from '@tray/core';
import * as data from '@tray/data';
import { makeVector, Table } from 'apache-arrow';
import { wholeNumberOption } from './lib.mjs';

const USAGE = 'node tools/bench/data-shuffle-procs.mjs [--mib 256] [--rounds 2]';
const option = (name, fallback) => wholeNumberOption(name, fallback, USAGE);
const MIB = option('--mib', 256);
const ROUNDS = option('--rounds', 2);
const BLOCKS = 16;
const ROWS = Math.floor((MIB * 2 ** 20) / 16);
const parts = [];
for (let b = 0; b < BLOCKS; b++) {
  const n = ROWS / BLOCKS;
  const k = new Float64Array(n),
    v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    k[i] = Math.random();
    v[i] = i;
  }
  parts.push(new Table({ key: makeVector(k), value: makeVector(v) }));
}
function procs() {
  const out = new Map();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const s = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out.set(p, {
        ppid: f[1],
        cpu: (Number(f[11]) + Number(f[12])) / 100,
        cmd: readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 90),
      });
    } catch {
      // The process exited between the listing and the read: not counted.
    }
  }
  return out;
}
function tree(all) {
  const mine = new Set([String(process.pid)]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [p, i] of all)
      if (!mine.has(p) && mine.has(i.ppid)) {
        mine.add(p);
        grew = true;
      }
  }
  return mine;
}
await tray.init({ numCpus: 2, objectStoreMemory: Math.max(256, MIB * 3) * 2 ** 20 });
const ds = await data.fromArrow(parts).materialize();
await ds.randomShuffle({ seed: 1 }).count();
for (let r = 0; r < ROUNDS; r++) {
  const a = procs();
  const t0 = Date.now();
  await ds.randomShuffle({ seed: 7 + r }).count();
  const wall = (Date.now() - t0) / 1000;
  const b = procs();
  const mine = tree(b);
  const rows = [];
  for (const p of mine) {
    const x = b.get(p),
      y = a.get(p);
    rows.push([((x?.cpu ?? 0) - (y?.cpu ?? 0)).toFixed(2), p === String(process.pid) ? 'DRIVER' : x.cmd]);
  }
  rows.sort((u, v) => v[0] - u[0]);
  const total = rows.reduce((t, r) => t + Number(r[0]), 0);
  console.log(
    `randomShuffle ${MIB} MiB: ${wall.toFixed(1)} s wall, ${(MIB / wall).toFixed(0)} MiB/s, ${total.toFixed(2)} s CPU in all, load ${loadavg()[0].toFixed(1)}`,
  );
  for (const r of rows.filter((r) => Number(r[0]) > 0.02)) console.log('  ', r[0], 's', r[1]);
}
await tray.shutdown();
