#!/usr/bin/env node
// Compares tray's local task throughput with piscina's (the thread pool to beat, issues 6 and 17),
// in one run on the same machine: both run the same trivial function `(x) => x + 1` with 2
// workers, in two modes:
//   batch   1,000 submitted at once, then awaited together (tray: `f.remote(i)` ×1000 then one
//           `tray.get`; piscina: `pool.run(i)` ×1000 then `Promise.all`);
//   single  one at a time: submit, wait for the result, repeat (`tray.get(f.remote(i))`;
//           `await pool.run(i)`).
// Both peers are timed by the same harness (warm-up, then rounds that repeat the step until at
// least --round-ms passed) and their rounds interleaved, A B A B … (who goes first alternates),
// so that one noisy moment of a shared machine hits both; the ratio is taken per pair of
// neighbouring rounds. Each figure is reported as min / median / max over the rounds.
// Also times `tray.init()` → first task result, each sample in a fresh process (a user's init is
// cold), and keeps the median.
// Prints a table; `--json` also prints one JSON line last:
//   { tray_tasks_per_s, piscina_tasks_per_s, ratio, ratio_min, ratio_max, single_ratio, ... }
// Options: --rounds 5 --round-ms 1000 --warmup-ms 1000 --init-samples 3.
// Rerun: `node tools/bench/peers.mjs` (needs `npm run build`).
// Needs the built workspace (`npm run build`). This file is also piscina's worker module.
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { median, spread, wholeNumberOption } from './lib.mjs';

const BATCH = 1000;
const WORKERS = 2;
/** A batch that has not finished after this long means the runtime is stuck, not slow. */
const BATCH_TIMEOUT_MS = 60_000;
const INIT_SAMPLE_TIMEOUT_MS = 60_000;

/** piscina's task: the same trivial work as tray's remote function. */
export default function addOne(x) {
  return x + 1;
}

function options(args) {
  const usage =
    'node tools/bench/peers.mjs [--json] [--rounds 5] [--round-ms 1000] [--warmup-ms 1000] [--init-samples 3]';
  const option = (name, fallback, min) => wholeNumberOption(name, fallback, usage, { args, min });
  return {
    json: args.includes('--json'),
    rounds: option('--rounds', 5, 1),
    roundMs: option('--round-ms', 1000, 1),
    warmupMs: option('--warmup-ms', 1000, 0),
    initSamples: option('--init-samples', 3, 1),
  };
}

async function loadTray() {
  try {
    return await import('@tray/core');
  } catch (err) {
    console.error(`cannot load @tray/core (${err.message.split('\n')[0]}); run: npm run build`);
    process.exit(1);
  }
}

// ---------------------------------------------------------------- harness (same for both)

/** Run `step` (which runs `tasks` tasks) for `ms` milliseconds; returns tasks per second. */
async function round(step, tasks, ms) {
  const start = performance.now();
  let steps = 0;
  let elapsed = 0;
  do {
    await step();
    steps++;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return (steps * tasks) / (elapsed / 1000);
}

// ---------------------------------------------------------------- the two peers

async function trayPeer(tray) {
  await tray.init({ numCpus: WORKERS });
  const f = tray.remote((x) => x + 1);
  const args = Array.from({ length: BATCH }, (_, i) => i);
  let n = 0;
  return {
    batch: async () => {
      const values = await tray.get(
        args.map((i) => f.remote(i)),
        { timeoutMs: BATCH_TIMEOUT_MS },
      );
      if (values[BATCH - 1] !== BATCH) throw new Error(`tray returned ${values[BATCH - 1]} for ${BATCH - 1}`);
    },
    single: async () => {
      const x = n++;
      const value = await tray.get(f.remote(x), { timeoutMs: BATCH_TIMEOUT_MS });
      if (value !== x + 1) throw new Error(`tray returned ${value} for ${x}`);
    },
    close: () => tray.shutdown(),
  };
}

async function piscinaPeer() {
  const { Piscina } = await import('piscina');
  // Fixed at 2 threads, kept alive between rounds (no idle reaping, no thread start in a round).
  const pool = new Piscina({
    filename: import.meta.url,
    minThreads: WORKERS,
    maxThreads: WORKERS,
    idleTimeout: Number.POSITIVE_INFINITY,
  });
  const args = Array.from({ length: BATCH }, (_, i) => i);
  let n = 0;
  return {
    batch: async () => {
      const values = await Promise.all(args.map((i) => pool.run(i)));
      if (values[BATCH - 1] !== BATCH)
        throw new Error(`piscina returned ${values[BATCH - 1]} for ${BATCH - 1}`);
    },
    single: async () => {
      const x = n++;
      const value = await pool.run(x);
      if (value !== x + 1) throw new Error(`piscina returned ${value} for ${x}`);
    },
    close: () => pool.destroy(),
  };
}

// ---------------------------------------------------------------- init → first result

/** One sample, run in a fresh process: prints the milliseconds from init() to the first value. */
async function initSample() {
  const tray = await loadTray();
  const start = performance.now();
  await tray.init({ numCpus: WORKERS });
  const f = tray.remote((x) => x + 1);
  const value = await tray.get(f.remote(1), { timeoutMs: INIT_SAMPLE_TIMEOUT_MS });
  const ms = performance.now() - start;
  await tray.shutdown();
  if (value !== 2) throw new Error(`first task returned ${value}, expected 2`);
  process.stdout.write(`${JSON.stringify({ init_to_first_result_ms: ms })}\n`);
}

function runInitSample() {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--init-sample'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), INIT_SAMPLE_TIMEOUT_MS + 30_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        if (code !== 0) throw new Error(`exited with ${signal ?? code}`);
        resolve(JSON.parse(line).init_to_first_result_ms);
      } catch (err) {
        reject(new Error(`init sample failed: ${err.message}${out ? `; output: ${out.trim()}` : ''}`));
      }
    });
  });
}

// ---------------------------------------------------------------- main

async function main() {
  const opts = options(process.argv.slice(2));
  const tray = await loadTray();

  const initMs = [];
  for (let i = 0; i < opts.initSamples; i++) initMs.push(await runInitSample());

  const peers = {};
  try {
    peers.tray = await trayPeer(tray);
    peers.piscina = await piscinaPeer();
    const modes = {};
    for (const [mode, tasks] of [
      ['batch', BATCH],
      ['single', 1],
    ]) {
      for (const peer of Object.values(peers)) await round(peer[mode], tasks, opts.warmupMs);
      const per = { tray: [], piscina: [] };
      const ratios = [];
      for (let r = 0; r < opts.rounds; r++) {
        // A B A B …, alternating who goes first so neither always follows the other's leftovers.
        const order = r % 2 === 0 ? ['tray', 'piscina'] : ['piscina', 'tray'];
        for (const name of order) per[name].push(await round(peers[name][mode], tasks, opts.roundMs));
        ratios.push(per.tray[r] / per.piscina[r]);
      }
      modes[mode] = { per, ratios };
    }
    const { batch, single } = modes;
    const result = {
      tray_tasks_per_s: Math.round(median(batch.per.tray)),
      piscina_tasks_per_s: Math.round(median(batch.per.piscina)),
      ratio: round3(median(batch.ratios)),
      ratio_min: round3(Math.min(...batch.ratios)),
      ratio_max: round3(Math.max(...batch.ratios)),
      tray_single_per_s: Math.round(median(single.per.tray)),
      piscina_single_per_s: Math.round(median(single.per.piscina)),
      single_ratio: round3(median(single.ratios)),
      single_ratio_min: round3(Math.min(...single.ratios)),
      single_ratio_max: round3(Math.max(...single.ratios)),
      init_to_first_result_ms: Math.round(median(initMs)),
      init_samples_ms: initMs.map((ms) => Math.round(ms)),
      tray_rounds: batch.per.tray.map(Math.round),
      piscina_rounds: batch.per.piscina.map(Math.round),
      ratio_rounds: batch.ratios.map(round3),
      tray_single_rounds: single.per.tray.map(Math.round),
      piscina_single_rounds: single.per.piscina.map(Math.round),
      single_ratio_rounds: single.ratios.map(round3),
      rounds: opts.rounds,
      round_ms: opts.roundMs,
      warmup_ms: opts.warmupMs,
      batch: BATCH,
      workers: WORKERS,
      load_1m: Math.round(loadavg()[0] * 100) / 100,
    };
    report(result);
    if (opts.json) console.log(JSON.stringify(result));
  } finally {
    for (const peer of Object.values(peers)) await peer.close();
  }
}

function report(r) {
  const num = (x) => Math.round(x).toLocaleString('en-US');
  const mmm = (xs, f = num) => {
    const s = spread(xs);
    return `${f(s.min)} / ${f(s.median)} / ${f(s.max)}`;
  };
  const rows = [
    ['batches of 1,000', '', ''],
    ['  tray tasks/s', mmm(r.tray_rounds), `rounds: ${r.tray_rounds.join(', ')}`],
    ['  piscina tasks/s', mmm(r.piscina_rounds), `rounds: ${r.piscina_rounds.join(', ')}`],
    [
      '  tray / piscina',
      mmm(r.ratio_rounds, String),
      `target ≥ 2.0 in every round: ${met(r.ratio_min >= 2)}`,
    ],
    ['one at a time', '', ''],
    ['  tray tasks/s', mmm(r.tray_single_rounds), `rounds: ${r.tray_single_rounds.join(', ')}`],
    ['  piscina tasks/s', mmm(r.piscina_single_rounds), `rounds: ${r.piscina_single_rounds.join(', ')}`],
    [
      '  tray / piscina',
      mmm(r.single_ratio_rounds, String),
      `target ≥ 0.5 in every round: ${met(r.single_ratio_min >= 0.5)}`,
    ],
    [
      'init → first result',
      `${r.init_to_first_result_ms} ms`,
      `median of samples: ${r.init_samples_ms.join(', ')}; target ≤ 500 ms (fresh process): ${met(r.init_to_first_result_ms <= 500)}`,
    ],
  ];
  console.log(
    `peers benchmark: ${WORKERS} workers, (x) => x + 1; ${r.rounds} interleaved rounds per peer and mode of ≥ ${r.round_ms} ms after ${r.warmup_ms} ms warm-up; min / median / max`,
  );
  const width = Math.max(...rows.map((row) => row[0].length));
  const valueWidth = Math.max(...rows.map((row) => row[1].length));
  for (const [name, value, note] of rows)
    console.log(`${name.padEnd(width)}  ${value.padStart(valueWidth)}  ${note}`.trimEnd());
  console.log(
    `${cpus()[0]?.model ?? 'unknown cpu'} × ${cpus().length}, node ${process.version}, ${process.platform}, load ${r.load_1m}`,
  );
}

const met = (ok) => (ok ? 'met' : 'MISSED');
const round3 = (x) => Math.round(x * 1000) / 1000;

if (isMainThread) {
  if (process.argv[2] === '--init-sample') await initSample();
  else await main();
}
