#!/usr/bin/env node
// Caller CPU per actor call made from inside a worker (an actor calling another actor, as
// Serve's handles do between deployments) against the same calls made from the driver, in one
// local cluster and interleaved rounds (driver, worker, worker, driver, ...) so load drifts into
// both. Two shapes: sync (await each call's result before the next) and pipelined (submit a
// window of calls, then get them all). CPU is process.cpuUsage() of the calling process around
// its loop (user + system), divided by the calls; the target's and the raylet's CPU are not in
// it. Issue 14: < 300 µs p50 added per handle hop.
//   node tools/bench/actor-calls.mjs [--rounds 5] [--calls 2000] [--window 100] [--json]
import os from 'node:os';
import * as tray from '@tray/core';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && Number(args[i + 1]) > 0 ? Number(args[i + 1]) : fallback;
};
const rounds = arg('--rounds', 5);
const calls = arg('--calls', 2000);
const window = arg('--window', 100);
const json = args.includes('--json');

class Target {
  noop(x) {
    return x;
  }
}

// The loops, the same text in the driver and (as shipped code) in the caller actor.
async function syncLoop(t, n) {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await tray.get(t.noop.remote(i));
  const wall = Number(process.hrtime.bigint() - start) / 1e3;
  const used = process.cpuUsage(cpu);
  return { cpuUs: (used.user + used.system) / n, wallUs: wall / n };
}

async function pipelinedLoop(t, n, w) {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i += w) {
    const refs = [];
    for (let j = i; j < Math.min(n, i + w); j++) refs.push(t.noop.remote(j));
    await tray.get(refs);
  }
  const wall = Number(process.hrtime.bigint() - start) / 1e3;
  const used = process.cpuUsage(cpu);
  return { cpuUs: (used.user + used.system) / n, wallUs: wall / n };
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const r = (v) => Math.round(v * 10) / 10;
  return { min: r(s[0]), median: r(s[Math.floor(s.length / 2)]), max: r(s[s.length - 1]) };
};

await tray.init({ numCpus: 2 });
try {
  const target = tray.remote(Target).options({ numCpus: 0 }).remote();
  // The caller actor runs the same loops; `tray` inside is the worker's own API.
  const Caller = tray
    .remote(
      new Function(
        `return class Caller {
          constructor(t) { this.t = t; }
          sync(n) { return (${syncLoop.toString()})(this.t, n); }
          pipelined(n, w) { return (${pipelinedLoop.toString()})(this.t, n, w); }
        }`,
      )(),
    )
    .options({ numCpus: 0 });
  const caller = Caller.remote(target);
  // Warm-up: both paths, both shapes, JIT and connections.
  await syncLoop(target, 200);
  await pipelinedLoop(target, 400, window);
  await tray.get(caller.sync.remote(200));
  await tray.get(caller.pipelined.remote(400, window));

  const samples = { driverSync: [], workerSync: [], driverPipe: [], workerPipe: [] };
  const wall = { driverSync: [], workerSync: [], driverPipe: [], workerPipe: [] };
  const push = (key, r) => {
    samples[key].push(r.cpuUs);
    wall[key].push(r.wallUs);
  };
  for (let r = 0; r < rounds; r++) {
    // A B B A: neither path always goes first.
    const order = r % 2 === 0 ? ['driver', 'worker'] : ['worker', 'driver'];
    for (const who of order) {
      if (who === 'driver') push('driverSync', await syncLoop(target, calls));
      else push('workerSync', await tray.get(caller.sync.remote(calls)));
    }
    for (const who of order) {
      if (who === 'driver') push('driverPipe', await pipelinedLoop(target, calls, window));
      else push('workerPipe', await tray.get(caller.pipelined.remote(calls, window)));
    }
  }
  const cpu = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, stats(v)]));
  const wallStats = Object.fromEntries(Object.entries(wall).map(([k, v]) => [k, stats(v)]));
  const ratio = (a, b) => Math.round((a / b) * 100) / 100;
  const result = {
    benchmark: 'actor-calls',
    rounds,
    calls,
    window,
    cpus: os.cpus().length,
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
    caller_cpu_us_per_call: cpu,
    wall_us_per_call: wallStats,
    worker_vs_driver_cpu_sync: ratio(cpu.workerSync.median, cpu.driverSync.median),
    worker_vs_driver_cpu_pipelined: ratio(cpu.workerPipe.median, cpu.driverPipe.median),
    worker_sync_cpu_us_p50: cpu.workerSync.median,
  };
  if (json) console.log(JSON.stringify(result));
  else {
    console.log(`actor calls, caller CPU per call (µs, min/median/max of ${rounds} rounds of ${calls}):`);
    for (const [k, v] of Object.entries(cpu)) {
      const w = wallStats[k];
      console.log(
        `  ${k.padEnd(11)} cpu ${v.min} / ${v.median} / ${v.max}   wall ${w.min} / ${w.median} / ${w.max}`,
      );
    }
    console.log(
      `  worker / driver CPU: sync ${result.worker_vs_driver_cpu_sync}x, pipelined ${result.worker_vs_driver_cpu_pipelined}x; load ${result.loadavg.join(' ')}`,
    );
  }
} finally {
  await tray.shutdown();
}
