#!/usr/bin/env node
// `npm run bench`: runs every benchmark of tools/bench (transport, store, peers, put-get, init, multinode, data, data-shuffle, data-shuffle-cpu, data-iter, data-release, runtime-env, tune-search, serve, actor-calls, envelope, collectives, train, tune — those present)
// and `tray microbenchmark`, one after the other, each with `--json`; keeps each one's last JSON
// line and writes tools/bench/results/<YYYY-MM-DD>.json (UTC date) with the machine described, so
// a regression shows in review. Prints a summary: issue 6's targets (value, target, met) and the
// ratios. A benchmark that fails (non-zero exit, no JSON line, over its deadline) is reported as
// failed and the others still run; the exit code is then 1.
//   --only NAME[,NAME]  run only these (transport, store, peers, put-get, init, multinode, data, data-shuffle, data-shuffle-cpu, data-iter, data-release, runtime-env, tune-search, serve, actor-calls, envelope, collectives, train, tune, microbenchmark); the others'
//                       results already in today's file are kept
//   --quick             shorter rounds where a benchmark supports them (numbers are rougher)
// Children's output goes to stderr as they run; the summary goes to stdout.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const DEADLINE_MS = 30 * 60_000;

/** Each benchmark: how to run it, and the extra arguments of --quick. */
const BENCHMARKS = [
  { name: 'transport', file: 'transport.mjs', quick: ['--rounds', '2', '--seconds', '0.25'] },
  { name: 'store', file: 'store.mjs', quick: [] },
  {
    name: 'peers',
    file: 'peers.mjs',
    quick: ['--rounds', '1', '--round-ms', '1000', '--warmup-ms', '200', '--init-samples', '1'],
  },
  { name: 'put-get', file: 'put-get.mjs', quick: ['--rounds', '3'] },
  { name: 'init', file: 'init.mjs', quick: ['--samples', '1', '--repeats', '1'] },
  { name: 'multinode', file: 'multinode.mjs', quick: ['--rounds', '1'] },
  { name: 'data', file: 'data-map.mjs', quick: ['--mib', '64', '--rounds', '1'] },
  { name: 'data-shuffle', file: 'data-shuffle.mjs', quick: ['--mib', '16'] },
  { name: 'data-shuffle-cpu', file: 'data-shuffle-cpu.mjs', quick: ['--mib', '16', '--rounds', '1'] },
  { name: 'data-iter', file: 'data-iter.mjs', quick: ['--mib', '16', '--rounds', '1'] },
  { name: 'data-release', file: 'data-release.mjs', quick: ['--factor', '4'] },
  { name: 'runtime-env', file: 'runtime-env.mjs', quick: ['--rounds', '1'] },
  { name: 'tune-search', file: 'tune-search.mjs', quick: ['--seeds', '3', '--trials', '200'] },
  { name: 'serve', file: 'serve.mjs', quick: ['--seconds', '2'] },
  { name: 'actor-calls', file: 'actor-calls.mjs', quick: ['--rounds', '2', '--calls', '300'] },
  { name: 'envelope', file: 'envelope.mjs', quick: ['--quick'] },
  { name: 'task-events', file: 'task-events.mjs', quick: ['--rounds', '1', '--round-ms', '1500'] },
  {
    name: 'dashboard-soak',
    file: 'dashboard-soak.mjs',
    quick: ['--tasks', '50000', '--max-s', '60', '--sample-s', '2'],
  },
  { name: 'state-list', file: 'state-list.mjs', quick: ['--rounds', '1'] },
  {
    name: 'metrics-cost',
    file: 'metrics-cost.mjs',
    quick: ['--pairs', '1', '--round-ms', '500', '--rounds', '1'],
  },
  { name: 'collectives', file: 'collectives.mjs', quick: ['--rounds', '1', '--max-mib', '64'] },
  { name: 'train', file: 'train.mjs', quick: ['--rounds', '1', '--epochs', '2'] },
  { name: 'tune', file: 'tune.mjs', quick: ['--trials', '10', '--results', '200', '--quality-trials', '15'] },
  {
    name: 'microbenchmark',
    // `npx tray microbenchmark`, without npx: the workspace's own bin, never a registry lookup.
    command: [process.execPath, path.join(root, 'packages/cli/dist/bin.js'), 'microbenchmark'],
    quick: ['--rounds', '1', '--round-ms', '500', '--warmup-ms', '200'],
  },
];

/** Issue 6's targets: where each value is found in the results, and which way is better. */
const TARGETS = [
  { label: 'single_client_tasks_sync', at: ['microbenchmark', 'single_client_tasks_sync'], min: 3000 },
  { label: 'single_client_tasks_async', at: ['microbenchmark', 'single_client_tasks_async'], min: 15000 },
  { label: '1_1_actor_calls_sync', at: ['microbenchmark', '1_1_actor_calls_sync'], min: 5000 },
  { label: '1_1_actor_calls_async', at: ['microbenchmark', '1_1_actor_calls_async'], min: 20000 },
  {
    label: 'single_client_put_calls',
    at: ['microbenchmark', 'single_client_put_calls_Plasma_Store'],
    min: 20000,
  },
  {
    label: 'single_client_get_calls',
    at: ['microbenchmark', 'single_client_get_calls_Plasma_Store'],
    min: 40000,
  },
  {
    label: 'put_gigabytes / memcpy',
    value: (r) => ratio(r.microbenchmark?.single_client_put_gigabytes, r.microbenchmark?.memcpy_gigabytes),
    min: 0.8,
  },
  { label: 'init → first result (ms)', at: ['peers', 'init_to_first_result_ms'], max: 1000 },
  { label: 'tray / piscina tasks', at: ['peers', 'ratio'], min: 1.0 },
  // Issue 17's, from the same runs.
  {
    label: 'put 800 MB / warm memcpy, median (17)',
    value: (r) => r['put-get']?.put_vs_memcpy?.median,
    min: 0.9,
  },
  { label: 'get 800 MB in the putting process, ms (17)', value: (r) => r['put-get']?.get_ms?.median, max: 1 },
  { label: 'tray / piscina, batches, worst round (17)', at: ['peers', 'ratio_min'], min: 2.0 },
  { label: 'tray / piscina, one at a time, worst (17)', at: ['peers', 'single_ratio_min'], min: 0.5 },
  {
    label: 'init → first result, fresh process (17)',
    value: (r) => r.init?.fresh_ms?.median ?? r.peers?.init_to_first_result_ms,
    max: 500,
  },
  { label: 'init → first result after shutdown (17)', value: (r) => r.init?.again_ms?.median, max: 400 },
  // Issue 15's collectives targets (2 workers): allReduce bus bandwidth / memcpy, and latency.
  { label: 'allReduce >= 16 MiB bus bw / memcpy', at: ['collectives', 'min_ratio_16mib_up'], min: 0.5 },
  { label: 'allReduce 1 KiB (µs)', at: ['collectives', 'latency_1kib_us'], max: 200 },
  // Issue 15's training target: the tfjs MLP's samples/s on 2 workers against 1.
  { label: 'train MLP samples/s, 2 workers / 1', at: ['train', 'ratio'], min: 1.6 },
];

/** Ratios worth reading beside the targets (no target of issue 6). */
const RATIOS = [
  { label: 'framed rtt / raw rtt (transport)', at: ['transport', 'framed_vs_raw'] },
  { label: 'framed / grpc-js (transport)', at: ['transport', 'framed_vs_grpc'] },
  { label: 'store put / memcpy (store)', value: (r) => ratio(r.store?.put_gbps, r.store?.memcpy_gbps) },
  { label: 'tray tasks/s (peers)', at: ['peers', 'tray_tasks_per_s'] },
  { label: 'piscina tasks/s (peers)', at: ['peers', 'piscina_tasks_per_s'] },
  { label: 'object transfer between nodes / memcpy', at: ['multinode', 'head_to_b_vs_memcpy'] },
  { label: 'object transfer between nodes / raw TCP (17: ≥ 0.8)', at: ['multinode', 'head_to_b_vs_raw_tcp'] },
  { label: 'tasks on another node / on the head', at: ['multinode', 'remote_vs_local_tasks'] },
  { label: '@tray/data parquet map / single process (issue 13 target 1.6)', at: ['data', 'ratio'] },
  { label: '@tray/data sort / single-process sort', at: ['data-shuffle', 'sort_ratio'] },
  { label: '@tray/data iterBatches / reading the files directly', at: ['data-shuffle', 'iter_ratio'] },
  {
    label: '@tray/data iterBatches / direct, worst of batchSize 256, 4096 x 3 formats (issue 13 target 0.8)',
    at: ['data-iter', 'min_ratio'],
  },
  {
    label: '@tray/tune TPE / random median best Branin at N=100',
    at: ['tune-search', 'tpe_vs_random_median_100'],
  },
  { label: 'serve 1 replica / bare node:http req/s (issue 14 target 0.4)', at: ['serve', 'serve_1_vs_bare'] },
  { label: 'serve 2 replicas / bare node:http req/s', at: ['serve', 'serve_2_vs_bare'] },
  {
    label: 'serve 1 replica added p50 µs, one request at a time (issue 14 target < 1000)',
    at: ['serve', 'serve_1_added_p50_us_one_at_a_time'],
  },
  { label: 'serve 1 replica added p50 ms at 16 connections', at: ['serve', 'serve_1_added_p50_ms'] },
  {
    label: 'actor call from a worker / from the driver, caller CPU, sync',
    at: ['actor-calls', 'worker_vs_driver_cpu_sync'],
  },
  {
    label: '@tray/data sort tasks CPU / single-process sort CPU',
    at: ['data-shuffle-cpu', 'sort_cpu_vs_peer'],
  },
];

function ratio(a, b) {
  return typeof a === 'number' && typeof b === 'number' && b > 0 ? a / b : undefined;
}

function usageExit(message) {
  console.error(message);
  console.error(`usage: npm run bench -- [--quick] [--only ${BENCHMARKS.map((b) => b.name).join(',')}]`);
  process.exit(2);
}

function parseArgs(args) {
  let only;
  let quick = false;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--quick') quick = true;
    else if (args[i] === '--only') {
      if (!args[i + 1]) usageExit('--only needs a benchmark name');
      only = args[++i].split(',').filter(Boolean);
      const unknown = only.filter((n) => !BENCHMARKS.some((b) => b.name === n));
      if (unknown.length > 0) usageExit(`unknown benchmark '${unknown.join(', ')}'`);
    } else usageExit(`unknown option '${args[i]}'`);
  }
  return { only, quick };
}

/** Run one benchmark; resolves { ok, result, error, at, load, seconds }. Output is echoed to stderr. */
function runBenchmark(bench, quick) {
  const argv = [
    ...(bench.command ?? [process.execPath, path.join(here, bench.file)]),
    '--json',
    ...(quick ? bench.quick : []),
  ];
  process.stderr.write(`\n=== ${bench.name}: ${argv.map((a) => path.basename(a)).join(' ')}\n`);
  if (!existsSync(argv[1])) {
    const missing = path.relative(root, argv[1]);
    return Promise.resolve({ ok: false, error: `${missing} is missing; run: npm run build`, seconds: 0 });
  }
  const started = performance.now();
  const load = Math.round(os.loadavg()[0] * 100) / 100;
  const at = new Date().toISOString();
  // Its own process group, so that a deadline ends it and whatever it started.
  const child = spawn(argv[0], argv.slice(1), {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    process.stderr.write(chunk);
  });
  let stderrTail = '';
  child.stderr.on('data', (chunk) => {
    stderrTail = (stderrTail + chunk).slice(-2000);
    process.stderr.write(chunk);
  });
  running = child;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child);
  }, DEADLINE_MS);
  return new Promise((resolve) => {
    const done = (outcome) => {
      clearTimeout(timer);
      running = undefined;
      resolve({ ...outcome, at, load, seconds: Math.round((performance.now() - started) / 100) / 10 });
    };
    child.once('error', (err) => done({ ok: false, error: `cannot start: ${err.message}` }));
    child.once('close', (code, signal) => {
      const result = lastJsonLine(stdout);
      if (timedOut) done({ ok: false, error: `did not finish within ${DEADLINE_MS / 60_000} min` });
      else if (code !== 0) {
        const lines = stderrTail.trim().split('\n');
        const why = lines
          .filter((l) => l.trim() && !/^Node\.js v/.test(l))
          .pop()
          ?.slice(0, 160);
        done({ ok: false, error: `exited with ${signal ?? code}${why ? `: ${why}` : ''}`, result });
      } else if (!result) done({ ok: false, error: 'printed no JSON line' });
      else done({ ok: true, result });
    });
  });
}

function lastJsonLine(text) {
  const lines = text.trim().split('\n').reverse();
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      const value = JSON.parse(line);
      // The results file describes the machine once, at its top.
      delete value.machine;
      return value;
    } catch {}
  }
  return undefined;
}

let running;
function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {}
}
process.on('SIGINT', () => {
  if (running) killGroup(running);
  process.exit(130);
});

function describeMachine() {
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cpus: os.availableParallelism(),
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

function measured(row, results) {
  const v = row.value ? row.value(results) : results[row.at[0]]?.[row.at[1]];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function fmt(v) {
  if (v === undefined) return 'n/a';
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  return String(Math.round(v * 1000) / 1000);
}

/** A text table; the columns in `left` are left-aligned, the others right-aligned. */
function table(rows, left = [0]) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  const line = (r) =>
    r
      .map((cell, c) => (left.includes(c) ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** Keys the microbenchmark itself reports as failed (skipped for a missing feature is not failed). */
function failedKeys(result) {
  return Object.entries(result?.skipped ?? {}).filter(([, why]) => String(why).startsWith('failed'));
}

async function main() {
  const { only, quick } = parseArgs(process.argv.slice(2));
  const selected = BENCHMARKS.filter(
    (b) => (!only || only.includes(b.name)) && (!b.file || existsSync(path.join(here, b.file))),
  );
  const date = new Date().toISOString().slice(0, 10);
  const file = path.join(here, 'results', `${date}.json`);
  const machine = describeMachine();
  const load = Math.round(os.loadavg()[0] * 100) / 100;

  const outcomes = {};
  for (const bench of selected) outcomes[bench.name] = await runBenchmark(bench, quick);

  // --only keeps today's other results; a full run replaces the file.
  const previous = only && existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
  const results = { ...(previous?.results ?? {}) };
  for (const [name, o] of Object.entries(outcomes)) results[name] = o.ok ? o.result : { failed: o.error };
  // How each result was obtained (kept per benchmark, since --only merges runs of one day).
  const runs = { ...(previous?.runs ?? {}) };
  for (const [name, o] of Object.entries(outcomes))
    runs[name] = { quick, at: o.at, seconds: o.seconds, load_1m_at_start: o.load };
  const record = { date, machine, runs, results };
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);

  const statusRows = [['benchmark', 'seconds', 'status']];
  let failed = 0;
  for (const [name, o] of Object.entries(outcomes)) {
    const broken = failedKeys(o.result);
    if (!o.ok || broken.length > 0) failed++;
    const status = !o.ok
      ? `FAILED: ${o.error}`
      : broken.length > 0
        ? `FAILED keys: ${broken.map(([k]) => k).join(', ')}`
        : 'ok';
    statusRows.push([name, String(o.seconds), status]);
  }
  const targetRows = [['target (issue 6)', 'value', 'target', 'met']];
  for (const row of TARGETS) {
    const v = measured(row, results);
    const met =
      v === undefined ? 'n/a' : (row.min !== undefined ? v >= row.min : v <= row.max) ? 'yes' : 'no';
    targetRows.push([
      row.label,
      fmt(v),
      row.min !== undefined ? `≥ ${fmt(row.min)}` : `≤ ${fmt(row.max)}`,
      met,
    ]);
  }
  const ratioRows = [
    ['other measures', 'value'],
    ...RATIOS.map((row) => [row.label, fmt(measured(row, results))]),
  ];

  console.log(
    `\nbenchmarks on ${machine.cpus} × ${machine.cpuModel}, ${machine.memGiB} GiB, node ${machine.node}`,
  );
  console.log(`${machine.os}; load ${load} at start${quick ? '; --quick (shortened rounds)' : ''}\n`);
  console.log(`${table(statusRows, [0, 2])}\n\n${table(targetRows)}\n\n${table(ratioRows)}\n`);
  console.log(`written: ${path.relative(root, file)}`);
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
