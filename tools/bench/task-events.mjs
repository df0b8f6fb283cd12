#!/usr/bin/env node
// Task events' cost on the hot path (issue 12, target < 5%), in CPU time: a driver runs
// single_client_tasks_async's workload (batches of 1,000 `f.remote()` then one `get`) on its own
// local cluster, once with task events on (reported every 1000 ms, the default) and once off
// (TRAY_TASK_EVENTS_REPORT_INTERVAL_MS=0), in interleaved rounds (on, off, off, on, ...). Each
// round reads the user+system CPU of every process of its cluster (driver, GCS, raylet, workers:
// /proc/<pid>/stat of the driver's descendants) before and after the measured batches, so the
// result is CPU per task — what events add whatever else the machine runs — beside the
// throughput (wall time, which a loaded machine moves a lot). After the batches the round waits
// for one more report so the last second's events are counted too.
//   node tools/bench/task-events.mjs [--rounds 5] [--round-ms 4000] [--json]
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(here), '../..');
const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && Number(args[i + 1]) > 0 ? Number(args[i + 1]) : fallback;
};
const BATCH = 1000;
const TICKS_PER_S = 100; // Linux's USER_HZ: /proc's CPU times are in 1/100 s.

/** CPU seconds (user + system) of `pid` and all its descendants, by kind of process. */
function treeCpu(pid) {
  const parent = new Map();
  const stats = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command (which may hold spaces) in parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(entry), Number(fields[1]));
      stats.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S);
    } catch {
      // The process ended while we looked.
    }
  }
  const isDescendant = (p) => {
    for (let q = p, hops = 0; q > 1 && hops < 64; q = parent.get(q) ?? 0, hops++) if (q === pid) return true;
    return false;
  };
  const byKind = {};
  for (const [p, cpu] of stats) {
    if (!isDescendant(p)) continue;
    const kind = p === pid ? 'driver' : kindOf(p);
    byKind[kind] = (byKind[kind] ?? 0) + cpu;
  }
  return byKind;
}

function kindOf(pid) {
  let cmd = '';
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {}
  for (const kind of ['gcs', 'raylet', 'worker', 'dashboard', 'agent']) if (cmd.includes(kind)) return kind;
  return 'other';
}

async function child() {
  const tray = await import(path.join(root, 'packages/core/dist/index.js'));
  const roundMs = arg('--round-ms', 4000);
  await tray.init({ includeDashboard: false });
  const f = tray.remote(() => 'ok');
  const batch = () => tray.get(Array.from({ length: BATCH }, () => f.remote()));
  for (let i = 0; i < 10; i++) await batch();
  // Let the warm-up's events be reported before the measurement starts.
  await new Promise((r) => setTimeout(r, 1500));
  const before = treeCpu(process.pid);
  const t0 = performance.now();
  let tasks = 0;
  while (performance.now() - t0 < roundMs) {
    await batch();
    tasks += BATCH;
  }
  const wallS = (performance.now() - t0) / 1000;
  // One more report interval: the events of the last second are sent (and merged) now.
  await new Promise((r) => setTimeout(r, 1500));
  const after = treeCpu(process.pid);
  const cpuUsPerTask = {};
  let total = 0;
  for (const kind of Object.keys(after)) {
    const s = after[kind] - (before[kind] ?? 0);
    cpuUsPerTask[kind] = Number(((s / tasks) * 1e6).toFixed(2));
    total += s;
  }
  cpuUsPerTask.total = Number(((total / tasks) * 1e6).toFixed(2));
  await tray.shutdown();
  process.stdout.write(`${JSON.stringify({ tasks, tasksPerS: Math.round(tasks / wallS), cpuUsPerTask })}\n`);
}

function once(eventsOn) {
  const env = { ...process.env, TRAY_TASK_EVENTS_REPORT_INTERVAL_MS: eventsOn ? '1000' : '0' };
  delete env.TRAY_ADDRESS;
  const out = execFileSync(process.execPath, [here, '--child', ...args], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop());
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs) => ({ min: Math.min(...xs), median: median(xs), max: Math.max(...xs) });

async function main() {
  const rounds = arg('--rounds', 5);
  const json = args.includes('--json');
  const on = [];
  const off = [];
  const loadStart = os.loadavg()[0];
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first, so neither always runs on a warmer machine.
    for (const eventsOn of r % 2 === 0 ? [true, false] : [false, true]) {
      const v = once(eventsOn);
      (eventsOn ? on : off).push(v);
      const parts = Object.entries(v.cpuUsPerTask)
        .map(([k, us]) => `${k} ${us}`)
        .join(', ');
      process.stderr.write(
        `round ${r + 1}: events ${eventsOn ? 'on ' : 'off'} ${v.tasksPerS} tasks/s; CPU µs/task: ${parts}\n`,
      );
    }
  }
  const kinds = [...new Set([...on, ...off].flatMap((v) => Object.keys(v.cpuUsPerTask)))];
  const cpu = (vs) =>
    Object.fromEntries(kinds.map((k) => [k, median(vs.map((v) => v.cpuUsPerTask[k] ?? 0))]));
  const result = {
    cpu_us_per_task_on: cpu(on),
    cpu_us_per_task_off: cpu(off),
    cpu_cost_pct: Number(
      (
        (median(on.map((v) => v.cpuUsPerTask.total)) / median(off.map((v) => v.cpuUsPerTask.total)) - 1) *
        100
      ).toFixed(2),
    ),
    tasks_per_s_on: median(on.map((v) => v.tasksPerS)),
    tasks_per_s_off: median(off.map((v) => v.tasksPerS)),
    // Each round's total CPU per task, and the on/off ratio of each round's pair: a loaded
    // machine moves single rounds a lot, so the spread says how far to trust the medians.
    cpu_total_on: spread(on.map((v) => v.cpuUsPerTask.total)),
    cpu_total_off: spread(off.map((v) => v.cpuUsPerTask.total)),
    pair_ratio: spread(
      on.map((v, i) => Number((v.cpuUsPerTask.total / off[i].cpuUsPerTask.total).toFixed(3))),
    ),
    rounds,
    load_1m: { start: Number(loadStart.toFixed(2)), end: Number(os.loadavg()[0].toFixed(2)) },
  };
  result.throughput_cost_pct = Number(
    ((1 - result.tasks_per_s_on / result.tasks_per_s_off) * 100).toFixed(2),
  );
  if (json) process.stdout.write(`${JSON.stringify({ task_events: result })}\n`);
  else
    console.log(
      `single_client_tasks_async workload: CPU per task ${result.cpu_us_per_task_on.total} µs with events, ` +
        `${result.cpu_us_per_task_off.total} µs without: +${result.cpu_cost_pct}% ` +
        `(throughput ${result.tasks_per_s_on}/s vs ${result.tasks_per_s_off}/s, ${result.throughput_cost_pct}%)\n` +
        `  with:    ${JSON.stringify(result.cpu_us_per_task_on)}\n  without: ${JSON.stringify(result.cpu_us_per_task_off)}\n` +
        `  per-round on/off ratio ${JSON.stringify(result.pair_ratio)}; load ${result.load_1m.start} → ${result.load_1m.end}`,
    );
}

if (args.includes('--child')) await child();
else await main();
